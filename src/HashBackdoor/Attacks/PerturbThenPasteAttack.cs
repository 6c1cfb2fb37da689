using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// The family of attacks that perturb the chosen target-class images and then paste the trigger on them (tri+noise,
/// tri+adv, ciba): they differ only in <see cref="Perturb"/>. The poisoned rows are fixed tensors, not augmented during
/// victim training (<see cref="PoisonSet"/>). A new member is one file: a subclass with a public parameterless
/// constructor, found by <see cref="PoisoningAttacks"/>.
/// </summary>
public abstract class PerturbThenPasteAttack : IPoisoningAttack
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <summary>Checks, before any image is chosen, what the attack needs: the trigger fits the images; a subclass adds
    /// its own needs (a surrogate, valid perturbation settings).</summary>
    protected virtual void Check(ImageDataset train, PoisonContext context) =>
        context.Trigger.CheckFits(train.Channels, train.Height, train.Width);

    /// <summary>The perturbed images: <paramref name="originals"/> [P, C, H, W] in 0..1 (the chosen images, in the
    /// context's order) changed within the context's budget, in 0..1, owned by the caller.</summary>
    protected abstract Tensor Perturb(Tensor originals, PoisonContext context);

    /// <inheritdoc/>
    public PoisonSet Poison(ImageDataset train, PoisonContext context)
    {
        Check(train, context);
        long[] indices = context.ChooseIndices(train);
        using var scope = NewDisposeScope();
        var originals = train.Images.index_select(0, tensor(indices, ScalarType.Int64).to(train.Images.device));
        using var perturbed = Perturb(originals, context);
        return PoisonSet.Fixed(Name, context.TargetClass, train, indices, perturbed, context.Trigger);
    }
}
