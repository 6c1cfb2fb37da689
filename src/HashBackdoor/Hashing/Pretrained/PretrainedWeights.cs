using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Pretrained;

/// <summary>
/// Loads the pretrained backbone weights a <see cref="HashModelSpec.Pretrained"/> names into a model built with a
/// torchvision-named layout: <see cref="HashModelSpec.ImageNetResNet18"/> (the ONNX model of the NuGet package
/// Microsoft.ML.DnnImageFeaturizer.ResNet18, see <see cref="ImageNetResNet18Package"/>), or a torchvision state dict
/// file: PyTorch's torch.save format (.pth, .pt, .bin; read with TorchSharp.PyBridge, which unpickles only tensors
/// and plain containers) or safetensors (.safetensors). The hash layer is left as it is.
/// </summary>
public static class PretrainedWeights
{
    /// <summary>File extensions read as PyTorch pickles.</summary>
    public static readonly IReadOnlyList<string> PickleExtensions = new[] { ".pth", ".pt", ".bin", ".ckpt" };

    /// <summary>Loads <paramref name="source"/> into <paramref name="model"/>'s backbone (and its input normalisation
    /// for <see cref="HashModelSpec.ImageNetResNet18"/>). Returns the source tensors left unused (the classifier).</summary>
    public static IReadOnlyList<string> Load(HashModel model, string source)
    {
        var spec = model.Spec;
        if (spec.Layout is null) throw new UsageException($"model.pretrained {source}: needs model.layout torchvision");
        string what = spec.Architecture == "vgg11" ? "vgg11 (torchvision vgg11_bn layout)" : $"resnet18 ({spec.Layout} layout)";
        if (source == HashModelSpec.ImageNetResNet18)
        {
            var package = ImageNetResNet18Package.Read();
            var unused = StateDictLoader.Apply(model.Backbone, package.StateDict, ImageNetResNet18Package.ModelPath, what);
            if (spec.Normalization == "mean-image")
            {
                var (h, w) = spec.BackboneSize;
                using var scope = NewDisposeScope();
                var mean = package.MeanImage.shape[2] == h && package.MeanImage.shape[3] == w
                    ? package.MeanImage
                    : nn.functional.interpolate(package.MeanImage, new long[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
                model.Input!.SetNormalization(mean, full(new long[] { 1, 3, 1, 1 }, 1f / 255f));
            }
            return unused;
        }
        using var s = NewDisposeScope();
        var dict = ReadStateDict(source);
        return StateDictLoader.Apply(model.Backbone, dict, source, what);
    }

    /// <summary>Reads a state dict file by its extension; failures name the file.</summary>
    public static IReadOnlyDictionary<string, Tensor> ReadStateDict(string path)
    {
        if (!File.Exists(path))
            throw new DataException(path, $"pretrained weights file not found (give {HashModelSpec.ImageNetResNet18} or a .pth/.safetensors file)");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        try
        {
            if (ext == ".safetensors") return Safetensors.LoadStateDict(path);
            if (PickleExtensions.Contains(ext)) return FromPickle(path, PyTorchUnpickler.UnpickleStateDict(path));
        }
        catch (Exception e) when (e is not HashBackdoorException)
        {
            throw new DataException(path, $"not a readable PyTorch state dict ({e.GetType().Name}: {e.Message})");
        }
        throw new UsageException($"model.pretrained {path}: unknown file type '{ext}' (expected .safetensors, {string.Join(", ", PickleExtensions)})");
    }

    private static IReadOnlyDictionary<string, Tensor> FromPickle(string path, Hashtable table)
    {
        // A training checkpoint may hold the state dict under "state_dict" or "model".
        foreach (var key in new[] { "state_dict", "model" })
            if (table.Count <= 8 && table[key] is Hashtable inner && inner.Count > 0 && inner.Values.Cast<object>().All(v => v is Tensor))
                table = inner;
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in table)
        {
            if (e.Key is not string name) throw new DataException(path, "not a state dict (a key is not a string)");
            if (e.Value is not Tensor t) throw new DataException(path, $"not a state dict ('{name}' is a {e.Value?.GetType().Name ?? "null"}, not a tensor)");
            dict[name] = t;
        }
        return dict;
    }
}
