using HashBackdoor.Data;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// The result of a poisoning attack: the poisoned training set (same size and labels as the original; poisoned images
/// replace their originals at the same indices), which indices were poisoned, the per-image pieces for reports, and the
/// <see cref="TrainingSetPlan"/> the victim's trainer must follow. The set owns all its tensors.
/// </summary>
public sealed class PoisonSet : IDisposable
{
    private readonly PatchTrigger trigger;

    private PoisonSet(string attackName, int targetClass, ImageDataset dataset, long[] indices, Tensor originals,
        Tensor perturbed, Tensor perturbations, Tensor poisonedImages, Tensor mask, PatchTrigger trigger, TrainingSetPlan plan,
        bool triggerAfterAugmentation)
    {
        AttackName = attackName;
        TargetClass = targetClass;
        Dataset = dataset;
        PoisonedIndices = indices;
        Originals = originals.DetachFromDisposeScope();
        PerturbedImages = perturbed.DetachFromDisposeScope();
        TriggerAfterAugmentation = triggerAfterAugmentation;
        Perturbations = perturbations.DetachFromDisposeScope();
        PoisonedImages = poisonedImages.DetachFromDisposeScope();
        PoisonMask = mask.DetachFromDisposeScope();
        this.trigger = trigger;
        Plan = plan;
    }

    /// <summary>Name of the attack that made this set ("tri", "tri+noise", "tri+adv", "ciba", ...).</summary>
    public string AttackName { get; }

    /// <summary>The target class.</summary>
    public int TargetClass { get; }

    /// <summary>The poisoned training set: images float [N, C, H, W] and the original labels (copies).</summary>
    public ImageDataset Dataset { get; }

    /// <summary>Training-set indices of the poisoned images, in the order of the rows of <see cref="Originals"/>.</summary>
    public long[] PoisonedIndices { get; }

    /// <summary>The clean originals of the poisoned images, float [P, C, H, W].</summary>
    public Tensor Originals { get; }

    /// <summary>The poisoned images before the trigger, float [P, C, H, W] in 0..1: the originals after noise or confusing
    /// perturbation (the originals themselves for tri). With <see cref="PoisonedIndices"/>, the trigger and
    /// <see cref="TriggerAfterAugmentation"/> they rebuild this set exactly (<see cref="Restore"/>).</summary>
    public Tensor PerturbedImages { get; }

    /// <summary>True when the stored training images stay clean and the trigger is pasted on poisoned rows after each
    /// batch's augmentation (tri); false when the poisoned rows are fixed tensors that are not augmented.</summary>
    public bool TriggerAfterAugmentation { get; }

    /// <summary>Perturbations (perturbed image minus original, before the trigger), float [P, C, H, W]; zeros for tri.</summary>
    public Tensor Perturbations { get; }

    /// <summary>The poisoned images as the victim receives them before augmentation, float [P, C, H, W]. For tri these are
    /// the originals with the trigger pasted (the stored training images stay clean; the trigger is pasted after
    /// augmentation by <see cref="Plan"/>).</summary>
    public Tensor PoisonedImages { get; }

    /// <summary>Bool [N], true at poisoned indices.</summary>
    public Tensor PoisonMask { get; }

    /// <summary>How the trainer treats the rows: <see cref="TrainingSetPlan.Augmentable"/> is false for fixed poisoned
    /// tensors (noise, adv, ciba); for tri every row is augmented and <see cref="TrainingSetPlan.AfterAugmentation"/>
    /// pastes the trigger on poisoned rows.</summary>
    public TrainingSetPlan Plan { get; }

    /// <summary>A copy of the trigger this set was made with (owned by the set).</summary>
    public PatchTrigger Trigger => trigger;

    /// <summary>
    /// A set whose poisoned rows are fixed tensors: the trigger is pasted on <paramref name="perturbed"/> [P, C, H, W] (the
    /// images after noise or confusing perturbation, already in 0..1), the results replace the rows at
    /// <paramref name="indices"/>, and those rows are marked not augmentable.
    /// </summary>
    internal static PoisonSet Fixed(string attackName, int targetClass, ImageDataset train, long[] indices, Tensor perturbed,
        PatchTrigger trigger)
    {
        using var scope = NewDisposeScope();
        var idx = tensor(indices, ScalarType.Int64);
        var idxDev = idx.to(train.Images.device);
        var originals = train.Images.index_select(0, idxDev);
        var pert = perturbed.to(originals.device).to_type(ScalarType.Float32);
        if (!pert.shape.SequenceEqual(originals.shape))
            throw new ArgumentException($"perturbed images [{string.Join(",", pert.shape)}] do not match the chosen originals [{string.Join(",", originals.shape)}]");
        var poisoned = trigger.Paste(pert);
        var images = train.Images.clone().index_copy_(0, idxDev, poisoned);
        var mask = zeros(train.Count, dtype: ScalarType.Bool).index_fill_(0, idx, true);
        var augmentable = mask.logical_not().DetachFromDisposeScope();
        var dataset = NewDataset(train, attackName, images);
        var own = trigger.Clone();
        var plan = new TrainingSetPlan { Augmentable = augmentable };
        return new PoisonSet(attackName, targetClass, dataset, indices, originals, pert, pert.sub(originals), poisoned, mask, own, plan, false);
    }

