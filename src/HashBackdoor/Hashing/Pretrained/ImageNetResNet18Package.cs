using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Pretrained;

/// <summary>
/// The ImageNet ResNet-18 of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 (a CNTK export, ONNX
/// opset 8), whose tools/DnnImageModels folder the build copies next to the toolkit. Reads the initializers of
/// ResNet18Onnx/ResNet18.onnx with OnnxSharp and names them as torchvision does, by walking the graph: the 7x7 stride-2
/// convolution is conv1; a 3x3 convolution belongs to the stage of its output width (64, 128, 256, 512) and, in graph
/// order within the stage, is layerS.0.conv1, layerS.0.conv2, layerS.1.conv1, ...; each 1x1 convolution is the
/// downsample.0 of the first block of the stage with its output width. The graph is CNTK's model-zoo "ResNet-18": its
/// last stage has three basic blocks, not torchvision's two (blocks per stage 2, 2, 2, 3; 20 weight layers with the
/// classifier), so it maps onto the "cntk" layout (<see cref="Backbones.ImageNetResNet.CntkBlocks"/>), which is the
/// torchvision one with layer4.2 added;
/// the BatchNormalization node that reads a convolution's output gives its bn (scale, B, mean, var = weight, bias,
/// running_mean, running_var; kept as separate BatchNorm layers, nothing is folded). The network reads BGR images in
/// 0..255 minus a 224x224 mean image (ResNetPrepOnnx/ResNetPreprocess.onnx); the toolkit's model reads RGB in 0..1, so
/// conv1's input channels are reversed and the mean image (reversed to RGB, divided by 255) with a standard deviation
/// of 1/255 becomes the model's "mean-image" normalisation. CNTK pads its stride-2 layers asymmetrically (one pixel
/// less at the bottom and right); for even feature-map sizes (inputs that are multiples of 32) that gives exactly the
/// output of torchvision's symmetric padding, which the toolkit uses.
/// </summary>
public static class ImageNetResNet18Package
{
    /// <summary>Path of the package's ResNet-18 graph beside the toolkit.</summary>
    public static string ModelPath => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>Path of the package's preprocessing graph (RGB to BGR, minus the mean image).</summary>
    public static string PreprocessPath => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    private static readonly object Gate = new();
    private static Weights? cached;

    /// <summary>Torchvision-named state dict (110 tensors: conv1 to layer4.2) and the mean image [1, 3, 224, 224] in RGB pixel units.</summary>
    public sealed record Weights(IReadOnlyDictionary<string, Tensor> StateDict, Tensor MeanImage);

    /// <summary>Reads (once per process) and maps the package's weights; failures name the file.</summary>
    public static Weights Read()
    {
        lock (Gate) return cached ??= ReadUncached(ModelPath, PreprocessPath);
    }

