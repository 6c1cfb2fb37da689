namespace HashBackdoor.Experiments;

/// <summary>Config section <c>poison</c>. Which images are poisoned is drawn with the poisoning seed
/// (<see cref="SeedPurpose.Poison"/>); the chosen indices are recorded in the run folder (poison/poison.json).</summary>
public sealed record PoisonConfig
{
    /// <summary>N, the number of target-class training images poisoned (the reference uses 60 of 100 per class). Default 60.</summary>
    public int Count { get; init; } = 60;

    /// <summary>Throws <see cref="UsageException"/> naming poison.count.</summary>
    public PoisonConfig Validate()
    {
        if (Count < 1) throw new UsageException($"poison.count {Count}: must be at least 1");
        return this;
    }
}