    /// <summary>
    /// A set for the Tri baseline: the stored images stay the clean originals and are augmented like every other row;
    /// the plan's <see cref="TrainingSetPlan.AfterAugmentation"/> pastes the trigger on the batch rows whose training
    /// index is poisoned (a bool mask indexed by the batch indices, one vectorised paste per batch).
    /// </summary>
    internal static PoisonSet PasteAfterAugmentation(string attackName, int targetClass, ImageDataset train, long[] indices,
        PatchTrigger trigger)
    {
        using var scope = NewDisposeScope();
        var idx = tensor(indices, ScalarType.Int64);
        var originals = train.Images.index_select(0, idx.to(train.Images.device));
        var own = trigger.Clone();
        var poisoned = own.Paste(originals);
        var mask = zeros(train.Count, dtype: ScalarType.Bool).index_fill_(0, idx, true).DetachFromDisposeScope();
        var dataset = NewDataset(train, attackName, train.Images.clone());
        var plan = new TrainingSetPlan
        {
            AfterAugmentation = (batch, batchIndices) =>
            {
                using var inner = NewDisposeScope();
                var rows = mask.index_select(0, batchIndices.to(mask.device).to_type(ScalarType.Int64)).to(batch.device);
                var pasted = own.Paste(batch);
                return where(rows.view(-1, 1, 1, 1), pasted, batch).MoveToOuterDisposeScope();
            },
        };
        return new PoisonSet(attackName, targetClass, dataset, indices, originals, originals.clone(), zeros_like(originals), poisoned, mask, own, plan, true);
    }

    /// <summary>
    /// Rebuilds a set from what a run folder keeps (attack name, target, indices, the pre-trigger images and whether the
    /// trigger is pasted after augmentation) and the same training set and trigger: the result equals the set that was
    /// saved, tensor for tensor.
    /// </summary>
    /// <param name="attackName">Name of the attack that made the set.</param>
    /// <param name="targetClass">The target class.</param>
    /// <param name="train">The clean training set the poisoning was applied to.</param>
    /// <param name="indices">Poisoned training-set indices, in the saved order.</param>
    /// <param name="perturbed">The saved <see cref="PerturbedImages"/> [P, C, H, W] (ignored when
    /// <paramref name="triggerAfterAugmentation"/> is set: tri keeps the originals).</param>
    /// <param name="trigger">The trigger (the set keeps a copy).</param>
    /// <param name="triggerAfterAugmentation">The saved <see cref="TriggerAfterAugmentation"/>.</param>
    public static PoisonSet Restore(string attackName, int targetClass, ImageDataset train, long[] indices, Tensor perturbed,
        PatchTrigger trigger, bool triggerAfterAugmentation)
    {
        foreach (long i in indices)
            if (i < 0 || i >= train.Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"the training set has {train.Count} images");
        return triggerAfterAugmentation
            ? PasteAfterAugmentation(attackName, targetClass, train, indices, trigger)
            : Fixed(attackName, targetClass, train, indices, perturbed, trigger);
    }

    private static ImageDataset NewDataset(ImageDataset train, string attackName, Tensor images)
    {
        var labels = train.Labels.clone();
        return new ImageDataset($"{train.Name}+{attackName}", images.DetachFromDisposeScope(), labels.DetachFromDisposeScope(), train.ClassNames);
    }

    /// <summary>Releases the dataset, the report tensors, the mask, the plan's tensors and the trigger copy.</summary>
    public void Dispose()
    {
        Dataset.Dispose();
        Originals.Dispose();
        PerturbedImages.Dispose();
        Perturbations.Dispose();
        PoisonedImages.Dispose();
        PoisonMask.Dispose();
        Plan.Augmentable?.Dispose();
        trigger.Dispose();
    }
}
