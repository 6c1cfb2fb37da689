namespace HashBackdoor.Experiments.Statistics;

/// <summary>
/// One method's t-MAP at one value of an ablation against the same method at the first value, paired over the (target,
/// seed) blocks that both values ran (<see cref="PairedComparison.Of"/>: A = this value, B = the first value).
/// </summary>
/// <param name="Method">Row key (<see cref="MethodNames"/>).</param>
/// <param name="Value">The value compared (A).</param>
/// <param name="First">The first value (B).</param>
/// <param name="Paired">Mean difference A - B in points, its 95% bootstrap interval, blocks won, signed-rank p.</param>
public sealed record ValueComparison(string Method, string Value, string First, PairedComparison Paired)
{
    /// <summary>Every method's t-MAP at every value after the first, against the first value. <paramref name="values"/>
    /// holds each value with the runs of its experiment, in the order given to the ablation. The bootstrap seed is the
    /// comparison's position, so the figures are reproducible.</summary>
    public static List<ValueComparison> AgainstFirst(IReadOnlyList<(string Value, IReadOnlyList<RunResult> Runs)> values)
    {
        var list = new List<ValueComparison>();
        if (values.Count < 2) return list;
        var first = values[0];
        var firstByBlock = first.Runs.ToDictionary(r => (r.Method, r.Target, r.Seed), r => r.TMap);
        var methods = values.SelectMany(v => v.Runs).Select(r => r.Method).Distinct().ToList();
        foreach (var method in methods)
            for (int i = 1; i < values.Count; i++)
            {
                var pairs = values[i].Runs.Where(r => r.Method == method && firstByBlock.ContainsKey((method, r.Target, r.Seed)))
                    .OrderBy(r => r.Seed).ThenBy(r => r.Target)
                    .Select(r => (r.TMap, firstByBlock[(method, r.Target, r.Seed)])).ToList();
                if (pairs.Count == 0) continue;
                list.Add(new ValueComparison(method, values[i].Value, first.Value,
                    PairedComparison.Of(values[i].Value, first.Value, MethodComparisons.Name(MethodComparisons.Metric.TMap), pairs, seed: list.Count)));
            }
        return list;
    }
}
