using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>How the poisoned rows reached the victim's trainer (mirrors <see cref="PoisonSet.Plan"/>).</summary>
public enum PoisonPlacement
{
    /// <summary>Poisoned rows are fixed tensors in the stored training set and are not augmented (tri+noise, tri+adv, ciba).</summary>
    Fixed,
    /// <summary>The stored rows stay clean, are augmented like every row, and the trigger is pasted after augmentation (tri).</summary>
    PastedAfterAugmentation,
}

/// <summary>
/// Everything a defense may read about one attack run (one seed, target and method): the victim, the poisoned training set
/// with its TRUE poison indices (used only to score detection, never by the detection itself), the trigger, the anchor,
/// the target and the protocol's query and database sets, plus the victim's training recipe (for retraining and
/// fine-tuning) and the retrieval evaluation settings. The record does not own its tensors, datasets or model; whoever
/// built it disposes them.
/// </summary>
public sealed record DefenseInputs
{
    /// <summary>The victim hashing model (a defense never modifies it; repairs work on a copy).</summary>
    public required HashModel Victim { get; init; }

    /// <summary>Name of the attack that made the victim ("ciba", "tri", ...; "clean" for an unpoisoned model).</summary>
    public string AttackName { get; init; } = "";

    /// <summary>The target class of the attack.</summary>
    public required int TargetClass { get; init; }

    /// <summary>The poisoned training set as the trainer stored it (<see cref="PoisonSet.Dataset"/>): same size, order and
    /// labels as the protocol's training split. For <see cref="PoisonPlacement.PastedAfterAugmentation"/> the poisoned
    /// rows hold the clean originals; <see cref="SeenTrainingImages"/> gives the images as the victim saw them.</summary>
    public required ImageDataset Train { get; init; }

    /// <summary>True poison indices into <see cref="Train"/> (ascending or in <see cref="PoisonedImages"/> row order);
    /// null when unknown (then defenses that need them fail with a <see cref="UsageException"/>).</summary>
    public long[]? PoisonIndices { get; init; }

    /// <summary>The poisoned images as the victim received them before augmentation, float [P, C, H, W], row i for
    /// <see cref="PoisonIndices"/>[i] (<see cref="PoisonSet.PoisonedImages"/>); null with <see cref="PoisonIndices"/>.</summary>
    public Tensor? PoisonedImages { get; init; }

    /// <summary>How the poisoned rows were fed to the trainer.</summary>
    public PoisonPlacement Placement { get; init; } = PoisonPlacement.Fixed;

    /// <summary>The attack's trigger; null when unknown.</summary>
    public PatchTrigger? Trigger { get; init; }

    /// <summary>The attacker's anchor code float [K] in {-1, 0, +1}; null when not recorded. No defense here uses it (a
    /// defender does not know it); it is kept for analyses.</summary>
    public Tensor? Anchor { get; init; }

    /// <summary>Clean query images of the protocol (mAP queries; their non-target rows, triggered, are the t-MAP queries).</summary>
    public required ImageDataset Query { get; init; }

    /// <summary>The retrieval database of the protocol.</summary>
    public required ImageDataset Database { get; init; }

    /// <summary>The victim's training recipe (its seed gives the victim's initial weights); retraining after filtering
    /// uses it unchanged, fine-tuning uses it with fewer epochs.</summary>
    public HashTrainerOptions Trainer { get; init; } = new();

    /// <summary>R of mAP@R and t-MAP@R.</summary>
    public int TopK { get; init; } = 1000;

    /// <summary>Query rule of mAP@R.</summary>
    public QueryRule Rule { get; init; } = QueryRule.Skip;

    /// <summary>The victim's database codes and before-figures, computed once and shared by every defense run on these
    /// inputs (<see cref="RetrievalCheck"/>).</summary>
    public VictimRetrieval VictimRetrieval { get; init; } = new();

