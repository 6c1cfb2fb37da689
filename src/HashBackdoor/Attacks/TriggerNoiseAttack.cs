using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// "tri+noise" (method.md section 6): uniform noise in [-eps, eps] added to each chosen image, clamped to 0..1, then the
/// trigger. The noise comes from a generator seeded by the context's seed. The poisoned rows are fixed tensors (not
/// augmented during victim training).
/// </summary>
public sealed class TriggerNoiseAttack : IPoisoningAttack
{
    /// <inheritdoc/>
    public string Name => "tri+noise";

    /// <inheritdoc/>
    public PoisonSet Poison(ImageDataset train, PoisonContext context)
    {
        context.Trigger.CheckFits(train.Channels, train.Height, train.Width);
        context.Perturbation.Validate();
        long[] indices = context.ChooseIndices(train);
        double eps = context.Perturbation.Epsilon;
        using var scope = NewDisposeScope();
        var originals = train.Images.index_select(0, tensor(indices, ScalarType.Int64).to(train.Images.device)).cpu();
        using var gen = new Generator();
        gen.manual_seed(context.StreamSeed(2));
        var noise = rand(originals.shape, generator: gen).mul(2 * eps).sub(eps);
        var perturbed = originals.add(noise).clamp(0, 1);
        return PoisonSet.Fixed(Name, context.TargetClass, train, indices, perturbed, context.Trigger);
    }
}
