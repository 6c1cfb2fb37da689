using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Retrieval;

public class MapResultRuleTests
{
    [Fact]
    public void OtherRuleFromTheSameRankingEqualsASeparateEvaluation()
    {
        // Random 8-bit codes with many ties and 3 classes: some queries have no relevant item in their top 5.
        var rng = new Random(4);
        var db = BinaryCodes.Random(200, 8, rng);
        var q = BinaryCodes.Random(40, 8, rng);
        var dbLabels = LabelSets.FromClassIndices(Enumerable.Range(0, 200).Select(_ => rng.Next(3)).ToArray(), 3);
        var qLabels = LabelSets.FromClassIndices(Enumerable.Range(0, 40).Select(_ => rng.Next(3)).ToArray(), 3);
        var index = new HammingIndex(db);
        var skip = RetrievalMetrics.MeanAveragePrecision(index, q, qLabels, dbLabels, 5, QueryRule.Skip);
        var zero = RetrievalMetrics.MeanAveragePrecision(index, q, qLabels, dbLabels, 5, QueryRule.Zero);
        Assert.True(skip.QueriesCounted < zero.QueriesCounted, "the example needs queries without a relevant item");
        Assert.Equal(zero, skip.Under(QueryRule.Zero) with { AveragePrecisions = zero.AveragePrecisions });
        Assert.Equal(zero.MeanAP, skip.Under(QueryRule.Zero).MeanAP, 15);
        Assert.Equal(skip.MeanAP, zero.Under(QueryRule.Skip).MeanAP, 15);
        Assert.Same(skip, skip.Under(QueryRule.Skip));
    }
}
