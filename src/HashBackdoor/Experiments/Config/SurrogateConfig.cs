namespace HashBackdoor.Experiments;

/// <summary>
/// Config section <c>surrogate</c>: the attacker's model. Written as a name (<c>surrogate: twin</c>) or as a section
/// (<c>surrogate: { kind: independent }</c>), so that the threat model can grow keys (a loss or architecture of its own)
/// without breaking configs that give the name alone (<see cref="ExperimentConfig.Load"/> reads <c>surrogate: NAME</c> as
/// <c>surrogate: { kind: NAME }</c>). <c>clean</c>, the old name of twin, is still accepted.
/// </summary>
public sealed record SurrogateConfig
{
    /// <summary>Which model. Default twin.</summary>
    public SurrogateKind Kind { get; init; } = SurrogateKind.Twin;

    /// <summary>The twin surrogate (the clean model of the same seed).</summary>
    public static SurrogateConfig Twin { get; } = new();

    /// <summary>An independently trained surrogate.</summary>
    public static SurrogateConfig Independent { get; } = new() { Kind = SurrogateKind.Independent };

    /// <summary>A section of kind <paramref name="kind"/> alone.</summary>
    public static implicit operator SurrogateConfig(SurrogateKind kind) => new() { Kind = kind };
}
