using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// "tri+noise" (method.md section 6): uniform noise in [-eps, eps] added to each chosen image, clamped to 0..1, then the
/// trigger. The noise comes from a generator seeded by the context's seed (its own stream).
/// </summary>
public sealed class TriggerNoiseAttack : PerturbThenPasteAttack
{
    /// <inheritdoc/>
    public override string Name => "tri+noise";

    /// <inheritdoc/>
    protected override void Check(ImageDataset train, PoisonContext context)
    {
        base.Check(train, context);
        context.Perturbation.Validate();
    }

    /// <inheritdoc/>
    protected override Tensor Perturb(Tensor originals, PoisonContext context)
    {
        double eps = context.Perturbation.Epsilon;
        using var scope = NewDisposeScope();
        var x = originals.cpu();
        using var gen = new Generator();
        gen.manual_seed(context.StreamSeed(2));
        var noise = rand(x.shape, generator: gen).mul(2 * eps).sub(eps);
        return x.add(noise).clamp(0, 1).MoveToOuterDisposeScope();
    }
}
