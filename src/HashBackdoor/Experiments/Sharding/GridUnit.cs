namespace HashBackdoor.Experiments.Sharding;

/// <summary>The kinds of unit an experiment's grid is made of.</summary>
public enum GridUnitKind
{
    /// <summary>config.resolved.json and the label files (written by the first shard to arrive).</summary>
    Setup,
    /// <summary>The clean model of a seed, with its database and query codes.</summary>
    Clean,
    /// <summary>The independent surrogate of a seed (<c>surrogate: independent</c> only).</summary>
    Surrogate,
    /// <summary>The trigger of a (seed, target), its triggered-query rows, and the clean model's triggered result.</summary>
    Trigger,
    /// <summary>The poison set, victim model, codes and result of a (seed, target, method); for a test-time attack of
    /// <c>testTime</c>, its adversarial queries, their codes on the clean model and its result.</summary>
    Victim,
    /// <summary>results.json, results.md and report.html (the shard that finds every other unit done).</summary>
    Results,
}

/// <summary>One unit of work of an experiment: what it computes and the files that mark it claimed and done
/// (<see cref="RunFolder.UnitClaimPath"/>, <see cref="RunFolder.UnitDonePath"/>).</summary>
public sealed record GridUnit(GridUnitKind Kind, long Seed = 0, int Target = -1, string? Method = null)
{
    /// <summary>File-name id: setup, seed-0.clean, seed-0.surrogate, seed-0.target-1.trigger, seed-0.target-1.tri_noise, results.</summary>
    public string Id => Kind switch
    {
        GridUnitKind.Setup => "setup",
        GridUnitKind.Results => "results",
        GridUnitKind.Clean => $"seed-{Seed}.clean",
        GridUnitKind.Surrogate => $"seed-{Seed}.surrogate",
        GridUnitKind.Trigger => $"seed-{Seed}.target-{Target}.trigger",
        _ => $"seed-{Seed}.target-{Target}.{RunFolder.MethodFolderName(Method!)}",
    };

    /// <summary>Clean models and surrogates live under the models root (shared by an ablation's variants).</summary>
    public bool InModelsRoot => Kind is GridUnitKind.Clean or GridUnitKind.Surrogate;

    public override string ToString() => Id;
}
