using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace HashBackdoor.Hashing.Backbones;

/// <summary>
/// VGG-11 (configuration "A", with BatchNorm) followed by the two 4096-unit fully connected layers, as in the reference
/// setting (method.md section 2), with the toolkit's own module names; torchvision's layout, which takes pretrained
/// weights, is <see cref="TorchvisionVgg11"/>. Pooling uses ceil mode
/// and the last feature map is adaptively pooled to 7x7 at 224 px or kept as is on small images, so any input size works.
/// Needs a GPU to be practical; on 28 px images it costs about 100x the small CNN.
/// </summary>
public sealed class Vgg11 : Module<Tensor, Tensor>, IBackbone
{
    private static readonly int[] Config = { 64, -1, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1 };
    private readonly Sequential features;
    private readonly Module<Tensor, Tensor> pool;
    private readonly Sequential classifier;

    public Vgg11(int channels, int height, int width) : base(nameof(Vgg11))
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        var stages = new List<(string, Module[])>();
        var block = new List<Module>();
        int cin = channels, h = height, w = width, i = 0;
        foreach (int v in Config)
        {
            if (v < 0)
            {
                stages.Add(($"block{stages.Count + 1}", block.ToArray()));
                block.Clear();
                layers.Add(($"pool{i++}", MaxPool2d(2, 2, ceil_mode: true)));
                h = (h + 1) / 2; w = (w + 1) / 2;
            }
            else
            {
                var conv = Conv2d(cin, v, 3, padding: 1);
                var bn = BatchNorm2d(v);
                block.Add(conv); block.Add(bn);
                layers.Add(($"conv{i}", conv));
                layers.Add(($"bn{i}", bn));
                layers.Add(($"relu{i++}", ReLU(inplace: true)));
                cin = v;
            }
        }
        features = Sequential(layers);
        int ph = Math.Min(h, 7), pw = Math.Min(w, 7);
        pool = AdaptiveAvgPool2d(new long[] { ph, pw });
        classifier = Sequential(
            ("flatten", Flatten()),
            ("fc6", Linear(512L * ph * pw, 4096)), ("relu6", ReLU(inplace: true)), ("drop6", Dropout(0.5)),
            ("fc7", Linear(4096, 4096)), ("relu7", ReLU(inplace: true)), ("drop7", Dropout(0.5)));
        stages.Add(("classifier", new Module[] { classifier }));
        Stages = stages;
        FeatureSize = 4096;
        RegisterComponents();
    }

    public long FeatureSize { get; }

    /// <summary>block1..block5 (the convolutions between two poolings), classifier.</summary>
    public IReadOnlyList<(string Name, Module[] Modules)> Stages { get; }

    public override Tensor forward(Tensor x)
    {
        using var f = features.forward(x);
        using var p = pool.forward(f);
        return classifier.forward(p);
    }
}
