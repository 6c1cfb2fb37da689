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

    /// <summary>The surrogate's loss when it differs from the victim's (a transfer threat model, e.g. a CSQ surrogate
    /// against a HashNet victim); null: the victim's (<c>training.loss</c>). Only with <c>kind: independent</c>.</summary>
    public string? Loss { get; init; }

    /// <summary>The surrogate's backbone when it differs from the victim's (e.g. small-cnn against a small-cnn-wide
    /// victim); null: the victim's (<c>model.architecture</c>). Only with <c>kind: independent</c>.</summary>
    public string? Architecture { get; init; }

    /// <summary>True when the surrogate differs from the victim in loss or architecture.</summary>
    public bool IsTransfer => Loss is not null || Architecture is not null;

    /// <summary>The threat model in words, for results: "twin", "independent", or "independent, transfer from LOSS
    /// ARCH" naming what differs.</summary>
    public string Describe(string victimLoss, string victimArchitecture)
    {
        if (Kind == SurrogateKind.Twin) return "twin (the clean model of the same seed: same initial weights, batch order, dropout and CSQ centres)";
        if (!IsTransfer) return "independent (same architecture and loss as the victim; own initial weights, batch order, dropout and CSQ centres)";
        return $"independent, transfer: surrogate {Loss ?? victimLoss} / {Architecture ?? victimArchitecture}, victim {victimLoss} / {victimArchitecture}";
    }

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (surrogate.loss, surrogate.architecture).</summary>
    public SurrogateConfig Validate()
    {
        if (Kind == SurrogateKind.Twin && IsTransfer)
            throw new UsageException($"surrogate.{(Loss is not null ? "loss" : "architecture")}: a twin surrogate is the clean model itself; use kind: independent for a surrogate of another loss or architecture");
        if (Loss is not null && !HashBackdoor.Hashing.Losses.HashLossFactory.Names.Contains(Loss))
            throw new UsageException($"surrogate.loss {Loss}: unknown loss (known: {string.Join(", ", HashBackdoor.Hashing.Losses.HashLossFactory.Names)})");
        if (Architecture is not null && !HashBackdoor.Hashing.HashModelSpec.Architectures.Contains(Architecture))
            throw new UsageException($"surrogate.architecture {Architecture}: unknown backbone (known: {string.Join(", ", HashBackdoor.Hashing.HashModelSpec.Architectures)})");
        return this;
    }

    /// <summary>The twin surrogate (the clean model of the same seed).</summary>
    public static SurrogateConfig Twin { get; } = new();

    /// <summary>An independently trained surrogate.</summary>
    public static SurrogateConfig Independent { get; } = new() { Kind = SurrogateKind.Independent };

    /// <summary>A section of kind <paramref name="kind"/> alone.</summary>
    public static implicit operator SurrogateConfig(SurrogateKind kind) => new() { Kind = kind };
}
