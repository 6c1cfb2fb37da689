namespace HashBackdoor.Experiments.Sharding;

/// <summary>
/// The units of an experiment in a fixed order that puts every unit after the units it needs: clean models (per seed),
/// independent surrogates (per seed), triggers (per seed and target), victims (per seed, target and method; then the
/// test-time attacks of <c>testTime</c>, which read the clean model and the trigger unit's clean result). Shard I of
/// N owns the units at positions I, I + N, I + 2N, ... (victims, the bulk of the work, are spread evenly).
/// </summary>
public static class ExperimentGrid
{
    /// <summary>Every unit of <paramref name="config"/> in dependency order (setup and results not included).</summary>
    public static IReadOnlyList<GridUnit> Units(ExperimentConfig config)
    {
        var units = new List<GridUnit>();
        foreach (long s in config.Seeds) units.Add(new GridUnit(GridUnitKind.Clean, s));
        if (config.Surrogate.Kind == SurrogateKind.Independent)
            foreach (long s in config.Seeds) units.Add(new GridUnit(GridUnitKind.Surrogate, s));
        foreach (long s in config.Seeds)
            foreach (int t in config.Targets) units.Add(new GridUnit(GridUnitKind.Trigger, s, t));
        foreach (long s in config.Seeds)
            foreach (int t in config.Targets)
                foreach (string m in config.Methods.Concat(config.TestTime)) units.Add(new GridUnit(GridUnitKind.Victim, s, t, m));
        return units;
    }

    /// <summary>The units <paramref name="unit"/> reads: a trigger needs the clean model (its triggered result) and the
    /// surrogate (independent or the clean model); a victim needs its trigger (and through it the surrogate).</summary>
    public static IReadOnlyList<GridUnit> Dependencies(GridUnit unit, ExperimentConfig config) => unit.Kind switch
    {
        GridUnitKind.Trigger => config.Surrogate.Kind == SurrogateKind.Independent
            ? new[] { new GridUnit(GridUnitKind.Clean, unit.Seed), new GridUnit(GridUnitKind.Surrogate, unit.Seed) }
            : new[] { new GridUnit(GridUnitKind.Clean, unit.Seed) },
        GridUnitKind.Victim => new[] { new GridUnit(GridUnitKind.Trigger, unit.Seed, unit.Target) },
        _ => Array.Empty<GridUnit>(),
    };

    /// <summary>The units shard <paramref name="shard"/> owns, in order.</summary>
    public static IReadOnlyList<GridUnit> Owned(ExperimentConfig config, ShardSpec shard) =>
        Units(config).Where((_, i) => shard.Owns(i)).ToList();
}
