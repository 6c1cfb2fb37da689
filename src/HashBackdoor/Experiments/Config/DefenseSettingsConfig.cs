using HashBackdoor.Defenses;

namespace HashBackdoor.Experiments;

/// <summary>Config section <c>defenseSettings</c>: how the attack x defense matrix (config key <c>defenses</c>,
/// <c>hashbd defend --defense all</c>) runs each defense. Defaults keep the matrix affordable (docs/defenses.md).</summary>
public sealed record DefenseSettingsConfig
{
    /// <summary>Seed of the defenses' random choices (clean subsets, blend partners, optimisation batches). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Training-set filters that retrain a victim on the kept images (the slow part: one full training each);
    /// the others report detection only (mAP/t-MAP after not measured). Default: spectral and activation-clustering
    /// (the two filters on penultimate features).</summary>
    public IReadOnlyList<string> Retrain { get; init; } = new[] { "spectral", "activation-clustering" };

    /// <summary>Fine-pruning ratios of the curve in the matrix (the defender picks its ratio among them). Default 0, 0.5,
    /// 0.8 (the single-run default of <c>hashbd defend --defense fine-pruning</c> has seven).</summary>
    public IReadOnlyList<double> PruningRatios { get; init; } = new[] { 0.0, 0.5, 0.8 };

    /// <summary>Throws <see cref="UsageException"/> naming the key.</summary>
    public DefenseSettingsConfig Validate()
    {
        foreach (var name in Retrain)
            if (!BackdoorDefenses.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
                throw new UsageException($"defenseSettings.retrain: {name}: unknown defense (known: {string.Join(", ", BackdoorDefenses.Names)})");
        if (PruningRatios.Count == 0) throw new UsageException("defenseSettings.pruningRatios: at least one ratio is needed");
        foreach (var r in PruningRatios)
            if (!(r >= 0 && r < 1)) throw new UsageException($"defenseSettings.pruningRatios: {r}: every ratio must lie in [0, 1)");
        return this;
    }
}
