using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// "ciba" (method.md section 5): the confusing perturbation with the context's lambda (default 0.8: adversarial term plus
/// dispersion of the codes within each group), then the trigger. Needs the surrogate.
/// </summary>
public sealed class CibaAttack : PerturbThenPasteAttack
{
    /// <inheritdoc/>
    public override string Name => "ciba";

    /// <inheritdoc/>
    protected override void Check(ImageDataset train, PoisonContext context)
    {
        context.RequireSurrogate(Name);
        base.Check(train, context);
    }

    /// <inheritdoc/>
    protected override Tensor Perturb(Tensor originals, PoisonContext context) =>
        new ConfusingPerturbation(context.Perturbation).Perturb(context.RequireSurrogate(Name), originals, context.PerturbationProgress, context.Cancellation);
}
