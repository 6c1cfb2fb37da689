using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>Mean and sample standard deviation over the runs of one method, percent.</summary>
public sealed record MethodSummary
{
    [JsonPropertyName("method")] public required string Method { get; init; }
    /// <summary>The name tables show (<see cref="MethodNames.Display"/>).</summary>
    [JsonPropertyName("displayName")] public string? DisplayName { get; init; }
    [JsonPropertyName("mAP")] public double Map { get; init; }
    [JsonPropertyName("mAPStd")] public double MapStd { get; init; }
    [JsonPropertyName("tMAP")] public double TMap { get; init; }
    [JsonPropertyName("tMAPStd")] public double TMapStd { get; init; }
    /// <summary>Mean t-MAP with ties broken by database order (the reference code's convention); null when a run lacks it.</summary>
    [JsonPropertyName("tMAPDatabaseOrder")] public double? TMapDatabaseOrder { get; init; }
    [JsonPropertyName("tMAPDatabaseOrderStd")] public double? TMapDatabaseOrderStd { get; init; }
    [JsonPropertyName("runs")] public int Runs { get; init; }

    /// <summary>Summaries in the order methods first appear in <paramref name="runs"/>.</summary>
    public static List<MethodSummary> From(IEnumerable<RunResult> runs) => runs
        .GroupBy(r => r.Method)
        .Select(g => new MethodSummary
        {
            Method = g.Key, DisplayName = MethodNames.Display(g.Key), Runs = g.Count(),
            Map = g.Average(r => r.Map), MapStd = Std(g.Select(r => r.Map)),
            TMap = g.Average(r => r.TMap), TMapStd = Std(g.Select(r => r.TMap)),
            TMapDatabaseOrder = g.All(r => r.DatabaseOrder is not null) ? g.Average(r => r.DatabaseOrder!.TMap) : null,
            TMapDatabaseOrderStd = g.All(r => r.DatabaseOrder is not null) ? Std(g.Select(r => r.DatabaseOrder!.TMap)) : null,
        }).ToList();

    /// <summary>Sample standard deviation (n - 1); 0 for a single value.</summary>
    public static double Std(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length < 2) return 0;
        double m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }
}
