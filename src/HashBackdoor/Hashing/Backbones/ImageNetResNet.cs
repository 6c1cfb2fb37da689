using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace HashBackdoor.Hashing.Backbones;

/// <summary>
/// An ImageNet ResNet with basic blocks as torchvision builds it, without its classifier: a 7x7 stride-2 stem, 3x3
/// stride-2 max-pool, four stages of basic blocks (64, 128, 256, 512 channels; stride 2 and a 1x1 projection at the
/// start of stages 2-4), global average pooling. Features: 512. Blocks per stage {2, 2, 2, 2} is torchvision's
/// ResNet-18 (<see cref="TorchvisionBlocks"/>); {2, 2, 2, 3} is the "ResNet-18" of CNTK's model zoo, which the ImageNet
/// package ships (<see cref="CntkBlocks"/>: one more block, layer4.2). Module names are torchvision's (conv1, bn1,
/// layer1.0.conv1, ..., layer2.0.downsample.0, ...), so a torchvision state dict loads by name; its fc.* tensors are not
/// used. Takes 3 channels. Padding and pooling are torchvision's (symmetric, floor mode).
/// </summary>
public sealed class ImageNetResNet : Module<Tensor, Tensor>, IStagedBackbone
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Module<Tensor, Tensor> relu;
    private readonly Module<Tensor, Tensor> maxpool;
    private readonly Sequential layer1, layer2, layer3, layer4;
    private readonly Module<Tensor, Tensor> avgpool;

    /// <summary>torchvision's ResNet-18: two blocks per stage.</summary>
    public static readonly IReadOnlyList<int> TorchvisionBlocks = new[] { 2, 2, 2, 2 };

    /// <summary>CNTK's ResNet-18 (model zoo, stack layers [2, 1, 1, 2] after each stage's first block): three blocks in the last stage.</summary>
    public static readonly IReadOnlyList<int> CntkBlocks = new[] { 2, 2, 2, 3 };

    public ImageNetResNet(IReadOnlyList<int> blocksPerStage) : base(nameof(ImageNetResNet))
    {
        if (blocksPerStage.Count != 4 || blocksPerStage.Any(b => b < 1)) throw new ArgumentException("four stages of at least one block are needed", nameof(blocksPerStage));
        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        relu = ReLU();
        maxpool = MaxPool2d(3, 2, 1);
        layer1 = Stage(64, 64, 1, blocksPerStage[0]);
        layer2 = Stage(64, 128, 2, blocksPerStage[1]);
        layer3 = Stage(128, 256, 2, blocksPerStage[2]);
        layer4 = Stage(256, 512, 2, blocksPerStage[3]);
        avgpool = AdaptiveAvgPool2d(1);
        Stages = new (string, Module[])[]
        {
            ("stem", new Module[] { conv1, bn1 }), ("layer1", new Module[] { layer1 }), ("layer2", new Module[] { layer2 }),
            ("layer3", new Module[] { layer3 }), ("layer4", new Module[] { layer4 }),
        };
        RegisterComponents();
    }

    public long FeatureSize => 512;

    /// <summary>stem (conv1, bn1), layer1..layer4.</summary>
    public IReadOnlyList<(string Name, Module[] Modules)> Stages { get; }

    public override Tensor forward(Tensor x)
    {
        using var a = conv1.forward(x);
        using var b = bn1.forward(a);
        using var c = relu.forward(b);
        using var d = maxpool.forward(c);
        using var e1 = layer1.forward(d);
        using var e2 = layer2.forward(e1);
        using var e3 = layer3.forward(e2);
        using var e4 = layer4.forward(e3);
        using var p = avgpool.forward(e4);
        return p.flatten(1);
    }

    /// <summary>The output of the first <paramref name="stages"/> stages (stem = conv1, bn1, relu, max-pool; then
    /// layer1..layer4): the same operations as <see cref="forward"/> up to that boundary.</summary>
    public Tensor ForwardHead(Tensor x, int stages)
    {
        CheckStages(stages);
        var h = x.alias();
        for (int s = 0; s < stages; s++)
        {
            var next = RunStage(s, h);
            h.Dispose();
            h = next;
        }
        return h;
    }

    /// <summary>The features from the output of the first <paramref name="stages"/> stages: the remaining stages,
    /// average pooling, flatten.</summary>
    public Tensor ForwardTail(Tensor h, int stages)
    {
        CheckStages(stages);
        var y = h.alias();
        for (int s = stages; s < Stages.Count; s++)
        {
            var next = RunStage(s, y);
            y.Dispose();
            y = next;
        }
        using var p = avgpool.forward(y);
        y.Dispose();
        return p.flatten(1);
    }

    private void CheckStages(int stages)
    {
        if (stages < 0 || stages > Stages.Count) throw new ArgumentOutOfRangeException(nameof(stages), $"stages {stages}: this backbone has {Stages.Count}");
    }

    private Tensor RunStage(int s, Tensor x)
    {
        switch (s)
        {
            case 0:
            {
                using var a = conv1.forward(x);
                using var b = bn1.forward(a);
                using var c = relu.forward(b);
                return maxpool.forward(c);
            }
            case 1: return layer1.forward(x);
            case 2: return layer2.forward(x);
            case 3: return layer3.forward(x);
            default: return layer4.forward(x);
        }
    }

    private static Sequential Stage(int cin, int cout, int stride, int blocks) =>
        Sequential(Enumerable.Range(0, blocks).Select(b => ($"{b}", (Module<Tensor, Tensor>)(b == 0 ? new BasicBlock(cin, cout, stride) : new BasicBlock(cout, cout, 1)))).ToArray());

    /// <summary>torchvision's BasicBlock: conv1, bn1, relu, conv2, bn2, optional downsample (0: 1x1 conv, 1: bn).</summary>
    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1, conv2;
        private readonly BatchNorm2d bn1, bn2;
        private readonly Module<Tensor, Tensor> relu;
        private readonly Sequential? downsample;

        public BasicBlock(int cin, int cout, int stride) : base("BasicBlock")
        {
            conv1 = Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false);
            bn1 = BatchNorm2d(cout);
            relu = ReLU();
            conv2 = Conv2d(cout, cout, 3, padding: 1, bias: false);
            bn2 = BatchNorm2d(cout);
            if (stride != 1 || cin != cout)
                downsample = Sequential(("0", Conv2d(cin, cout, 1, stride: stride, bias: false)), ("1", BatchNorm2d(cout)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var a = conv1.forward(x);
            using var b = bn1.forward(a);
            using var c = relu.forward(b);
            using var d = conv2.forward(c);
            using var y = bn2.forward(d);
            using var s = downsample is null ? x.alias() : downsample.forward(x);
            using var sum = y.add(s);
            return functional.relu(sum);
        }
    }
}
