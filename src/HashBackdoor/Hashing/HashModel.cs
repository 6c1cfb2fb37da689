using HashBackdoor.Hashing.Backbones;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace HashBackdoor.Hashing;

/// <summary>
/// A deep hashing model: backbone, then a linear hash layer to K units. <see cref="forward"/> returns the pre-activation
/// z [B, K]; the continuous code is tanh(z) and the binary code is sign(tanh(z)) = sign(z) (method.md section 2).
/// </summary>
public sealed class HashModel : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> backbone;
    private readonly TorchSharp.Modules.Linear hash;

    public HashModel(HashModelSpec spec) : base(nameof(HashModel))
    {
        Spec = spec.Validate();
        backbone = spec.Architecture switch
        {
            "small-cnn" => new SmallCnn(spec.Channels, spec.Height, spec.Width, baseWidth: 16),
            "small-cnn-wide" => new SmallCnn(spec.Channels, spec.Height, spec.Width, baseWidth: 32),
            "vgg11" => new Vgg11(spec.Channels, spec.Height, spec.Width),
            "resnet18" => new ResNet18(spec.Channels),
            _ => throw new UsageException($"--arch {spec.Architecture}: unknown backbone"),
        };
        hash = Linear(((IBackbone)backbone).FeatureSize, spec.Bits);
        RegisterComponents();
    }

    public HashModelSpec Spec { get; }

    /// <summary>Parameters of the backbone (for a separate learning rate, as the reference recipe uses).</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> BackboneParameters() => backbone.parameters();

    /// <summary>Parameters of the hash layer.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> HashLayerParameters() => hash.parameters();

    /// <summary>Pre-activation z = W f(x) + b, [B, K].</summary>
    public override Tensor forward(Tensor x)
    {
        using var f = backbone.forward(x);
        return hash.forward(f);
    }

    /// <summary>Penultimate features f(x) [B, FeatureSize]: the backbone's output, the hash layer's input (what
    /// feature-space defenses such as spectral signatures and activation clustering inspect).</summary>
    public Tensor Features(Tensor x) => backbone.forward(x);

    /// <summary>Continuous codes tanh(beta * z).</summary>
    public Tensor Continuous(Tensor x, double beta = 1.0)
    {
        using var z = forward(x);
        return beta == 1.0 ? z.tanh() : z.mul(beta).tanh_();
    }
}
