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
    public PoisonSet Poison(ImageDataset train, PoisonContext context)
    {
        var surrogate = context.RequireSurrogate(Name);
        context.Trigger.CheckFits(train.Channels, train.Height, train.Width);
        var perturbation = new ConfusingPerturbation(context.Perturbation with { Lambda = 0 });
        long[] indices = context.ChooseIndices(train);
        using var scope = NewDisposeScope();
        var originals = train.Images.index_select(0, tensor(indices, ScalarType.Int64).to(train.Images.device));
        using var perturbed = perturbation.Perturb(surrogate, originals, context.PerturbationProgress);
        return PoisonSet.Fixed(Name, context.TargetClass, train, indices, perturbed, context.Trigger);
    }
}
