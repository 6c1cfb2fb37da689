namespace HashBackdoor.Experiments.Statistics;

/// <summary>
/// Paired comparisons of one method against every other method of an experiment, blocked by (target, seed): only blocks
/// in which both methods ran are paired. The bootstrap seed is fixed per comparison (derived from the pair's names'
/// order in the run), so results.json is reproducible.
/// </summary>
public static class MethodComparisons
{
    /// <summary>The metrics compared.</summary>
    public enum Metric
    {
        /// <summary>t-MAP@R under the run's query rule.</summary>
        TMap,
        /// <summary>t-MAP@R under the other query rule.</summary>
        TMapOtherRule,
        /// <summary>Clean mAP@R.</summary>
        Map,
        /// <summary>t-MAP@R under the run's query rule with ties in database order (the reference code's convention).</summary>
        TMapDatabaseOrder,
    }

    /// <summary><paramref name="method"/> against every other method present in <paramref name="runs"/>, in the
    /// order methods first appear; empty when <paramref name="method"/> did not run.</summary>
    public static List<PairedComparison> Against(IReadOnlyList<RunResult> runs, string method, Metric metric)
    {
        var byBlock = runs.GroupBy(r => (r.Target, r.Seed)).ToDictionary(g => g.Key, g => g.ToDictionary(r => r.Method, r => r));
        if (!runs.Any(r => r.Method == method)) return new List<PairedComparison>();
        var others = runs.Select(r => r.Method).Distinct().Where(m => m != method).ToList();
        var list = new List<PairedComparison>();
        for (int i = 0; i < others.Count; i++)
        {
            var pairs = byBlock.Where(b => b.Value.ContainsKey(method) && b.Value.ContainsKey(others[i]))
                .OrderBy(b => b.Key.Seed).ThenBy(b => b.Key.Target)
                .Select(b => (Value(b.Value[method], metric), Value(b.Value[others[i]], metric))).ToList();
            list.Add(PairedComparison.Of(method, others[i], Name(metric), pairs, seed: i));
        }
        return list;
    }

    /// <summary>The metric's name in results.json ("tMAP", "tMAPOtherRule", "mAP", "tMAPDatabaseOrder").</summary>
    public static string Name(Metric metric) => metric switch
    {
        Metric.TMap => "tMAP",
        Metric.TMapOtherRule => "tMAPOtherRule",
        Metric.TMapDatabaseOrder => "tMAPDatabaseOrder",
        _ => "mAP",
    };

    private static double Value(RunResult r, Metric metric) => metric switch
    {
        Metric.TMap => r.TMap,
        Metric.TMapOtherRule => r.TMapOtherRule,
        Metric.TMapDatabaseOrder => r.DatabaseOrder?.TMap ?? throw new DataException("result.json", $"{r.Method} target {r.Target} seed {r.Seed} has no databaseOrder figures (written before tie-aware metrics; rescore the run)"),
        _ => r.Map,
    };
}
