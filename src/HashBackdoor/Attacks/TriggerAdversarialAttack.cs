using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// "tri+adv" (method.md section 6): the confusing perturbation with lambda = 0, that is L_adv alone (each image's code
/// pushed away from its own clean code), then the trigger. Needs the surrogate. The poisoned rows are fixed tensors.
/// </summary>
public sealed class TriggerAdversarialAttack : IPoisoningAttack
{
    /// <inheritdoc/>
    public string Name => "tri+adv";

    /// <inheritdoc/>
    public PoisonSet Poison(ImageDataset train, PoisonContext context) =>
        CibaAttack.PerturbThenPaste(Name, train, context, context.Perturbation with { Lambda = 0 });
}
