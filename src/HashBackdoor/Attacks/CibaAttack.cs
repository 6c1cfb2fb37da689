using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// "ciba" (method.md section 5): the confusing perturbation with the context's lambda (default 0.8: adversarial term plus
/// dispersion of the codes within each group), then the trigger. Needs the surrogate. The poisoned rows are fixed
/// tensors (not augmented during victim training).
/// </summary>
public sealed class CibaAttack : IPoisoningAttack
{
    /// <inheritdoc/>
    public string Name => "ciba";

    /// <inheritdoc/>
    public PoisonSet Poison(ImageDataset train, PoisonContext context) => PerturbThenPaste(Name, train, context, context.Perturbation);

    /// <summary>Confusing perturbations with <paramref name="options"/> on the chosen images, then the trigger: shared by
    /// ciba and tri+adv, which differ only in lambda.</summary>
    internal static PoisonSet PerturbThenPaste(string name, ImageDataset train, PoisonContext context, PerturbationOptions options)
    {
        var surrogate = context.RequireSurrogate(name);
        context.Trigger.CheckFits(train.Channels, train.Height, train.Width);
        var perturbation = new ConfusingPerturbation(options);
        long[] indices = context.ChooseIndices(train);
        using var scope = NewDisposeScope();
        var originals = train.Images.index_select(0, tensor(indices, ScalarType.Int64).to(train.Images.device));
        using var perturbed = perturbation.Perturb(surrogate, originals, context.PerturbationProgress, context.Cancellation);
        return PoisonSet.Fixed(name, context.TargetClass, train, indices, perturbed, context.Trigger);
    }
}
