using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>
/// Scoring shared by <c>hashbd evaluate</c> and <c>hashbd experiment</c>: encode a split into packed codes, then mAP@R of
/// clean queries (relevant: shares a label) and t-MAP@R of triggered queries (relevant: has the target label), both
/// ranked by <see cref="HammingIndex"/> under the protocol of <see cref="ProtocolDescription"/>. Every figure is tie-aware
/// (the expectation over the orderings of database items at the same Hamming distance, <see cref="TieAwareMetrics"/>);
/// the database-order figure (the reference code's convention) is carried beside it.
/// </summary>
public static class RetrievalScoring
{
    /// <summary>Images encoded per call of the encoder.</summary>
    public const int EncodeBatch = 500;

    /// <summary>Encodes a split with the model (optionally transformed, e.g. triggered) into packed codes, on the model's
    /// device; an untransformed split held by <paramref name="prefix"/> runs only the model's suffix (<see cref="FrozenPrefixCache"/>).</summary>
    public static EncodedSet Encode(HashModel model, ImageDataset set, IRunProgress progress, string label, Func<Tensor, Tensor>? transform = null,
        FrozenPrefixCache? prefix = null)
    {
        using var step = progress.Start($"{label} ({set.Count} images)", 1);
        using var signs = HashEncoder.Encode(model, set.Images, EncodeBatch, transform, model.parameters().First().device, prefix);
        var codes = CodeConversion.ToBinaryCodes(signs, out long zeros);
        return new EncodedSet(codes, CodeConversion.ToLabelSets(set.Labels), set.LabelBytes(), set.NumClasses, zeros);
    }

    /// <summary>mAP@<paramref name="r"/> of <paramref name="queries"/> against the database behind <paramref name="index"/>:
    /// the tie-aware figure (<see cref="TieAwareMetrics"/>), with the database-order figure beside it.</summary>
    public static TieAwareMap Map(HammingIndex index, EncodedSet queries, EncodedSet database, int r, QueryRule rule) =>
        TieAwareMetrics.MeanAveragePrecision(index, queries.Codes, queries.Labels, database.Labels, r, rule);

    /// <summary>t-MAP@<paramref name="r"/>: every triggered query's relevant items are the database items labelled with
    /// <paramref name="target"/>.</summary>
    public static TieAwareMap TargetMap(HammingIndex index, EncodedSet triggered, int target, EncodedSet database, int r, QueryRule rule) =>
        TargetMap(index, triggered.Codes, target, database, r, rule);

    /// <summary>t-MAP@<paramref name="r"/> of query codes (tie-aware, database order beside).</summary>
    public static TieAwareMap TargetMap(HammingIndex index, BinaryCodes triggered, int target, EncodedSet database, int r, QueryRule rule)
    {
        var targetLabels = LabelSets.Repeat(target, triggered.Count, database.Classes);
        return TieAwareMetrics.MeanAveragePrecision(index, triggered, targetLabels, database.Labels, r, rule);
    }

    /// <summary>The other query rule (skip for zero, zero for skip).</summary>
    public static QueryRule Other(QueryRule rule) => rule == QueryRule.Skip ? QueryRule.Zero : QueryRule.Skip;
}
