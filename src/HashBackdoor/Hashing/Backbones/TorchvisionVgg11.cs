using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace HashBackdoor.Hashing.Backbones;

/// <summary>
/// torchvision's VGG-11 with BatchNorm (vgg11_bn) without its last layer: features.0..features.28 (conv 3x3 with bias,
/// BatchNorm, ReLU; 2x2 max-pools, floor mode), adaptive average pooling to 7x7 (small maps are spread, as torchvision
/// does), classifier.0..classifier.5 (Linear 25088 -> 4096, ReLU, Dropout 0.5, Linear 4096 -> 4096, ReLU, Dropout 0.5).
/// Features: 4096. Module names are torchvision's, so a vgg11_bn state dict loads by name; its classifier.6.* (the
/// 1000-class layer) is not used. Takes 3 channels. Side lengths that are multiples of 32 keep every row and column.
/// </summary>
public sealed class TorchvisionVgg11 : Module<Tensor, Tensor>, IBackbone
{
    private static readonly int[] Config = { 64, -1, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1 };
    private readonly Sequential features;
    private readonly Module<Tensor, Tensor> avgpool;
    private readonly Sequential classifier;

    public TorchvisionVgg11() : base(nameof(TorchvisionVgg11))
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        var stages = new List<(string, Module[])>();
        var block = new List<Module>();
        int cin = 3;
        foreach (int v in Config)
        {
            if (v < 0)
            {
                layers.Add(($"{layers.Count}", MaxPool2d(2, 2)));
                stages.Add(($"block{stages.Count + 1}", block.ToArray()));
                block.Clear();
                continue;
            }
            var conv = Conv2d(cin, v, 3, padding: 1);
            var bn = BatchNorm2d(v);
            layers.Add(($"{layers.Count}", conv));
            layers.Add(($"{layers.Count}", bn));
            layers.Add(($"{layers.Count}", ReLU(inplace: true)));
            block.Add(conv); block.Add(bn);
            cin = v;
        }
        features = Sequential(layers);
        avgpool = AdaptiveAvgPool2d(new long[] { 7, 7 });
        classifier = Sequential(
            ("0", Linear(512 * 7 * 7, 4096)), ("1", ReLU(inplace: true)), ("2", Dropout(0.5)),
            ("3", Linear(4096, 4096)), ("4", ReLU(inplace: true)), ("5", Dropout(0.5)));
        stages.Add(("classifier", new Module[] { classifier }));
        Stages = stages;
        RegisterComponents();
    }

    public long FeatureSize => 4096;

    /// <summary>block1..block5 (the convolutions between two poolings), classifier.</summary>
    public IReadOnlyList<(string Name, Module[] Modules)> Stages { get; }

    public override Tensor forward(Tensor x)
    {
        using var f = features.forward(x);
        using var p = avgpool.forward(f);
        using var flat = p.flatten(1);
        return classifier.forward(flat);
    }
}
