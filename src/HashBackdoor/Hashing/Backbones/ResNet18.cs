using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace HashBackdoor.Hashing.Backbones;

/// <summary>
/// CIFAR-style ResNet-18: a 3x3 stem without max-pooling, four stages of two basic blocks (64, 128, 256, 512 channels,
/// stride 2 from the second stage), global average pooling. Features: 512. For users with more compute. Its names are
/// the toolkit's own; torchvision's ImageNet ResNet-18 (and its pretrained weights) is <see cref="ImageNetResNet"/>.
/// </summary>
public sealed class ResNet18 : Module<Tensor, Tensor>, IBackbone
{
    private readonly Sequential stem;
    private readonly Sequential stages;
    private readonly Module<Tensor, Tensor> pool;

    public ResNet18(int channels) : base(nameof(ResNet18))
    {
        stem = Sequential(("conv", Conv2d(channels, 64, 3, padding: 1, bias: false)), ("bn", BatchNorm2d(64)), ("relu", ReLU(inplace: true)));
        var blocks = new List<(string, Module<Tensor, Tensor>)>();
        var stageList = new List<(string, Module[])> { ("stem", new Module[] { stem }) };
        int cin = 64;
        int[] widths = { 64, 128, 256, 512 };
        for (int s = 0; s < 4; s++)
        {
            var stage = new List<Module>();
            for (int b = 0; b < 2; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                var block = new BasicBlock(cin, widths[s], stride);
                stage.Add(block);
                blocks.Add(($"layer{s + 1}_{b}", block));
                cin = widths[s];
            }
            stageList.Add(($"layer{s + 1}", stage.ToArray()));
        }
        Stages = stageList;
        stages = Sequential(blocks);
        pool = AdaptiveAvgPool2d(1);
        RegisterComponents();
    }

    public long FeatureSize => 512;

    /// <summary>stem, layer1..layer4.</summary>
    public IReadOnlyList<(string Name, Module[] Modules)> Stages { get; }

    public override Tensor forward(Tensor x)
    {
        using var a = stem.forward(x);
        using var b = stages.forward(a);
        using var c = pool.forward(b);
        return c.flatten(1);
    }

    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Sequential body;
        private readonly Module<Tensor, Tensor>? shortcut;

        public BasicBlock(int cin, int cout, int stride) : base("BasicBlock")
        {
            body = Sequential(
                ("conv1", Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false)), ("bn1", BatchNorm2d(cout)), ("relu1", ReLU(inplace: true)),
                ("conv2", Conv2d(cout, cout, 3, padding: 1, bias: false)), ("bn2", BatchNorm2d(cout)));
            if (stride != 1 || cin != cout)
                shortcut = Sequential(("conv", Conv2d(cin, cout, 1, stride: stride, bias: false)), ("bn", BatchNorm2d(cout)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var y = body.forward(x);
            using var s = shortcut is null ? x.alias() : shortcut.forward(x);
            using var sum = y.add(s);
            return functional.relu(sum);
        }
    }
}
