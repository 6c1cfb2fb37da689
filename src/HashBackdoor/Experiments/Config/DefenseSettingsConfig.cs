using HashBackdoor.Defenses;

namespace HashBackdoor.Experiments;

/// <summary>Config section <c>defenseSettings</c>: how the attack x defense matrix (config key <c>defenses</c>,
/// <c>hashbd defend --defense all</c>) runs each defense. The defaults keep the matrix within the experiment's own time
/// on 2 cores (docs/defenses.md, "What makes it affordable"); the full-fidelity pieces are switched on here.</summary>
public sealed record DefenseSettingsConfig
{
    /// <summary>Seed of the defenses' random choices (clean subsets, blend partners, optimisation batches). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Training-set filters that retrain a victim on the kept images and report its mAP and t-MAP after: one full
    /// victim training per listed filter per attack run, each about as long as the attack run itself. Default none
    /// (detection figures only); <c>[spectral, activation-clustering]</c> is the full-fidelity choice.</summary>
    public IReadOnlyList<string> Retrain { get; init; } = Array.Empty<string>();

    /// <summary>Fine-pruning ratios the defender chooses among (on its own clean validation images, which costs little).
    /// Default Liu et al.'s curve 0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, as a single <c>hashbd defend --defense fine-pruning</c>.</summary>
    public IReadOnlyList<double> PruningRatios { get; init; } = new[] { 0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9 };

    /// <summary>Whether fine-pruning also reports clean mAP and t-MAP on the protocol's queries and database at every
    /// ratio (one database encoding per ratio above 0). Default false: the curve holds the defender's validation mAP,
    /// the cell (chosen ratio, mAP and t-MAP after fine-tuning) is unchanged.</summary>
    public bool PruningCurve { get; init; }

    /// <summary>Clean images STRIP superimposes on every query in the matrix. Default 16 (a single
    /// <c>hashbd defend --defense strip</c>: 32): on the default experiment's ciba and tri runs the detection AUC with 16
    /// is within 0.02 of the AUC with 32 (docs/defenses.md, section 9), at half the encoding.</summary>
    public int StripBlends { get; init; } = 16;

    /// <summary>Whether the matrix has the clean-model control row (the clean model of each seed with every target's
    /// triggered queries) when the methods are not named. Default true.</summary>
    public bool CleanControl { get; init; } = true;

    /// <summary>Throws <see cref="UsageException"/> naming the key.</summary>
    public DefenseSettingsConfig Validate()
    {
        foreach (var name in Retrain)
            if (!BackdoorDefenses.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
                throw new UsageException($"defenseSettings.retrain: {name}: unknown defense (known: {string.Join(", ", BackdoorDefenses.Names)})");
        if (PruningRatios.Count == 0) throw new UsageException("defenseSettings.pruningRatios: at least one ratio is needed");
        foreach (var r in PruningRatios)
            if (!(r >= 0 && r < 1)) throw new UsageException($"defenseSettings.pruningRatios: {r}: every ratio must lie in [0, 1)");
        if (StripBlends < 2) throw new UsageException($"defenseSettings.stripBlends: {StripBlends}: must be at least 2");
        return this;
    }
}
