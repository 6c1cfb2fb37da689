using HashBackdoor.Defenses;

namespace HashBackdoor.Experiments;

/// <summary>Config section <c>defenseSettings</c>: how the attack x defense matrix (config key <c>defenses</c>,
/// <c>hashbd defend --defense all</c>) runs each defense. The defaults keep the matrix within the experiment's own time
/// on 2 cores (docs/defenses.md, "What makes it affordable"); the full-fidelity pieces are switched on here. A defense's
/// own settings are the config section of its name (<see cref="ExperimentConfig.ExtensionSettings"/>, e.g.
/// <c>strip: { blends: 32 }</c>), with <see cref="DefenseMatrixRunner.MatrixDefaults"/> beneath.</summary>
public sealed record DefenseSettingsConfig
{
    /// <summary>Seed of the defenses' random choices (clean subsets, blend partners, optimisation batches). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Training-set filters that retrain a victim on the kept images and report its mAP and t-MAP after: one full
    /// victim training per listed filter per attack run, each about as long as the attack run itself. Default none
    /// (detection figures only); <c>[spectral, activation-clustering]</c> is the full-fidelity choice.</summary>
    public IReadOnlyList<string> Retrain { get; init; } = Array.Empty<string>();

    /// <summary>Whether the matrix has the clean-model control row (the clean model of each seed with every target's
    /// triggered queries) when the methods are not named. Default true.</summary>
    public bool CleanControl { get; init; } = true;

    /// <summary>Throws <see cref="UsageException"/> naming the key.</summary>
    public DefenseSettingsConfig Validate()
    {
        foreach (var name in Retrain)
            if (!BackdoorDefenses.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
                throw new UsageException($"defenseSettings.retrain: {name}: unknown defense (known: {string.Join(", ", BackdoorDefenses.Names)})");
        return this;
    }
}