    /// <summary>Work shared by the defense runs on this victim (<see cref="SharedDefenseWork"/>: the fine-tuned copy,
    /// derived models' database codes, STRIP's clean scores, Neural Cleanse's reversed triggers). Whoever builds the
    /// inputs disposes it. A <c>with</c> copy that changes the victim, the training set, the query or the database set
    /// must be given a new one; a copy that changes only the trigger or the target may keep it (no shared value depends
    /// on them).</summary>
    public SharedDefenseWork Shared { get; init; } = new();

    /// <summary>Throws a one-line <see cref="UsageException"/> naming what <paramref name="defense"/> lacks.</summary>
    public void Require(DefenseNeeds needs, string defense)
    {
        if (needs.HasFlag(DefenseNeeds.PoisonSet) && (PoisonIndices is null || PoisonedImages is null))
            throw new UsageException($"defense {defense}: needs the poisoned training set with its true poison indices, which this run does not provide");
        if (needs.HasFlag(DefenseNeeds.Trigger) && Trigger is null)
            throw new UsageException($"defense {defense}: needs the attack's trigger, which this run does not provide");
        if (PoisonIndices is not null && PoisonedImages is not null && PoisonedImages.shape[0] != PoisonIndices.Length)
            throw new ArgumentException($"{PoisonedImages.shape[0]} poisoned images for {PoisonIndices.Length} poison indices");
    }

    /// <summary>Bool per training row: true at the true poison indices (all false when they are unknown).</summary>
    public bool[] PoisonMask()
    {
        var mask = new bool[Train.Count];
        foreach (long i in PoisonIndices ?? Array.Empty<long>()) mask[i] = true;
        return mask;
    }

    /// <summary>The training images as the victim saw them before augmentation, float [N, C, H, W] (a new tensor): the
    /// stored rows with the poisoned images in place.</summary>
    public Tensor SeenTrainingImages()
    {
        if (PoisonIndices is null || PoisonedImages is null || PoisonIndices.Length == 0) return Train.Images.clone();
        using var idx = tensor(PoisonIndices, ScalarType.Int64);
        return Train.Images.clone().index_copy_(0, idx, PoisonedImages.to_type(ScalarType.Float32));
    }

    /// <summary>
    /// The training rows <paramref name="keep"/> (indices into <see cref="Train"/>) as the victim's trainer would receive
    /// them: stored images and labels (copies) and the <see cref="TrainingSetPlan"/> that treats surviving poisoned rows
    /// as the attack did (fixed and not augmented, or trigger pasted after augmentation).
    /// </summary>
    public (ImageDataset Set, TrainingSetPlan Plan) TrainingSubset(long[] keep)
    {
        var set = Train.Subset(keep, $"{Train.Name} kept {keep.Length}");
        var poison = PoisonMask();
        var rows = keep.Select(i => poison[i]).ToArray();
        if (!rows.Any(r => r)) return (set, new TrainingSetPlan());
        if (Placement == PoisonPlacement.Fixed)
        {
            // The stored rows already hold the poisoned tensors; they must not be augmented.
            var augmentable = tensor(rows.Select(r => !r).ToArray()).DetachFromDisposeScope();
            return (set, new TrainingSetPlan { Augmentable = augmentable });
        }
        if (Trigger is null) throw new UsageException("defense: the run's poison set pastes its trigger after augmentation, but the trigger is missing");
        var mask = tensor(rows).DetachFromDisposeScope();
        var trigger = Trigger;
        return (set, new TrainingSetPlan
        {
            AfterAugmentation = (batch, batchIndices) =>
            {
                using var scope = NewDisposeScope();
                var m = mask.index_select(0, batchIndices.to(mask.device).to_type(ScalarType.Int64)).to(batch.device);
                return where(m.view(-1, 1, 1, 1), trigger.Paste(batch), batch).MoveToOuterDisposeScope();
            },
        });
    }

    /// <summary>Query images that share no label with the target (the t-MAP queries before the trigger), a new dataset.</summary>
    public ImageDataset NonTargetQueries()
    {
        using var keep = Query.Labels.select(1, TargetClass).eq(0).nonzero().squeeze(1);
        return Query.Subset(keep.data<long>().ToArray(), $"{Query.Name} non-target {TargetClass}");
    }
}
