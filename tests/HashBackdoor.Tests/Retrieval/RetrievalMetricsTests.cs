using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Retrieval;

public class RetrievalMetricsTests
{
    const double Eps = 1e-12;

    static LabelSets Sets(int classes, params int[][] sets) =>
        LabelSets.FromSets(sets.Select(s => (IReadOnlyCollection<int>)s).ToArray(), classes);

    // Five database items; for query 0x00 the ranking is 3 (d0), 1 (d1), 4 (d1, tie after 1), 2 (d2), 0 (d3), and
    // with query labels {0} the relevance along the ranking is 1, 0, 1, 0, 1.
    static readonly BinaryCodes Db5 = BinaryCodes.FromFaissBytes(new byte[] { 0x07, 0x01, 0x03, 0x00, 0x10 }, 8);
    static readonly LabelSets DbLabels5 = Sets(3, new[] { 0, 1 }, new[] { 1 }, new[] { 2 }, new[] { 0 }, new[] { 0, 2 });

    [Fact]
    public void HandWorkedApOfOneQueryFiveItems()
    {
        // AP@5 = (P@1 + P@3 + P@5) / 3 = (1 + 2/3 + 3/5) / 3 = 34/45
        long[] ranked = { 3, 1, 4, 2, 0 };
        LabelSets q = Sets(3, new[] { 0 });
        foreach (QueryRule rule in new[] { QueryRule.Skip, QueryRule.Zero })
        {
            MapResult m = RetrievalMetrics.MeanAveragePrecision(ranked, 5, q, DbLabels5, 5, rule);
            Assert.Equal(34.0 / 45.0, m.MeanAP, Eps);
            Assert.Equal(3400.0 / 45.0, m.Percent, 1e-10);
            Assert.Equal((1, 1, 1, 5, rule), (m.QueriesCounted, m.QueriesTotal, m.QueriesWithRelevant, m.R, m.Rule));
        }
        // AP@3 = (P@1 + P@3) / 2 = (1 + 2/3) / 2 = 5/6
        Assert.Equal(5.0 / 6.0, RetrievalMetrics.MeanAveragePrecision(ranked, 5, q, DbLabels5, 3, QueryRule.Skip).MeanAP, Eps);

        // the same through the fused path, which ranks by itself (and must break the 1/4 tie by database order)
        var index = new HammingIndex(Db5);
        MapResult fused = RetrievalMetrics.MeanAveragePrecision(index, BinaryCodes.FromFaissBytes(new byte[] { 0 }, 8), q, DbLabels5, 5, QueryRule.Skip);
        Assert.Equal(34.0 / 45.0, fused.MeanAP, Eps);
        Assert.Equal(34.0 / 45.0, ReferenceRetrieval.MeanAveragePrecision(ranked, 5, q, DbLabels5, 5, QueryRule.Skip).MeanAP, Eps);
    }

    [Fact]
    public void QueryWithoutRelevantItemIsSkippedOrCountsZero()
    {
        // query 0 sees items 3, 1, 4 (relevance 1, 0, 1: AP@3 = 5/6); query 1 has label {1} and sees items 3, 2, 4,
        // none of which has label 1
        long[] ranked = { 3, 1, 4, 3, 2, 4 };
        LabelSets q = Sets(3, new[] { 0 }, new[] { 1 });
        MapResult skip = RetrievalMetrics.MeanAveragePrecision(ranked, 3, q, DbLabels5, 3, QueryRule.Skip);
        MapResult zero = RetrievalMetrics.MeanAveragePrecision(ranked, 3, q, DbLabels5, 3, QueryRule.Zero);
        Assert.Equal(5.0 / 6.0, skip.MeanAP, Eps);
        Assert.Equal(1, skip.QueriesCounted);
        Assert.Equal(5.0 / 12.0, zero.MeanAP, Eps);
        Assert.Equal(2, zero.QueriesCounted);
        Assert.Equal(2, skip.QueriesTotal);
        Assert.Equal(1, zero.QueriesWithRelevant);
        Assert.True(double.IsNaN(skip.AveragePrecisions[1]));
        Assert.Equal(5.0 / 6.0, skip.AveragePrecisions[0], Eps);

        // no query with a relevant item at all: Skip counts none and reports 0
        MapResult none = RetrievalMetrics.MeanAveragePrecision(new long[] { 3, 2, 4 }, 3, Sets(3, new[] { 1 }), DbLabels5, 3, QueryRule.Skip);
        Assert.Equal((0.0, 0, 1), (none.MeanAP, none.QueriesCounted, none.QueriesTotal));
    }

    [Fact]
    public void TargetedMapUsesTheTargetLabelAsTheQuerySet()
    {
        // t-MAP with target class 2: relevant items are 2 and 4. Ranking 3,1,4,2,0 -> rel 0,0,1,1,0: AP = (1/3 + 2/4) / 2
        LabelSets target = LabelSets.Repeat(2, 1, 3);
        MapResult t = RetrievalMetrics.MeanAveragePrecision(new HammingIndex(Db5), BinaryCodes.FromFaissBytes(new byte[] { 0 }, 8),
            target, DbLabels5, 5, QueryRule.Zero);
        Assert.Equal((1.0 / 3 + 2.0 / 4) / 2, t.MeanAP, Eps);
    }

