using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>All retrieval metrics of one query set against one database.</summary>
public sealed record RetrievalReport(MapResult Map, MapResult MapOtherRule, IReadOnlyDictionary<int, double> PrecisionAtK,
    RadiusPrecision RadiusTwo, PrecisionRecallCurve Curve)
{
    public static RetrievalReport Compute(EncodedSet query, EncodedSet database, int r, QueryRule rule, IReadOnlyList<int> ks)
    {
        var index = new HammingIndex(database.Codes);
        var map = RetrievalScoring.Map(index, query, database, r, rule);
        var map2 = map.Under(RetrievalScoring.Other(rule));
        var kept = ks.Where(k => k >= 1 && k <= database.Codes.Count).ToArray();
        var p = RetrievalMetrics.PrecisionAtK(index, query.Codes, query.Labels, database.Labels, kept);
        var rad = RetrievalMetrics.PrecisionWithinRadius(index, query.Codes, query.Labels, database.Labels, 2);
        var curve = RetrievalMetrics.PrecisionRecallByRadius(index, query.Codes, query.Labels, database.Labels);
        return new RetrievalReport(map, map2, kept.Select((k, i) => (k, p[i])).ToDictionary(t => t.k, t => t.Item2), rad, curve);
    }
}
