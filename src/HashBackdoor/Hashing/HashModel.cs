using HashBackdoor.Hashing.Backbones;
using HashBackdoor.Hashing.Pretrained;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace HashBackdoor.Hashing;

/// <summary>
/// A deep hashing model: an optional input stage (channel replication, resizing, normalisation; see
/// <see cref="InputStage"/>), a backbone, then a linear hash layer to K units. <see cref="forward"/> takes images in
/// pixel units and returns the pre-activation z [B, K]; the continuous code is tanh(z) and the binary code is
/// sign(tanh(z)) = sign(z) (method.md section 2).
/// </summary>
public sealed class HashModel : Module<Tensor, Tensor>
{
    private readonly InputStage? input;
    private readonly Module<Tensor, Tensor> backbone;
    private readonly TorchSharp.Modules.Linear hash;

    /// <summary>Builds the model with random weights (drawn from torch's global generator). Use <see cref="Create"/> to
    /// also load the pretrained weights the spec names.</summary>
    public HashModel(HashModelSpec spec) : base(nameof(HashModel))
    {
        Spec = spec = spec.Validate();
        if (spec.HasInputStage) input = new InputStage(spec);
        backbone = (spec.Architecture, spec.Layout) switch
        {
            ("small-cnn", null) => new SmallCnn(spec.Channels, spec.BackboneSize.Height, spec.BackboneSize.Width, baseWidth: 16),
            ("small-cnn-wide", null) => new SmallCnn(spec.Channels, spec.BackboneSize.Height, spec.BackboneSize.Width, baseWidth: 32),
            ("vgg11", null) => new Vgg11(spec.BackboneChannels, spec.BackboneSize.Height, spec.BackboneSize.Width),
            ("resnet18", null) => new ResNet18(spec.BackboneChannels),
            ("vgg11", "torchvision") => new TorchvisionVgg11(),
            ("resnet18", "torchvision") => new ImageNetResNet(ImageNetResNet.TorchvisionBlocks),
            ("resnet18", "cntk") => new ImageNetResNet(ImageNetResNet.CntkBlocks),
            _ => throw new UsageException($"model.architecture {spec.Architecture}: no backbone for layout {spec.Layout ?? "(toolkit)"}"),
        };
        hash = Linear(((IBackbone)backbone).FeatureSize, spec.Bits);
        RegisterComponents();
    }

    /// <summary>Builds the model and, when <see cref="HashModelSpec.Pretrained"/> is set, loads those backbone weights
    /// (and the normalisation they expect); the hash layer stays randomly initialised.</summary>
    public static HashModel Create(HashModelSpec spec)
    {
        var model = new HashModel(spec);
        if (model.Spec.Pretrained is null) return model;
        try { PretrainedWeights.Load(model, model.Spec.Pretrained); }
        catch { model.Dispose(); throw; }
        return model;
    }

    public HashModelSpec Spec { get; }

    /// <summary>The backbone module (state-dict names relative to it are torchvision's in the torchvision layout).</summary>
    internal Module<Tensor, Tensor> Backbone => backbone;

    /// <summary>The input stage, or null when the model takes the data as it is.</summary>
    internal InputStage? Input => input;

    /// <summary>The backbone's stages, from the input on (see <see cref="IBackbone.Stages"/>).</summary>
    public IReadOnlyList<(string Name, Module[] Modules)> BackboneStages => ((IBackbone)backbone).Stages;

    /// <summary>Parameters of the backbone (for a separate learning rate, as the reference recipe uses).</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> BackboneParameters() => backbone.parameters();

    /// <summary>Parameters of the hash layer.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> HashLayerParameters() => hash.parameters();

    /// <summary>Pre-activation z = W f(x) + b, [B, K], for images x in pixel units.</summary>
    public override Tensor forward(Tensor x)
    {
        if (input is null)
        {
            using var f = backbone.forward(x);
            return hash.forward(f);
        }
        using var a = input.forward(x);
        using var g = backbone.forward(a);
        return hash.forward(g);
    }

    /// <summary>True when the backbone can be run in two parts (<see cref="IStagedBackbone"/>) at the boundary after
    /// <paramref name="stages"/> stages (1 .. the number of stages).</summary>
    public bool SupportsPrefix(int stages) => backbone is IStagedBackbone && stages >= 1 && stages <= BackboneStages.Count;

    /// <summary>The output of the input stage and the first <paramref name="stages"/> backbone stages for images in
    /// pixel units: what <see cref="FrozenPrefixCache"/> keeps. <c>ForwardFromPrefix(ForwardPrefix(x, n), n)</c> runs
    /// the same operations as <see cref="forward"/>.</summary>
    public Tensor ForwardPrefix(Tensor x, int stages)
    {
        var staged = Staged(stages);
        if (input is null) return staged.ForwardHead(x, stages);
        using var a = input.forward(x);
        return staged.ForwardHead(a, stages);
    }

    /// <summary>Pre-activation z [B, K] from the output of the first <paramref name="stages"/> stages
    /// (<see cref="ForwardPrefix"/>): the remaining stages and the hash layer.</summary>
    public Tensor ForwardFromPrefix(Tensor prefix, int stages)
    {
        using var f = Staged(stages).ForwardTail(prefix, stages);
        return hash.forward(f);
    }

    private IStagedBackbone Staged(int stages) => SupportsPrefix(stages)
        ? (IStagedBackbone)backbone
        : throw new ArgumentException($"the {Spec.Architecture} backbone ({Spec.Layout ?? "toolkit"} layout) cannot be split after {stages} stage(s)", nameof(stages));

    /// <summary>Backbone features f(x) [B, F] for images x in pixel units (input stage included).</summary>
    public Tensor Features(Tensor x)
    {
        if (input is null) return backbone.forward(x);
        using var a = input.forward(x);
        return backbone.forward(a);
    }

    /// <summary>Continuous codes tanh(beta * z).</summary>
    public Tensor Continuous(Tensor x, double beta = 1.0)
    {
        using var z = forward(x);
        return beta == 1.0 ? z.tanh() : z.mul(beta).tanh_();
    }
}
