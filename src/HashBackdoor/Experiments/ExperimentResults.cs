using System.Text.Json;
using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>The content of results.json (and, per run, of result.json): every key camelCase, the file's
/// <see cref="SchemaVersion"/> first. Read and written with <see cref="Json"/>, which also reads the files of older
/// runs (schema 1: no schemaVersion, PascalCase keys inside comparisons, triggerEffect, perturbation and poisoned).</summary>
public sealed record ExperimentResults
{
    /// <summary>The schema results.json is written with: 2 since its keys are all camelCase.</summary>
    public const int CurrentSchemaVersion = 2;

    /// <summary>results.json and result.json: camelCase keys (names given by attributes stay as they are), indented, nulls
    /// left out; reading matches keys case-insensitively so that older run folders (schema 1) still read.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
    };

    /// <summary>Schema of the file this was read from: 1 for files written before the key existed. The report builder
    /// writes <see cref="CurrentSchemaVersion"/>.</summary>
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 1;

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
