using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// "tri+adv" (method.md section 6): the confusing perturbation with lambda = 0, that is L_adv alone (each image's code
/// pushed away from its own clean code), then the trigger. Needs the surrogate.
/// </summary>
public sealed class TriggerAdversarialAttack : PerturbThenPasteAttack
{
    /// <inheritdoc/>
    public override string Name => "tri+adv";

    private static PerturbationOptions Options(PoisonContext context) => context.Perturbation with { Lambda = 0 };

    /// <inheritdoc/>
    protected override void Check(ImageDataset train, PoisonContext context)
    {
        context.RequireSurrogate(Name);
        base.Check(train, context);
    }

    /// <inheritdoc/>
    protected override Tensor Perturb(Tensor originals, PoisonContext context) =>
        new ConfusingPerturbation(Options(context)).Perturb(context.RequireSurrogate(Name), originals, context.PerturbationProgress, context.Cancellation);
}
