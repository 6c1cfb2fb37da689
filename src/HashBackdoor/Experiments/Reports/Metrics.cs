namespace HashBackdoor.Experiments.Reports;

/// <summary>Parses metric names and reads a metric from a <see cref="MethodSummary"/>.</summary>
public static class Metrics
{
    /// <summary>
    /// <c>"mAP"</c> or <c>"map"</c> -> <see cref="Metric.Map"/>; <c>"tMAP"</c>, <c>"t-MAP"</c> (any case) ->
    /// <see cref="Metric.TMap"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Any other name.</exception>
    public static Metric Parse(string metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        return metric.Trim().Replace("-", "").Replace("_", "").ToLowerInvariant() switch
        {
            "map" => Metric.Map,
            "tmap" => Metric.TMap,
            _ => throw new ArgumentException($"unknown metric '{metric}': expected mAP or tMAP", nameof(metric)),
        };
    }

    /// <summary>Display name: "mAP" or "t-MAP".</summary>
    public static string Label(Metric metric) => metric == Metric.Map ? "mAP" : "t-MAP";

    /// <summary>Mean and standard deviation of <paramref name="metric"/> in <paramref name="summary"/>, percent.</summary>
    public static (double Mean, double Std) Of(MethodSummary summary, Metric metric) =>
        metric == Metric.Map ? (summary.Map, summary.MapStd) : (summary.TMap, summary.TMapStd);
}