    [Fact]
    public void HandWorkedPrecisionAtKRadiusAndCurve()
    {
        var index = new HammingIndex(Db5);
        BinaryCodes queries = BinaryCodes.FromFaissBytes(new byte[] { 0x00, 0xFF }, 8);
        LabelSets q = Sets(3, new[] { 0 }, new[] { 0 });
        // query 0xFF: distances 5, 7, 6, 8, 7 -> ranking 0, 2, 1, 4, 3 -> rel 1, 0, 0, 1, 1
        double[] pk = RetrievalMetrics.PrecisionAtK(index, queries, q, DbLabels5, new[] { 1, 2, 5 });
        Assert.Equal((1.0 + 1.0) / 2, pk[0], Eps);
        Assert.Equal((0.5 + 0.5) / 2, pk[1], Eps);
        Assert.Equal((0.6 + 0.6) / 2, pk[2], Eps);
        Assert.Throws<UsageException>(() => RetrievalMetrics.PrecisionAtK(index, queries, q, DbLabels5, new[] { 6 }));

        // radius 2: query 0x00 retrieves 3, 1, 2, 4 (2 relevant of 4); query 0xFF retrieves nothing and counts 0
        RadiusPrecision p2 = RetrievalMetrics.PrecisionWithinRadius(index, queries, q, DbLabels5);
        Assert.Equal(0.25, p2.Precision, Eps);
        Assert.Equal((2, 2, 1), (p2.Radius, p2.QueriesTotal, p2.QueriesWithinRadius));
        Assert.Equal(0.5, RetrievalMetrics.PrecisionWithinRadius(index, queries, q, DbLabels5, 0).Precision, Eps);

        PrecisionRecallCurve c = RetrievalMetrics.PrecisionRecallByRadius(index, queries, q, DbLabels5);
        Assert.Equal(8, c.MaxRadius);
        // query 0x00: r0 P 1 R 1/3; r1 P 2/3 R 2/3; r2 P 2/4 R 2/3; r>=3 P 3/5 R 1
        // query 0xFF: r<5 P 0 R 0; r5 P 1 R 1/3; r6 P 1/2 R 1/3; r7 P 2/4 R 2/3; r8 P 3/5 R 1
        double[] p = { 1, 2.0 / 3, 0.5, 0.6, 0.6, 0.6 + 1, 0.6 + 0.5, 0.6 + 0.5, 0.6 + 0.6 };
        double[] r = { 1.0 / 3, 2.0 / 3, 2.0 / 3, 1, 1, 1 + 1.0 / 3, 1 + 1.0 / 3, 1 + 2.0 / 3, 2 };
        for (int d = 0; d <= 8; d++)
        {
            Assert.Equal(p[d] / 2, c.Precision[d], Eps);
            Assert.Equal(r[d] / 2, c.Recall[d], Eps);
        }
    }

    public static TheoryData<int, int, int, int> RandomCases => new()
    {
        // bits, database size, queries, classes
        { 8, 2500, 30, 10 },
        { 48, 1200, 25, 10 },
        { 64, 1200, 25, 5 },
        { 72, 800, 20, 80 },
        { 128, 600, 15, 130 },
    };

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void MetricsMatchReferenceOnRandomCodes(int bits, int n, int q, int classes)
    {
        var rng = new Random(bits + n + classes);
        BinaryCodes db = BinaryCodes.Random(n, bits, rng);
        BinaryCodes queries = BinaryCodes.Random(q, bits, rng);
        LabelSets dbLabels = RandomLabels(rng, n, classes);
        LabelSets qLabels = RandomLabels(rng, q, classes);
        var index = new HammingIndex(db, 2);

        int r = Math.Min(500, n);
        long[] refRanked = ReferenceRetrieval.Search(db, queries, r);
        foreach (QueryRule rule in new[] { QueryRule.Skip, QueryRule.Zero })
            foreach (int rr in new[] { 1, 50, r })
            {
                MapResult expected = ReferenceRetrieval.MeanAveragePrecision(refRanked, r, qLabels, dbLabels, rr, rule);
                MapResult fused = RetrievalMetrics.MeanAveragePrecision(index, queries, qLabels, dbLabels, rr, rule);
                MapResult fromRanked = RetrievalMetrics.MeanAveragePrecision(refRanked, r, qLabels, dbLabels, rr, rule);
                foreach (MapResult got in new[] { fused, fromRanked })
                {
                    Assert.Equal(expected.MeanAP, got.MeanAP, Eps);
                    Assert.Equal((expected.QueriesCounted, expected.QueriesTotal, expected.QueriesWithRelevant, expected.R),
                        (got.QueriesCounted, got.QueriesTotal, got.QueriesWithRelevant, got.R));
                }
            }

        int[] ks = { 1, 10, 100, r };
        double[] pkRef = ReferenceRetrieval.PrecisionAtK(refRanked, r, qLabels, dbLabels, ks);
        double[] pk = RetrievalMetrics.PrecisionAtK(index, queries, qLabels, dbLabels, ks);
        for (int m = 0; m < ks.Length; m++) Assert.Equal(pkRef[m], pk[m], Eps);

        foreach (int radius in new[] { 0, 2, bits / 3 })
            Assert.Equal(ReferenceRetrieval.PrecisionWithinRadius(db, queries, qLabels, dbLabels, radius),
                RetrievalMetrics.PrecisionWithinRadius(index, queries, qLabels, dbLabels, radius).Precision, Eps);

        if (bits <= 72)
        {
            (double[] pr, double[] rc) = ReferenceRetrieval.PrecisionRecallByRadius(db, queries.Slice(0, 5), qLabels.Slice(0, 5), dbLabels);
            PrecisionRecallCurve c = RetrievalMetrics.PrecisionRecallByRadius(index, queries.Slice(0, 5), qLabels.Slice(0, 5), dbLabels);
            for (int d = 0; d <= bits; d++)
            {
                Assert.Equal(pr[d], c.Precision[d], Eps);
                Assert.Equal(rc[d], c.Recall[d], Eps);
            }
        }
    }

