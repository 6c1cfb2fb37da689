using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>All retrieval metrics of one query set against one database. mAP and P@k are tie-aware (expectations over
/// the orderings of database items at equal Hamming distance, <see cref="TieAwareMetrics"/>), with the database-order
/// figures beside them; P@r&lt;=2 and the precision-recall curve by radius take whole distance groups and are order-free.</summary>
public sealed record RetrievalReport(TieAwareMap Map, TieAwareMap MapOtherRule, IReadOnlyDictionary<int, double> PrecisionAtK,
    RadiusPrecision RadiusTwo, PrecisionRecallCurve Curve)
{
    /// <summary>P@k with ties in database order (the reference code's convention), beside the tie-aware <see cref="PrecisionAtK"/>.</summary>
    public IReadOnlyDictionary<int, double> PrecisionAtKDatabaseOrder { get; init; } = new Dictionary<int, double>();

    public static RetrievalReport Compute(EncodedSet query, EncodedSet database, int r, QueryRule rule, IReadOnlyList<int> ks)
    {
        var index = new HammingIndex(database.Codes);
        var map = RetrievalScoring.Map(index, query, database, r, rule);
        var map2 = map.Under(RetrievalScoring.Other(rule));
        var kept = ks.Where(k => k >= 1 && k <= database.Codes.Count).ToArray();
        var p = TieAwareMetrics.PrecisionAtK(index, query.Codes, query.Labels, database.Labels, kept);
        var pOrder = RetrievalMetrics.PrecisionAtK(index, query.Codes, query.Labels, database.Labels, kept);
        var rad = RetrievalMetrics.PrecisionWithinRadius(index, query.Codes, query.Labels, database.Labels, 2);
        var curve = RetrievalMetrics.PrecisionRecallByRadius(index, query.Codes, query.Labels, database.Labels);
        return new RetrievalReport(map, map2, kept.Select((k, i) => (k, p[i])).ToDictionary(t => t.k, t => t.Item2), rad, curve)
        {
            PrecisionAtKDatabaseOrder = kept.Select((k, i) => (k, pOrder[i])).ToDictionary(t => t.k, t => t.Item2),
        };
    }
}