    internal static Weights ReadUncached(string modelPath, string preprocessPath)
    {
        var graph = Parse(modelPath).Graph;
        var init = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
            if (n.OpType == "BatchNormalization") consumers[n.Input[0]] = n;

        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        int conv7 = 0, conv1x1 = 0;
        var conv3PerStage = new int[4];
        foreach (var conv in graph.Node.Where(n => n.OpType == "Conv"))
        {
            if (conv.Input.Count != 2) throw Bad(modelPath, $"convolution {conv.Name} has a bias input; expected a bias-free convolution before BatchNorm");
            var w = Initializer(modelPath, init, conv.Input[1]);
            if (w.Dims.Count != 4) throw Bad(modelPath, $"convolution {conv.Name} has a {w.Dims.Count}-d weight");
            long k = w.Dims[2];
            long stride = Attribute(conv, "strides")?.Ints[0] ?? 1;
            string prefix;
            if (k == 7)
            {
                prefix = "conv1"; conv7++;
                if (stride != 2) throw Bad(modelPath, $"the 7x7 stem convolution has stride {stride}, expected 2");
            }
            else
            {
                int stage = w.Dims[0] switch { 64 => 1, 128 => 2, 256 => 3, 512 => 4, _ => throw Bad(modelPath, $"convolution {conv.Name} has {w.Dims[0]} outputs") };
                if (k == 1)
                {
                    if (stage == 1) throw Bad(modelPath, $"1x1 convolution {conv.Name} in the first stage");
                    prefix = $"layer{stage}.0.downsample.0";
                    conv1x1++;
                }
                else if (k == 3)
                {
                    // 3x3 convolutions of a stage come in graph order: block 0 conv1, conv2, block 1 conv1, ...
                    int i = conv3PerStage[stage - 1]++, block = i / 2, which = i % 2 + 1;
                    long want = stage > 1 && block == 0 && which == 1 ? 2 : 1;
                    if (stride != want) throw Bad(modelPath, $"convolution {conv.Name} (layer{stage}.{block}.conv{which}) has stride {stride}, expected {want}");
                    prefix = $"layer{stage}.{block}.conv{which}";
                }
                else throw Bad(modelPath, $"convolution {conv.Name} has a {k}x{k} kernel; not a ResNet");
            }
            var weight = ToTensor(modelPath, w);
            dict[prefix + ".weight"] = k == 7 ? weight.flip(1).contiguous().DetachFromDisposeScope() : weight; // BGR -> RGB

            if (!consumers.TryGetValue(conv.Output[0], out var bn)) throw Bad(modelPath, $"convolution {conv.Name} is not followed by BatchNormalization");
            float eps = Attribute(bn, "epsilon")?.F ?? 1e-5f;
            if (Math.Abs(eps - 1e-5f) > 1e-9f) throw Bad(modelPath, $"BatchNormalization {bn.Name} has epsilon {eps}; the toolkit's BatchNorm uses 1e-5");
            string bnPrefix = prefix switch
            {
                "conv1" => "bn1",
                _ when prefix.EndsWith("downsample.0", StringComparison.Ordinal) => prefix[..^1] + "1",
                _ => prefix.Replace(".conv", ".bn"),
            };
            string[] fields = { "weight", "bias", "running_mean", "running_var" };
            for (int i = 0; i < 4; i++) dict[$"{bnPrefix}.{fields[i]}"] = ToTensor(modelPath, Initializer(modelPath, init, bn.Input[i + 1]));
        }
        var blocks = conv3PerStage.Select(c => c / 2).ToArray();
        if (conv7 != 1 || conv1x1 != 3 || conv3PerStage.Any(c => c % 2 != 0) || !blocks.SequenceEqual(Backbones.ImageNetResNet.CntkBlocks))
            throw Bad(modelPath, $"found {conv7} 7x7 and {conv1x1} 1x1 convolutions and 3x3 convolutions per stage {string.Join("/", conv3PerStage)}; "
                + $"CNTK's ResNet-18 has 1, 3 and {string.Join("/", Backbones.ImageNetResNet.CntkBlocks.Select(b => 2 * b))}");
        return new Weights(dict, ReadMeanImage(preprocessPath));
    }

    private static Tensor ReadMeanImage(string path)
    {
        var graph = Parse(path).Graph;
        var ops = string.Join(",", graph.Node.Select(n => n.OpType));
        if (ops != "Split,Concat,Sub" || graph.Initializer.Count != 1)
            throw Bad(path, $"unexpected preprocessing graph ({ops}); expected Split,Concat,Sub with one mean image");
        var m = graph.Initializer[0];
        if (!m.Dims.SequenceEqual(new long[] { 1, 3, 224, 224 })) throw Bad(path, $"mean image has shape [{string.Join(", ", m.Dims)}], expected [1, 3, 224, 224]");
        using var bgr = ToTensor(path, m);
        return bgr.flip(1).div(255f).contiguous().DetachFromDisposeScope();
    }

    private static ModelProto Parse(string path)
    {
        if (!File.Exists(path))
            throw new DataException(path, "ONNX file of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 is missing; rebuild the toolkit (dotnet build restores and copies it)");
        // Opened read-only and shared: OnnxSharp's ParseFromFile locks the file, so a second process (a local shard, a
        // second run) reading the package at the same moment failed with "being used by another process".
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e) { throw new DataException(path, $"damaged ONNX file ({e.Message})"); }
    }

    private static TensorProto Initializer(string path, IReadOnlyDictionary<string, TensorProto> init, string name) =>
        init.TryGetValue(name, out var t) ? t : throw Bad(path, $"initializer {name} is missing");

    private static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    private static Tensor ToTensor(string path, TensorProto t)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float) throw Bad(path, $"initializer {t.Name} is not float32 (type {t.DataType})");
        long count = t.Dims.Aggregate(1L, (a, b) => a * b);
        float[] values;
        if (t.RawData.Length > 0)
        {
            if (t.RawData.Length != count * 4) throw Bad(path, $"initializer {t.Name} holds {t.RawData.Length} bytes for {count} floats");
            values = new float[count];
            Buffer.BlockCopy(t.RawData.ToByteArray(), 0, values, 0, (int)(count * 4)); // ONNX raw data is little-endian
        }
        else
        {
            if (t.FloatData.Count != count) throw Bad(path, $"initializer {t.Name} holds {t.FloatData.Count} floats, its shape needs {count}");
            values = t.FloatData.ToArray();
        }
        return tensor(values, t.Dims.ToArray()).DetachFromDisposeScope();
    }

    private static DataException Bad(string path, string problem) => new(path, $"not the expected ResNet-18 graph: {problem}");
}
