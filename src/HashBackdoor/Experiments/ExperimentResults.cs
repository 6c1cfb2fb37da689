using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>The content of results.json.</summary>
public sealed record ExperimentResults
{
    [JsonPropertyName("protocol")] public required IReadOnlyDictionary<string, object?> Protocol { get; init; }
    [JsonPropertyName("runs")] public required IReadOnlyList<RunResult> Runs { get; init; }
    [JsonPropertyName("summary")] public required IReadOnlyList<MethodSummary> Summary { get; init; }
    /// <summary>CIBA (or the last method) against every other method, paired over (target, seed) blocks, for t-MAP under
    /// both query rules and for clean mAP (<see cref="Statistics.MethodComparisons"/>). Empty with one method.</summary>
    [JsonPropertyName("comparisons")] public IReadOnlyList<Statistics.PairedComparison> Comparisons { get; init; } = Array.Empty<Statistics.PairedComparison>();

    /// <summary>Every saved defense result on the run's attacks (<see cref="DefenseMatrixRunner.Collect"/>). Empty without defenses.</summary>
    [JsonPropertyName("defenseRuns")] public IReadOnlyList<Reports.DefenseRunFigures> DefenseRuns { get; init; } = Array.Empty<Reports.DefenseRunFigures>();
    /// <summary>The attack x defense matrix (<see cref="Reports.DefenseMatrix.Cells"/> of <see cref="DefenseRuns"/>).</summary>
    [JsonPropertyName("defenseMatrix")] public IReadOnlyList<Reports.DefenseMatrixCell> DefenseMatrix { get; init; } = Array.Empty<Reports.DefenseMatrixCell>();

    /// <summary>The comparisons of <paramref name="method"/> against every other method of <paramref name="runs"/>:
    /// t-MAP (run's rule), t-MAP (other rule), mAP, all tie-aware, then t-MAP with ties in database order (the reference
    /// code's convention) when every run has it.</summary>
    public static List<Statistics.PairedComparison> Compare(IReadOnlyList<RunResult> runs, string method)
    {
        var metrics = new List<Statistics.MethodComparisons.Metric> { Statistics.MethodComparisons.Metric.TMap, Statistics.MethodComparisons.Metric.TMapOtherRule, Statistics.MethodComparisons.Metric.Map };
        if (runs.All(r => r.DatabaseOrder is not null)) metrics.Add(Statistics.MethodComparisons.Metric.TMapDatabaseOrder);
        return metrics.SelectMany(m => Statistics.MethodComparisons.Against(runs, method, m)).ToList();
    }
}
