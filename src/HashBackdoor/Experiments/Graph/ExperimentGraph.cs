using HashBackdoor.Experiments.Sharding;

namespace HashBackdoor.Experiments.Graph;

/// <summary>
/// The units of one experiment and what each needs, built from its config in this one place; a serial run
/// (<see cref="ExperimentRunner"/>) executes <see cref="Units"/> in order in one process, a shard
/// (<see cref="ShardedExperimentRunner"/>) the <see cref="Work"/> units it owns (and the dependencies it reaches first).
/// The order puts every unit after the units it needs: setup; clean models (per seed); independent surrogates (per
/// seed); triggers (per seed and target); victims (per seed, target and poisoning method); test-time attacks (per seed,
/// target and attack of <c>testTime</c>); the defense cells of each attack run (per seed, method, target: the clean
/// control first when <c>defenseSettings.cleanControl</c> is on); results. Shard I of N owns the work units at positions
/// I, I + N, I + 2N, ... of <see cref="Work"/> (victims, the bulk of the work, are spread evenly).
/// </summary>
internal sealed class ExperimentGraph
{
    private readonly ExperimentConfig config;

    private ExperimentGraph(ExperimentConfig config, IReadOnlyList<ExperimentUnit> work)
    {
        this.config = config;
        Work = work;
        Units = new[] { Setup }.Concat(work).Append(Results).ToList();
    }

    /// <summary>The unit that writes the resolved config and labels; first in every run.</summary>
    public static ExperimentUnit Setup { get; } = new(UnitKind.Setup);

    /// <summary>The unit that writes results.json and the reports; last in every run.</summary>
    public static ExperimentUnit Results { get; } = new(UnitKind.Results);

    /// <summary>Every unit in dependency order: <see cref="Setup"/>, <see cref="Work"/>, <see cref="Results"/>.</summary>
    public IReadOnlyList<ExperimentUnit> Units { get; }

    /// <summary>The units between setup and results, in dependency order: what shards divide among themselves.</summary>
    public IReadOnlyList<ExperimentUnit> Work { get; }

    /// <summary>The graph of <paramref name="config"/> (validated).</summary>
    public static ExperimentGraph Of(ExperimentConfig config)
    {
        var units = new List<ExperimentUnit>();
        foreach (long s in config.Seeds) units.Add(new ExperimentUnit(UnitKind.Clean, s));
        if (config.Surrogate.Kind == SurrogateKind.Independent)
            foreach (long s in config.Seeds) units.Add(new ExperimentUnit(UnitKind.Surrogate, s));
        foreach (long s in config.Seeds)
            foreach (int t in config.Targets) units.Add(new ExperimentUnit(UnitKind.Trigger, s, t));
        foreach (long s in config.Seeds)
            foreach (int t in config.Targets)
                foreach (string m in config.Methods) units.Add(new ExperimentUnit(UnitKind.Victim, s, t, m));
        foreach (long s in config.Seeds)
            foreach (int t in config.Targets)
                foreach (string a in config.TestTime) units.Add(new ExperimentUnit(UnitKind.TestTime, s, t, a));
        if (config.Defenses.Count > 0)
            foreach (long s in config.Seeds)
                foreach (string m in DefendedMethods(config))
                    foreach (int t in config.Targets) units.Add(new ExperimentUnit(UnitKind.Defenses, s, t, m));
        return new ExperimentGraph(config, units);
    }

    /// <summary>The rows of the attack x defense matrix: the clean control (when <c>defenseSettings.cleanControl</c> is
    /// on), then the poisoning methods.</summary>
    public static IReadOnlyList<string> DefendedMethods(ExperimentConfig config) =>
        (config.DefenseSettings.CleanControl ? new[] { RunFolder.CleanMethod } : Array.Empty<string>()).Concat(config.Methods).ToList();

    /// <summary>The units <paramref name="unit"/> reads: a trigger needs the clean model (its triggered result) and the
    /// surrogate (independent or the clean model); a victim and a test-time attack need their trigger unit (the trigger,
    /// the clean result, and through it the models); a defense cell needs the attack run it defends (the clean
    /// control: the trigger unit); the results need every work unit. Setup precedes every unit and is not listed.</summary>
    public IReadOnlyList<ExperimentUnit> DependenciesOf(ExperimentUnit unit) => unit.Kind switch
    {
        UnitKind.Trigger => config.Surrogate.Kind == SurrogateKind.Independent
            ? new[] { new ExperimentUnit(UnitKind.Clean, unit.Seed), new ExperimentUnit(UnitKind.Surrogate, unit.Seed) }
            : new[] { new ExperimentUnit(UnitKind.Clean, unit.Seed) },
        UnitKind.Victim or UnitKind.TestTime => new[] { new ExperimentUnit(UnitKind.Trigger, unit.Seed, unit.Target) },
        UnitKind.Defenses => unit.Method == RunFolder.CleanMethod
            ? new[] { new ExperimentUnit(UnitKind.Trigger, unit.Seed, unit.Target) }
            : new[] { new ExperimentUnit(UnitKind.Victim, unit.Seed, unit.Target, unit.Method) },
        UnitKind.Results => Work,
        _ => Array.Empty<ExperimentUnit>(),
    };

    /// <summary>The work units shard <paramref name="shard"/> owns, in order.</summary>
    public IReadOnlyList<ExperimentUnit> OwnedBy(ShardSpec shard) => Work.Where((_, i) => shard.Owns(i)).ToList();
}
