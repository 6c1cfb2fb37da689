namespace HashBackdoor.Experiments;

/// <summary>
/// Derives every seed of an experiment from the repetition seed (config <c>seeds</c>) and, where it matters, the target
/// class. The formulas are the ones the toolkit has always used, so results recorded before this type existed are
/// reproduced bit for bit (tests/…/GoldenExperimentTests).
/// </summary>
public sealed class RunSeeds
{
    /// <summary>Offset of the independent surrogate's seed (a prime, far from any seed a config lists).</summary>
    public const long SurrogateOffset = 1_000_003;

    /// <summary>Seeds per repetition seed before the target is added (targets are below 1000).</summary>
    public const long PerSeedStride = 1000;

    /// <summary>The derivation every run uses.</summary>
    public static RunSeeds Default { get; } = new();

    /// <summary>The seed for <paramref name="purpose"/> in repetition <paramref name="seed"/> (and target
    /// <paramref name="target"/> for <see cref="SeedPurpose.Trigger"/> and <see cref="SeedPurpose.Poison"/>).</summary>
    public long For(SeedPurpose purpose, long seed, int target = 0) => purpose switch
    {
        SeedPurpose.Training => seed,
        SeedPurpose.Surrogate => seed + SurrogateOffset,
        SeedPurpose.Trigger or SeedPurpose.Poison => seed * PerSeedStride + target,
        _ => throw new ArgumentOutOfRangeException(nameof(purpose), purpose, "unknown seed purpose"),
    };
}
