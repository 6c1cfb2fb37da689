namespace HashBackdoor.Experiments.Graph;

/// <summary>The kinds of unit an experiment is made of (<see cref="ExperimentGraph"/>).</summary>
public enum UnitKind
{
    /// <summary>config.resolved.json and the label files.</summary>
    Setup,
    /// <summary>The clean model of a seed, with its database and query codes.</summary>
    Clean,
    /// <summary>The independent surrogate of a seed (<c>surrogate: independent</c> only).</summary>
    Surrogate,
    /// <summary>The anchor code and trigger of a (seed, target), its triggered-query rows, and the clean model's
    /// triggered result (the "patch only" row).</summary>
    Trigger,
    /// <summary>The poison set, victim model, codes and result of a (seed, target, poisoning method).</summary>
    Victim,
    /// <summary>A test-time attack of <c>testTime</c> on a (seed, target): its adversarial queries, their codes on the
    /// clean model and its result.</summary>
    TestTime,
    /// <summary>The defense cells of one attack run (seed, target, method or the clean control): every defense of
    /// <c>defenses</c> whose result is not in the folder yet.</summary>
    Defenses,
    /// <summary>results.json, results.md and report.html, from every other unit's files.</summary>
    Results,
}

/// <summary>One unit of work of an experiment: what it computes (<see cref="UnitExecutor"/>) and, in a sharded run, the
/// files that mark it claimed and done (<see cref="RunFolder.UnitClaimPath"/>, <see cref="RunFolder.UnitDonePath"/>).</summary>
public sealed record ExperimentUnit(UnitKind Kind, long Seed = 0, int Target = -1, string? Method = null)
{
    /// <summary>File-name id: setup, seed-0.clean, seed-0.surrogate, seed-0.target-1.trigger, seed-0.target-1.tri_noise
    /// (a victim or a test-time attack), seed-0.target-1.ciba.defenses, results.</summary>
    public string Id => Kind switch
    {
        UnitKind.Setup => "setup",
        UnitKind.Results => "results",
        UnitKind.Clean => $"seed-{Seed}.clean",
        UnitKind.Surrogate => $"seed-{Seed}.surrogate",
        UnitKind.Trigger => $"seed-{Seed}.target-{Target}.trigger",
        UnitKind.Defenses => $"seed-{Seed}.target-{Target}.{RunFolder.MethodFolderName(Method!)}.defenses",
        _ => $"seed-{Seed}.target-{Target}.{RunFolder.MethodFolderName(Method!)}",
    };

    /// <summary>Clean models and surrogates live under the models root (shared by an ablation's variants).</summary>
    public bool InModelsRoot => Kind is UnitKind.Clean or UnitKind.Surrogate;

    public override string ToString() => Id;
}
