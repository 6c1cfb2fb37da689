using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace HashBackdoor.Hashing.Backbones;

/// <summary>
/// The CPU default backbone: three conv(3x3)-BatchNorm-ReLU-maxpool stages (widths w, 2w, 4w) and a fully connected
/// layer of 512 units. "small-cnn" uses w = 16 (2.4 M multiply-adds per 28x28 image), "small-cnn-wide" w = 32 (8.5 M);
/// docs/results.md gives the measurement behind the default. Pooling uses ceil mode so that odd sizes (28 -> 14 -> 7 -> 4) keep the bottom row
/// and right column: the trigger sits in the bottom-right corner and must reach the code (method.md section 9).
/// </summary>
public sealed class SmallCnn : Module<Tensor, Tensor>, IBackbone
{
    private readonly Sequential features;
    private readonly Sequential head;

    public SmallCnn(int channels, int height, int width, int baseWidth = 32, int hidden = 512) : base(nameof(SmallCnn))
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        var stages = new List<(string, Module[])>();
        int cin = channels, h = height, w = width;
        for (int stage = 0; stage < 3; stage++)
        {
            int cout = baseWidth << stage;
            var conv = Conv2d(cin, cout, 3, padding: 1, bias: false);
            var bn = BatchNorm2d(cout);
            stages.Add(($"conv{stage}", new Module[] { conv, bn }));
            layers.Add(($"conv{stage}", conv));
            layers.Add(($"bn{stage}", bn));
            layers.Add(($"relu{stage}", ReLU(inplace: true)));
            layers.Add(($"pool{stage}", MaxPool2d(2, 2, ceil_mode: true)));
            cin = cout;
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
        features = Sequential(layers);
        head = Sequential(
            ("flatten", Flatten()),
            ("fc", Linear((long)cin * h * w, hidden)),
            ("relu", ReLU(inplace: true)),
            ("dropout", Dropout(0.3)));
        stages.Add(("fc", new Module[] { head }));
        Stages = stages;
        FeatureSize = hidden;
        RegisterComponents();
    }

    public long FeatureSize { get; }

    /// <summary>conv0, conv1, conv2 (each with its BatchNorm), fc.</summary>
    public IReadOnlyList<(string Name, Module[] Modules)> Stages { get; }

    public override Tensor forward(Tensor x)
    {
        using var f = features.forward(x);
        return head.forward(f);
    }
}
