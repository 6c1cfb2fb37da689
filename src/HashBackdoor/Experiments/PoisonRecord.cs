using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>
/// What a run folder records of one poison set in <c>poison/poison.json</c> (beside <c>poison/perturbed.npy</c>, the
/// pre-trigger images): enough, with the run's training split and trigger, to rebuild the poisoned training set exactly
/// (<see cref="RunFolder.ReadPoison"/>), and the ground truth a defense is scored against.
/// </summary>
public sealed record PoisonRecord
{
    /// <summary>Attack name (tri, tri+noise, tri+adv, ciba, ...).</summary>
    [JsonPropertyName("attack")] public required string Attack { get; init; }

    /// <summary>The target class; every poisoned image is labelled with it alone and keeps that label (clean-label).</summary>
    [JsonPropertyName("targetClass")] public int TargetClass { get; init; }

    /// <summary>The poisoning seed (choice of images, tri+noise's noise).</summary>
    [JsonPropertyName("seed")] public long Seed { get; init; }

    /// <summary>Indices into the protocol's training split of the poisoned images, in the order of perturbed.npy's rows.</summary>
    [JsonPropertyName("indices")] public required IReadOnlyList<long> Indices { get; init; }

    /// <summary>True for tri: the stored training images stay clean and the trigger is pasted after augmentation.</summary>
    [JsonPropertyName("triggerAfterAugmentation")] public bool TriggerAfterAugmentation { get; init; }

    /// <summary>Shape [P, C, H, W] of the pre-trigger images (perturbed.npy stores them as [P, C*H*W] float32).</summary>
    [JsonPropertyName("shape")] public required IReadOnlyList<int> Shape { get; init; }

    /// <summary>Number of images in the training split the indices refer to.</summary>
    [JsonPropertyName("trainCount")] public int TrainCount { get; init; }
}