    [Fact]
    public void RIsReducedToDatabaseSizeAndBadInputsAreRejected()
    {
        var index = new HammingIndex(Db5);
        BinaryCodes queries = BinaryCodes.FromFaissBytes(new byte[] { 0 }, 8);
        LabelSets q = Sets(3, new[] { 0 });
        MapResult m = RetrievalMetrics.MeanAveragePrecision(index, queries, q, DbLabels5, 1000, QueryRule.Skip);
        Assert.Equal(5, m.R);
        Assert.Equal(34.0 / 45.0, m.MeanAP, Eps);
        Assert.Throws<UsageException>(() => RetrievalMetrics.MeanAveragePrecision(index, queries, q, DbLabels5, 0, QueryRule.Skip));
        Assert.Throws<UsageException>(() => RetrievalMetrics.MeanAveragePrecision(index, queries, Sets(4, new[] { 0 }), DbLabels5, 5, QueryRule.Skip));
        Assert.Throws<UsageException>(() => RetrievalMetrics.MeanAveragePrecision(new long[] { 3, 9 }, 2, q, DbLabels5, 2, QueryRule.Skip));
        Assert.Throws<UsageException>(() => RetrievalMetrics.MeanAveragePrecision(new long[] { 3, 1 }, 2, q, DbLabels5, 3, QueryRule.Skip));
    }

    [Fact]
    public void LabelSetsSupportManyClassesAndValidate()
    {
        LabelSets a = Sets(200, new[] { 0, 150 }, new[] { 199 }, Array.Empty<int>());
        LabelSets b = Sets(200, new[] { 150 }, new[] { 64 });
        Assert.Equal(4, a.WordsPerItem);
        Assert.True(a.SharesAny(0, b, 0));
        Assert.False(a.SharesAny(1, b, 0));
        Assert.False(a.SharesAny(2, b, 1));
        Assert.True(a.Has(1, 199));
        Assert.Equal(2, a.CountLabels(0));

        LabelSets m = LabelSets.FromMultiHot(new byte[] { 1, 0, 1, 0, 0, 0 }, 3);
        Assert.Equal(2, m.Count);
        Assert.Equal(0b101UL, m.Get(0)[0]);
        Assert.Equal(0UL, m.Get(1)[0]);
        Assert.Equal(m.Masks.ToArray(), LabelSets.FromMultiHot(new float[] { 1, 0, 1, 0, 0, 0 }, 3).Masks.ToArray());
        Assert.Equal(new[] { 1UL << 2, 1UL }, LabelSets.FromClassIndices(new[] { 2, 0 }, 3).Masks.ToArray());
        Assert.Throws<UsageException>(() => LabelSets.FromMultiHot(new byte[] { 2, 0, 0 }, 3));
        Assert.Throws<UsageException>(() => LabelSets.FromMultiHot(new float[] { 0.5f, 0, 0 }, 3));
        Assert.Throws<UsageException>(() => LabelSets.FromClassIndices(new[] { 3 }, 3));
        Assert.Throws<UsageException>(() => LabelSets.FromBitmasks(new[] { 1UL << 3 }, 1, 3));
        Assert.Throws<UsageException>(() => LabelSets.Repeat(3, 1, 3));
    }

    static LabelSets RandomLabels(Random rng, int count, int classes)
    {
        // mostly 1-2 labels, some items with none
        var sets = new IReadOnlyCollection<int>[count];
        for (int i = 0; i < count; i++)
        {
            int k = rng.Next(10) == 0 ? 0 : 1 + rng.Next(2);
            sets[i] = Enumerable.Range(0, k).Select(_ => rng.Next(classes)).ToArray();
        }
        return LabelSets.FromSets(sets, classes);
    }
}
