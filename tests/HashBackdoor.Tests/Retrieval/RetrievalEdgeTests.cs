using System.Text;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Retrieval;

/// <summary>
/// Boundaries, error paths and messages of the Retrieval folder that the behaviour tests do not reach (found by mutation
/// testing, docs/testing.md): every limit is tried on both sides, and every rejected input must fail with the exception
/// and the words (flag, file, numbers) the docs promise.
/// </summary>
public class RetrievalEdgeTests
{
    static BinaryCodes Bytes8(params byte[] codes) => BinaryCodes.FromFaissBytes(codes, 8);

    static LabelSets Sets(int classes, params int[][] sets) =>
        LabelSets.FromSets(sets.Select(s => (IReadOnlyCollection<int>)s).ToArray(), classes);

    static string Message(Action a) => Assert.ThrowsAny<Exception>(a).Message;

    [Fact]
    public void BinaryCodesLimitsHoldOnBothSides()
    {
        BinaryCodes c = Bytes8(0x01, 0x80, 0xFF);
        // Get / GetBit: the last valid index works, one past it fails naming the range.
        Assert.Equal(0xFFUL, c.Get(2)[0]);
        Assert.Contains("code index must be in [0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => c.Get(3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Get(-1));
        Assert.True(c.GetBit(1, 7));
        Assert.Contains("bit must be in [0, 8)", Assert.Throws<ArgumentOutOfRangeException>(() => c.GetBit(0, 8)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => c.GetBit(0, -1));
        Assert.Contains("code index must be in [0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => c.GetBit(3, 0)).Message);
        // Hamming distance by hand: 0x01 vs 0xFF differ in 7 bits, 0x80 vs 0x01 in 2.
        Assert.Equal(7, c.HammingDistance(0, c, 2));
        Assert.Equal(2, c.HammingDistance(1, c, 0));
        Assert.Contains("codes have 16 bits but 8 bits were expected",
            Assert.Throws<UsageException>(() => c.HammingDistance(0, BinaryCodes.FromFaissBytes(new byte[2], 16), 0)).Message);
        // Slice: empty slices at both ends are fine, anything past the end is refused.
        Assert.Equal(0, c.Slice(3, 0).Count);
        Assert.Equal(new ulong[] { 0x80, 0xFF }, c.Slice(1, 2).Words.ToArray());
        Assert.Equal(new ulong[] { 0x01 }, c.Slice(0, 1).Words.ToArray());
        Assert.Contains("slice [2, 2+2) is outside [0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => c.Slice(2, 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Slice(-1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Slice(0, -1));
        // Bits: the largest length is accepted, one byte more is not.
        BinaryCodes.ValidateBits(BinaryCodes.MaxBits);
        BinaryCodes.ValidateBits(8);
        Assert.Equal("code length 65544 bits: must be a positive multiple of 8, at most 65536",
            Assert.Throws<UsageException>(() => BinaryCodes.ValidateBits(BinaryCodes.MaxBits + 8)).Message);
        Assert.Equal(1, BinaryCodes.WordsFor(64));
        Assert.Equal(2, BinaryCodes.WordsFor(72));
        Assert.Equal(1024, BinaryCodes.FromWords(new ulong[1024], 1, BinaryCodes.MaxBits).WordsPerCode);
        Assert.Equal(6, BinaryCodes.FromFaissBytes(new byte[12], 48).BytesPerCode);
    }

    [Fact]
    public void BinaryCodesFactoriesRejectMalformedInputWithTheNumbers()
    {
        Assert.Contains("code count -1: must not be negative", Message(() => BinaryCodes.FromWords(Array.Empty<ulong>(), -1, 8)));
        Assert.Contains("3 words given for 2 codes of 72 bits (2 words each)", Message(() => BinaryCodes.FromWords(new ulong[3], 2, 72)));
        // 72 bits: bit 8 of the second word is padding; bit 7 is the last real bit.
        BinaryCodes ok = BinaryCodes.FromWords(new ulong[] { 0, 1UL << 7, 0, 0 }, 2, 72);
        Assert.True(ok.GetBit(0, 71));
        Assert.Contains("code 1: padding bits above bit 72 are set", Message(() => BinaryCodes.FromWords(new ulong[] { 0, 0, 0, 1UL << 8 }, 2, 72)));
        Assert.Contains("code 0: padding bits above bit 8 are set", Message(() => BinaryCodes.FromWords(new ulong[] { 1UL << 63 }, 1, 8)));
        // 64 bits: no padding at all, every bit of the word may be set.
        Assert.Equal(64, BinaryCodes.FromWords(new[] { ulong.MaxValue }, 1, 64).HammingDistance(0, BinaryCodes.FromWords(new ulong[1], 1, 64), 0));
        Assert.Contains("12 values is not a whole number of 8-bit codes", Message(() => BinaryCodes.FromSigns(new float[12], 8)));
        Assert.Contains("code 1, bit 2: value is NaN", Message(() => BinaryCodes.FromSigns(
            new float[] { 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, float.NaN, 1, 1, 1, 1, 1 }, 8)));
        // Infinities are ordinary signs; -0 is a zero.
        BinaryCodes inf = BinaryCodes.FromSigns(new[] { float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, 1e-30f, -1e-30f, 2, -2 }, 8, out long zeros);
        Assert.Equal(2, zeros);
        Assert.Equal(0b0101_0001UL, inf.Get(0)[0]);
        Assert.Contains("5 bytes is not a whole number of 16-bit codes (2 bytes each)", Message(() => BinaryCodes.FromFaissBytes(new byte[5], 16)));
        Assert.Contains("code count -1", Message(() => BinaryCodes.Random(-1, 8, new Random(1))));
        Assert.Throws<ArgumentNullException>(() => BinaryCodes.Random(1, 8, null!));
        // A 2-D matrix whose width is not a code length is refused before anything is copied.
        Assert.Contains("code length 12 bits", Message(() => BinaryCodes.FromSigns(new float[2, 12], out _)));
    }

    [Fact]
    public void RandomCodesFillEveryWordOfLongCodesAndOnlyTheRealBitsOfTheLast()
    {
        // 128 bits (no padding): over 200 codes every bit position is set somewhere and clear somewhere.
        BinaryCodes full = BinaryCodes.Random(200, 128, new Random(3));
        for (int b = 0; b < 128; b++)
        {
            int set = Enumerable.Range(0, 200).Count(i => full.GetBit(i, b));
            Assert.InRange(set, 40, 160);
        }
        // 72 bits: the second word holds 8 real bits, each set in about half of the codes, the rest zero.
        BinaryCodes part = BinaryCodes.Random(200, 72, new Random(4));
        ulong any = 0;
        for (int i = 0; i < 200; i++) any |= part.Get(i)[1];
        Assert.Equal(0xFFUL, any);
        for (int b = 64; b < 72; b++) Assert.InRange(Enumerable.Range(0, 200).Count(i => part.GetBit(i, b)), 40, 160);
        // The same seed gives the same codes.
        Assert.Equal(part.Words.ToArray(), BinaryCodes.Random(200, 72, new Random(4)).Words.ToArray());
    }

    [Fact]
    public void IndexArgumentsAndDegreeOfParallelism()
    {
        BinaryCodes db = Bytes8(0x07, 0x01, 0x03, 0x00);
        Assert.Equal(Environment.ProcessorCount, new HammingIndex(db).DegreeOfParallelism);
        Assert.Equal(3, new HammingIndex(db, 3).DegreeOfParallelism);
        Assert.Equal(1, new HammingIndex(db, 1).DegreeOfParallelism);
        Assert.Contains("degree of parallelism -1: must be >= 0", Message(() => new HammingIndex(db, -1)));
        var index = new HammingIndex(db, 1);
        Assert.Equal((4, 8), (index.Count, index.Bits));
        Assert.Same(db, index.Database);
        Assert.Equal(1, index.EffectiveR(1));
        Assert.Equal(4, index.EffectiveR(4));
        Assert.Equal(4, index.EffectiveR(5));
        Assert.Equal("top R = 0: must be at least 1", Message(() => index.EffectiveR(0)));
        // Distances from one query, by hand: 0x00 against 0x07, 0x01, 0x03, 0x00.
        BinaryCodes queries = Bytes8(0xFF, 0x00);
        Assert.Equal(new[] { 3, 1, 2, 0 }, index.Distances(queries, 1));
        Assert.Equal(new[] { 5, 7, 6, 8 }, index.Distances(queries, 0));
        Assert.Contains("codes have 16 bits", Message(() => index.Distances(BinaryCodes.FromFaissBytes(new byte[2], 16), 0)));
        Assert.Contains("codes have 16 bits", Message(() => index.Search(BinaryCodes.FromFaissBytes(new byte[2], 16), 1, out _)));
        // Q x R results that cannot fit in one array are refused before anything is allocated.
        var bigDb = BinaryCodes.FromWords(new ulong[50_000], 50_000, 8);
        var manyQueries = BinaryCodes.FromWords(new ulong[50_000], 50_000, 8);
        Assert.Contains("50000 queries x top 50000 = 2500000000 results do not fit in one array",
            Message(() => new HammingIndex(bigDb, 1).Search(manyQueries, 50_000)));
    }

    [Fact]
    public void SearchDistancesAreReturnedWithEveryRankingPathAndDegree()
    {
        // Dense (R >= N / 16), selection (R < N / 16) and sampled-cap (R >= 256, N > 16 R) paths, one- two- and
        // many-word codes, one worker and several: indices and distances equal the reference, distances non-decreasing.
        foreach ((int bits, int n, int r) in new[] { (8, 300, 10), (64, 5000, 300), (128, 700, 20), (72, 700, 700), (256, 400, 5), (16, 50, 3) })
        {
            var rng = new Random(bits + n);
            BinaryCodes db = BinaryCodes.Random(n, bits, rng);
            BinaryCodes queries = BinaryCodes.Random(35, bits, rng);
            long[] expected = ReferenceRetrieval.Search(db, queries, r);
            foreach (int dop in new[] { 1, 3 })
            {
                var index = new HammingIndex(db, dop);
                long[] got = index.Search(queries, r, out int[] dist);
                Assert.Equal(expected, got);
                for (int i = 0; i < got.Length; i++)
                    Assert.Equal(ReferenceRetrieval.Distance(queries, i / r, db, (int)got[i]), dist[i]);
                Assert.Equal(expected, index.Search(queries, r));
            }
        }
    }

    [Fact]
    public void RankingMetricsRejectMalformedRankingsWithTheNumbers()
    {
        LabelSets db = Sets(3, new[] { 0 }, new[] { 1 }, new[] { 2 }, new[] { 0 });
        LabelSets q = Sets(3, new[] { 0 });
        LabelSets q2 = Sets(3, new[] { 0 }, new[] { 1 });
        Assert.Contains("rankings with 0 columns: must be at least 1",
            Message(() => RetrievalMetrics.MeanAveragePrecision(Array.Empty<long>(), 0, q, db, 1, QueryRule.Skip)));
        Assert.Contains("5 ranked indices is not a whole number of rows of 2",
            Message(() => RetrievalMetrics.MeanAveragePrecision(new long[5], 2, q, db, 1, QueryRule.Skip)));
        Assert.Contains("2 ranked queries but 1 query label sets",
            Message(() => RetrievalMetrics.MeanAveragePrecision(new long[4], 2, q, db, 1, QueryRule.Skip)));
        Assert.Contains("rankings have 5 results per query but the database has 4 label sets",
            Message(() => RetrievalMetrics.MeanAveragePrecision(new long[5], 5, q, db, 1, QueryRule.Skip)));
        Assert.Contains("R = 3 but the rankings have only 2 results per query",
            Message(() => RetrievalMetrics.MeanAveragePrecision(new long[] { 0, 1 }, 2, q, db, 3, QueryRule.Skip)));
        Assert.Contains("R = 0: must be at least 1",
            Message(() => RetrievalMetrics.MeanAveragePrecision(new long[] { 0, 1 }, 2, q, db, 0, QueryRule.Skip)));
        Assert.Contains("ranked index 4 (query 1, rank 2) is outside the database [0, 4)",
            Message(() => RetrievalMetrics.MeanAveragePrecision(new long[] { 0, 1, 2, 4 }, 2, q2, db, 2, QueryRule.Skip)));
        Assert.Contains("ranked index -1 (query 0, rank 1)",
            Message(() => RetrievalMetrics.MeanAveragePrecision(new long[] { -1, 1 }, 2, q, db, 2, QueryRule.Skip)));
        Assert.Contains("label sets over 3 classes cannot be compared with label sets over 4 classes",
            Message(() => RetrievalMetrics.MeanAveragePrecision(new long[] { 0 }, 1, Sets(4, new[] { 0 }), db, 1, QueryRule.Skip)));
        // The last database index is inside; a row wider than R only reads its first R entries.
        Assert.Equal(1.0, RetrievalMetrics.MeanAveragePrecision(new long[] { 3, 1, 2 }, 3, q, db, 1, QueryRule.Skip).MeanAP);
        Assert.Equal(0.5, RetrievalMetrics.MeanAveragePrecision(new long[] { 1, 3, 2 }, 3, q, db, 2, QueryRule.Skip).MeanAP);
        // R above the database size is reduced to it (4), here the whole ranking: AP = (1/2 + 2/4) / 2.
        MapResult all = RetrievalMetrics.MeanAveragePrecision(new long[] { 1, 0, 2, 3 }, 4, q, db, 99, QueryRule.Zero);
        Assert.Equal((0.5, 4), (all.MeanAP, all.R));
    }

    [Fact]
    public void PrecisionAtKChecksEveryKAndHandlesNoQueries()
    {
        LabelSets db = Sets(3, new[] { 0 }, new[] { 1 }, new[] { 2 }, new[] { 0 });
        LabelSets q = Sets(3, new[] { 0 }, new[] { 2 });
        long[] ranked = { 1, 3, 0, 2, 2, 0, 1, 3 };
        // query 0 relevance 0 1 1 0; query 1 relevance 1 0 0 0
        double[] p = RetrievalMetrics.PrecisionAtK(ranked, 4, q, db, new[] { 1, 2, 3, 4 });
        Assert.Equal(new[] { (0 + 1.0) / 2, (0.5 + 0.5) / 2, (2.0 / 3 + 1.0 / 3) / 2, (0.5 + 0.25) / 2 }, p);
        Assert.Contains("precision@k: k = 5 must be in [1, 4]", Message(() => RetrievalMetrics.PrecisionAtK(ranked, 4, q, db, new[] { 1, 5 })));
        Assert.Contains("precision@k: k = 0 must be in [1, 4]", Message(() => RetrievalMetrics.PrecisionAtK(ranked, 4, q, db, new[] { 0 })));
        Assert.Throws<ArgumentNullException>(() => RetrievalMetrics.PrecisionAtK(ranked, 4, q, db, null!));
        Assert.Equal(new[] { 0.0 }, RetrievalMetrics.PrecisionAtK(Array.Empty<long>(), 4, Sets(3), db, new[] { 2 }));
        Assert.Empty(RetrievalMetrics.PrecisionAtK(ranked, 4, q, db, Array.Empty<int>()));
        // The fused form ranks to depth max(k) itself.
        var index = new HammingIndex(Bytes8(0x03, 0x01, 0x07, 0x00), 1);
        BinaryCodes one = Bytes8(0x00);
        // ranking 3 (d0), 1 (d1), 0 (d2), 2 (d3); label {0}: relevance 1 0 1 0
        Assert.Equal(new[] { 1.0, 0.5, 0.5 }, RetrievalMetrics.PrecisionAtK(index, one, Sets(3, new[] { 0 }), db, new[] { 1, 4, 2 }));
        Assert.Empty(RetrievalMetrics.PrecisionAtK(index, one, Sets(3, new[] { 0 }), db, Array.Empty<int>()));
        Assert.Contains("precision@k: k = 5 must be in [1, 4] (the database size)",
            Message(() => RetrievalMetrics.PrecisionAtK(index, one, Sets(3, new[] { 0 }), db, new[] { 5 })));
        Assert.Contains("k = 0 must be in [1, 4]", Message(() => RetrievalMetrics.PrecisionAtK(index, one, Sets(3, new[] { 0 }), db, new[] { 0 })));
        Assert.Throws<ArgumentNullException>(() => RetrievalMetrics.PrecisionAtK(index, one, Sets(3, new[] { 0 }), db, null!));
    }

    [Fact]
    public void FusedMetricsCheckTheirInputsAndHandleNoQueries()
    {
        var index = new HammingIndex(Bytes8(0x03, 0x01, 0x07, 0x00), 1);
        LabelSets db = Sets(3, new[] { 0 }, new[] { 1 }, new[] { 2 }, new[] { 0 });
        BinaryCodes one = Bytes8(0x00);
        LabelSets q = Sets(3, new[] { 0 });
        Assert.Contains("1 query codes but 2 query label sets",
            Message(() => RetrievalMetrics.PrecisionWithinRadius(index, one, Sets(3, new[] { 0 }, new[] { 1 }), db)));
        Assert.Contains("4 database codes but 3 database label sets",
            Message(() => RetrievalMetrics.PrecisionRecallByRadius(index, one, q, db.Slice(0, 3))));
        Assert.Contains("label sets over 3 classes cannot be compared",
            Message(() => RetrievalMetrics.MeanAveragePrecision(index, one, Sets(2, new[] { 0 }), db, 1, QueryRule.Skip)));
        Assert.Contains("codes have 16 bits", Message(() => RetrievalMetrics.PrecisionWithinRadius(index, BinaryCodes.FromFaissBytes(new byte[2], 16), q, db)));
        Assert.Contains("Hamming radius -1: must be >= 0", Message(() => RetrievalMetrics.PrecisionWithinRadius(index, one, q, db, -1)));
        Assert.Throws<ArgumentNullException>(() => RetrievalMetrics.PrecisionWithinRadius(null!, one, q, db));
        Assert.Throws<ArgumentNullException>(() => RetrievalMetrics.PrecisionWithinRadius(index, null!, q, db));
        Assert.Throws<ArgumentNullException>(() => RetrievalMetrics.PrecisionWithinRadius(index, one, null!, db));
        Assert.Throws<ArgumentNullException>(() => RetrievalMetrics.PrecisionWithinRadius(index, one, q, null!));

        // Radius: distances 2, 1, 3, 0 (labels 0, 1, 2, 0). Radius 1 retrieves items 1 and 3 (1 relevant of 2); radius 3
        // everything (2 of 4).
        Assert.Equal(0.5, RetrievalMetrics.PrecisionWithinRadius(index, one, q, db, 1).Precision);
        Assert.Equal(2.0 / 3, RetrievalMetrics.PrecisionWithinRadius(index, one, q, db, 2).Precision, 12);
        Assert.Equal(0.5, RetrievalMetrics.PrecisionWithinRadius(index, one, q, db, 3).Precision);
        Assert.Equal(50.0, RetrievalMetrics.PrecisionWithinRadius(index, one, q, db, 1).Percent);

        // No queries at all: every mean is 0 and nothing is counted.
        BinaryCodes none = BinaryCodes.FromFaissBytes(Array.Empty<byte>(), 8);
        LabelSets noLabels = Sets(3);
        RadiusPrecision rp = RetrievalMetrics.PrecisionWithinRadius(index, none, noLabels, db);
        Assert.Equal((0.0, 0, 0), (rp.Precision, rp.QueriesTotal, rp.QueriesWithinRadius));
        PrecisionRecallCurve c = RetrievalMetrics.PrecisionRecallByRadius(index, none, noLabels, db);
        Assert.Equal(9, c.Precision.Count);
        Assert.All(c.Precision, v => Assert.Equal(0.0, v));
        Assert.All(c.Recall, v => Assert.Equal(0.0, v));
        Assert.Equal((0, 0), (c.QueriesTotal, c.QueriesWithRelevant));
        MapResult m = RetrievalMetrics.MeanAveragePrecision(index, none, noLabels, db, 2, QueryRule.Zero);
        Assert.Equal((0.0, 0, 0, 2), (m.MeanAP, m.QueriesCounted, m.QueriesTotal, m.R));

        // A query whose label no database item has: recall 0 at every radius, not counted as having a relevant item.
        PrecisionRecallCurve lone = RetrievalMetrics.PrecisionRecallByRadius(index, Bytes8(0x00, 0x00), Sets(3, new[] { 0 }, Array.Empty<int>()), db);
        Assert.Equal(2, lone.QueriesTotal);
        Assert.Equal(1, lone.QueriesWithRelevant);
        Assert.Equal(new[] { 0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 }, lone.Recall);
        Assert.Equal(8, lone.MaxRadius);
    }

    [Fact]
    public void MetricsOfManyQueriesAndMultiWordLabelsMatchTheReferenceWithAnyDegree()
    {
        // More than one block of 64 queries for the curve, more than 64 classes (two label words) and one-word labels.
        foreach (int classes in new[] { 5, 70 })
        {
            var rng = new Random(classes);
            BinaryCodes db = BinaryCodes.Random(200, 16, rng);
            BinaryCodes queries = BinaryCodes.Random(130, 16, rng);
            LabelSets dbLabels = LabelSets.FromClassIndices(Enumerable.Range(0, 200).Select(_ => rng.Next(classes)).ToArray(), classes);
            LabelSets qLabels = LabelSets.FromClassIndices(Enumerable.Range(0, 130).Select(_ => rng.Next(classes)).ToArray(), classes);
            (double[] pr, double[] rc) = ReferenceRetrieval.PrecisionRecallByRadius(db, queries, qLabels, dbLabels);
            long[] ranked = ReferenceRetrieval.Search(db, queries, 200);
            MapResult expected = ReferenceRetrieval.MeanAveragePrecision(ranked, 200, qLabels, dbLabels, 40, QueryRule.Zero);
            foreach (int dop in new[] { 1, 2, 3 })
            {
                var index = new HammingIndex(db, dop);
                PrecisionRecallCurve c = RetrievalMetrics.PrecisionRecallByRadius(index, queries, qLabels, dbLabels);
                for (int d = 0; d <= 16; d++)
                {
                    Assert.Equal(pr[d], c.Precision[d], 12);
                    Assert.Equal(rc[d], c.Recall[d], 12);
                }
                Assert.Equal(130, c.QueriesTotal);
                int withRelevant = Enumerable.Range(0, 130).Count(i => Enumerable.Range(0, 200).Any(j => qLabels.SharesAny(i, dbLabels, j)));
                Assert.Equal(withRelevant, c.QueriesWithRelevant);
                MapResult got = RetrievalMetrics.MeanAveragePrecision(index, queries, qLabels, dbLabels, 40, QueryRule.Zero);
                Assert.Equal(expected.MeanAP, got.MeanAP, 12);
                Assert.Equal(expected.AveragePrecisions.Select(a => double.IsNaN(a) ? -1 : a), got.AveragePrecisions.Select(a => double.IsNaN(a) ? -1 : a));
                RadiusPrecision rp = RetrievalMetrics.PrecisionWithinRadius(index, queries, qLabels, dbLabels, 3);
                Assert.Equal(ReferenceRetrieval.PrecisionWithinRadius(db, queries, qLabels, dbLabels, 3), rp.Precision, 12);
                int within = Enumerable.Range(0, 130).Count(i => Enumerable.Range(0, 200).Any(j => ReferenceRetrieval.Distance(queries, i, db, j) <= 3));
                Assert.Equal(within, rp.QueriesWithinRadius);
            }
        }
    }

    [Fact]
    public void MapResultTextAndRuleSwitch()
    {
        var aps = new[] { 0.5, double.NaN, 1.0 };
        MapResult skip = MapResult.FromAveragePrecisions(aps, 10, QueryRule.Skip);
        Assert.Equal((0.75, 2, 3, 2), (skip.MeanAP, skip.QueriesCounted, skip.QueriesTotal, skip.QueriesWithRelevant));
        Assert.Equal($"mAP@10 = {75.0:F2}% (Skip: 2 of 3 queries counted, 2 with a relevant item)", skip.ToString());
        Assert.Same(skip, skip.Under(QueryRule.Skip));
        MapResult zero = skip.Under(QueryRule.Zero);
        Assert.Equal((0.5, 3, QueryRule.Zero, 10), (zero.MeanAP, zero.QueriesCounted, zero.Rule, zero.R));
        Assert.Equal(50.0, zero.Percent);
        MapResult fromList = new MapResult(0, 0, 3, 2, 10, QueryRule.Zero, new List<double>(aps)).Under(QueryRule.Skip);
        Assert.Equal(0.75, fromList.MeanAP);
    }

    [Fact]
    public void LabelSetsLimitsAndMessages()
    {
        LabelSets s = Sets(70, new[] { 0, 69 }, new[] { 64 }, Array.Empty<int>());
        Assert.Equal(2, s.WordsPerItem);
        Assert.Equal(1, Sets(64, new[] { 63 }).WordsPerItem);
        Assert.Equal(2, Sets(65, new[] { 64 }).WordsPerItem);
        Assert.Equal(new ulong[] { 1UL, 1UL << 5 }, s.Get(0).ToArray());
        Assert.Contains("item must be in [0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => s.Get(3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Get(-1));
        Assert.True(s.Has(0, 69));
        Assert.True(s.Has(1, 64));
        Assert.False(s.Has(1, 0));
        Assert.False(s.Has(2, 69));
        Assert.Contains("class must be in [0, 70)", Assert.Throws<ArgumentOutOfRangeException>(() => s.Has(0, 70)).Message);
        Assert.Contains("item must be in [0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => s.Has(3, 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Has(0, -1));
        Assert.Equal(new[] { 2, 1, 0 }, Enumerable.Range(0, 3).Select(s.CountLabels));
        // Relevance in the second word only, and a set sharing nothing.
        LabelSets o = Sets(70, new[] { 64 }, new[] { 1 });
        Assert.True(s.SharesAny(1, o, 0));
        Assert.False(s.SharesAny(0, o, 0));
        Assert.False(s.SharesAny(0, o, 1));
        Assert.Contains("label sets over 3 classes cannot be compared with label sets over 70 classes", Message(() => s.SharesAny(0, Sets(3, new[] { 1 }), 0)));
        Assert.Throws<ArgumentNullException>(() => s.SharesAny(0, null!, 0));
        // Slices at both ends.
        Assert.Equal(0, s.Slice(3, 0).Count);
        Assert.Equal(new ulong[] { 0, 1UL }, s.Slice(1, 1).Masks.ToArray());
        Assert.Equal(s.Masks.ToArray(), s.Slice(0, 3).Masks.ToArray());
        Assert.Contains("slice [2, 2+2) is outside [0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => s.Slice(2, 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Slice(-1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Slice(0, -1));
        // Factories: shapes and values named in the messages.
        Assert.Contains("number of classes 0: must be at least 1", Message(() => LabelSets.FromMultiHot(new byte[2], 0)));
        Assert.Contains("number of classes 0", Message(() => LabelSets.FromMultiHot(new float[2], 0)));
        Assert.Contains("number of classes 0", Message(() => LabelSets.FromClassIndices(new[] { 0 }, 0)));
        Assert.Contains("5 multi-hot values is not a whole number of rows of 2", Message(() => LabelSets.FromMultiHot(new byte[5], 2)));
        Assert.Contains("5 multi-hot values is not a whole number of rows of 2", Message(() => LabelSets.FromMultiHot(new float[5], 2)));
        Assert.Contains("multi-hot label of item 1, class 0 is 3, not 0 or 1", Message(() => LabelSets.FromMultiHot(new byte[] { 1, 0, 3, 0 }, 2)));
        Assert.Contains("multi-hot label of item 1, class 1 is 0.5, not 0 or 1", Message(() => LabelSets.FromMultiHot(new[] { 1f, 0f, 0f, 0.5f }, 2)));
        Assert.Contains("label of item 1 is -1, outside [0, 3)", Message(() => LabelSets.FromClassIndices(new[] { 0, -1 }, 3)));
        Assert.Contains("label of item 0 is 3, outside [0, 3)", Message(() => LabelSets.FromSets(new[] { (IReadOnlyCollection<int>)new[] { 3 } }, 3)));
        Assert.Contains("item count", Message(() => LabelSets.FromBitmasks(Array.Empty<ulong>(), -1, 3)));
        Assert.Contains("3 mask words given for 2 items of 70 classes (2 words each)", Message(() => LabelSets.FromBitmasks(new ulong[3], 2, 70)));
        Assert.Contains("label mask of item 1 has bits set at or above class 70",
            Message(() => LabelSets.FromBitmasks(new ulong[] { 0, 1UL << 5, 0, 1UL << 6 }, 2, 70)));
        Assert.Equal(new[] { 1, 64 }, new[] { 0, 1 }.Select(LabelSets.FromBitmasks(new ulong[] { 0, 1UL << 5, ulong.MaxValue, 0 }, 2, 70).CountLabels));
        Assert.Equal(64, LabelSets.FromBitmasks(new[] { ulong.MaxValue }, 1, 64).CountLabels(0));
        Assert.Contains("target class 3 is outside [0, 3)", Message(() => LabelSets.Repeat(3, 2, 3)));
        Assert.Throws<UsageException>(() => LabelSets.Repeat(-1, 2, 3));
        LabelSets rep = LabelSets.Repeat(66, 2, 70);
        Assert.Equal(new ulong[] { 0, 4, 0, 4 }, rep.Masks.ToArray());
        Assert.Equal(new ulong[] { 1UL << 2 }, LabelSets.FromMultiHot(new float[] { 0, 0, 1 }, 3).Masks.ToArray());
        // Multi-hot over two words: class 66 of item 1.
        var hot = new byte[2 * 70];
        hot[66 + 70] = 1;
        hot[3] = 1;
        Assert.Equal(new ulong[] { 8, 0, 0, 4 }, LabelSets.FromMultiHot(hot, 70).Masks.ToArray());
        Assert.Equal(new ulong[] { 0, 4 }, LabelSets.FromClassIndices(new[] { 66 }, 70).Masks.ToArray());
    }

    [Fact]
    public void LabelSetsFromEveryNpyDtype()
    {
        using var dir = new TempDir();
        NpyArray Save(string name, Action<string> write) { string p = dir.File(name); write(p); return NpyFile.Read(p); }
        ulong[] want = { 0b101UL, 0b010UL };
        Assert.Equal(want, LabelSets.FromNpy(Save("u1.npy", p => NpyFile.Write(p, new byte[] { 1, 0, 1, 0, 1, 0 }, 2, 3))).Masks.ToArray());
        Assert.Equal(want, LabelSets.FromNpy(Save("f8.npy", p => NpyFile.Write(p, new double[] { 1, 0, 1, 0, 1, 0 }, 2, 3))).Masks.ToArray());
        Assert.Equal(want, LabelSets.FromNpy(Save("i4.npy", p => NpyFile.Write(p, new[] { 1, 0, 1, 0, 1, 0 }, 2, 3))).Masks.ToArray());
        Assert.Equal(want, LabelSets.FromNpy(Save("i8.npy", p => NpyFile.Write(p, new long[] { 1, 0, 1, 0, 1, 0 }, 2, 3)), 3).Masks.ToArray());
        // Values other than 0/1 in each dtype are data errors naming the file.
        foreach ((string name, Action<string> write) in new (string, Action<string>)[]
        {
            ("badf8.npy", p => NpyFile.Write(p, new double[] { 1, 0, 1 + 1e-12 }, 1, 3)),
            ("badi4.npy", p => NpyFile.Write(p, new[] { 1, 0, -1 }, 1, 3)),
            ("badi8.npy", p => NpyFile.Write(p, new long[] { 1, 0, 1L << 32 }, 1, 3)),
            ("badi8b.npy", p => NpyFile.Write(p, new long[] { 1, 0, 2 }, 1, 3)),
            ("badu1.npy", p => NpyFile.Write(p, new byte[] { 1, 0, 2 }, 1, 3)),
        })
        {
            var e = Assert.Throws<DataException>(() => LabelSets.FromNpy(Save(name, write)));
            Assert.Equal(dir.File(name), e.Path);
            Assert.Contains("multi-hot label of item 0, class 2", e.Problem);
        }
        Assert.Contains("multi-hot labels have 3 classes but 4 were expected", Assert.Throws<DataException>(() => LabelSets.FromNpy(Save("u1.npy", p => { }), 4)).Problem);
        Assert.Contains("multi-hot labels need at least one class column",
            Assert.Throws<DataException>(() => LabelSets.FromNpy(Save("zero.npy", p => NpyFile.Write(p, Array.Empty<byte>(), 2, 0)))).Problem);
        Assert.Equal(new ulong[] { 1, 2 }, LabelSets.FromNpy(Save("b1.npy", p => NpyFile.WriteBool(p, new byte[] { 1, 0, 0, 1 }, 2, 2))).Masks.ToArray());
        Assert.Contains("1-D labels must be int32 or int64 class indices, found |b1",
            Assert.Throws<DataException>(() => LabelSets.FromNpy(Save("b1d.npy", p => NpyFile.WriteBool(p, new byte[] { 1 }, 1)))).Problem);
        Assert.Contains("1-D labels must be int32 or int64 class indices, found <f4",
            Assert.Throws<DataException>(() => LabelSets.FromNpy(Save("f4.npy", p => NpyFile.Write(p, new float[] { 1 }, 1)))).Problem);
        // 1-D indices: int32 and int64, classes from the data (max + 1) or given; too large an int64 is a data error.
        LabelSets i4 = LabelSets.FromNpy(Save("c4.npy", p => NpyFile.Write(p, new[] { 0, 2 }, 2)));
        Assert.Equal((3, 2), (i4.Classes, i4.Count));
        Assert.Equal(new ulong[] { 1, 4 }, i4.Masks.ToArray());
        Assert.Equal(5, LabelSets.FromNpy(Save("c4.npy", p => { }), 5).Classes);
        Assert.Contains("label of item 1 is -1", Assert.Throws<DataException>(() => LabelSets.FromNpy(Save("c8.npy", p => NpyFile.Write(p, new[] { 0L, (long)int.MaxValue + 1 }, 2)), 3)).Problem);
        Assert.Contains("label of item 0 is -1", Assert.Throws<DataException>(() => LabelSets.FromNpy(Save("c8m.npy", p => NpyFile.Write(p, new[] { (long)int.MinValue - 1 }, 1)), 3)).Problem);
        Assert.Equal(new ulong[] { 2 }, LabelSets.FromNpy(Save("c8o.npy", p => NpyFile.Write(p, new[] { 1L }, 1))).Masks.ToArray());
        LabelSets empty = LabelSets.FromNpy(Save("e.npy", p => NpyFile.Write(p, Array.Empty<int>(), 0)));
        Assert.Equal((1, 0), (empty.Classes, empty.Count));
        Assert.Throws<ArgumentNullException>(() => LabelSets.FromNpy(null!));
    }

    [Fact]
    public void NpyHeadersOfEveryVersionByteOrderAndDtype()
    {
        using var dir = new TempDir();
        string Put(string name, byte[] bytes) { string p = dir.File(name); File.WriteAllBytes(p, bytes); return p; }
        byte[] two = BitConverter.GetBytes(2.5).Concat(BitConverter.GetBytes(-1.0)).ToArray();
        // version 3.0: the header is UTF-8 (here with a non-ASCII byte in padding-free text is not allowed by numpy,
        // so only the version is new); '=' is native order; a big-endian or order-less one-byte type is fine.
        Assert.Equal(new[] { 2.5, -1.0 }, NpyFile.Read(Put("v3.npy", Npy("{'descr': '=f8', 'fortran_order': False, 'shape': (2,), }", two, 3))).AsFloat64());
        Assert.Equal(new byte[] { 7 }, NpyFile.Read(Put("u1big.npy", Npy("{'descr': '>u1', 'fortran_order': False, 'shape': (1,), }", new byte[] { 7 }))).AsBytes());
        Assert.Equal(NpyDType.Bool, NpyFile.Read(Put("b1.npy", Npy("{'descr': '<b1', 'fortran_order': False, 'shape': (1,), }", new byte[] { 1 }))).DType);
        Assert.Equal(new[] { 5 }, NpyFile.Read(Put("i4.npy", Npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", BitConverter.GetBytes(5)))).AsInt32());
        Assert.Contains("dtype '|f8' has no byte order; expected '<f8'", ReadProblem(Put("nob.npy", Npy("{'descr': '|f8', 'fortran_order': False, 'shape': (2,), }", two))));
        Assert.Contains("dtype '>i8' is big-endian; only little-endian data is supported", ReadProblem(Put("big.npy", Npy("{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", two))));
        Assert.Contains("unsupported dtype '<f8x' (supported: |u1 |b1 <i4 <i8 <f4 <f8)", ReadProblem(Put("x.npy", Npy("{'descr': '<f8x', 'fortran_order': False, 'shape': (2,), }", two))));
        Assert.Contains("unsupported dtype '!f8'", ReadProblem(Put("bang.npy", Npy("{'descr': '!f8', 'fortran_order': False, 'shape': (2,), }", two))));
        Assert.Contains("unsupported .npy format version 1.1 (1.0, 2.0 and 3.0 are read)", ReadProblem(Put("v11.npy", Patch(Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", new byte[1]), 7, 1))));
        Assert.Contains("unsupported .npy format version 0.0", ReadProblem(Put("v0.npy", Patch(Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", new byte[1]), 6, 0))));
        Assert.Contains("truncated: 11 bytes is too short for a version 2 preamble",
            ReadProblem(Put("p2.npy", new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0, 0, 0, 0 })));
        Assert.Contains("truncated: 9 bytes is too short for a .npy preamble",
            ReadProblem(Put("p1.npy", new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 0 })));
        Assert.Contains("not a .npy file (bad magic bytes)", ReadProblem(Put("m5.npy", new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P' })));
        // The exact sizes in the messages: a header that claims more than the file, data one element short or long.
        byte[] full = Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", two);
        Assert.Contains("truncated: shape (2,) of <i8 needs 16 data bytes but the file has 15", ReadProblem(Put("t.npy", full[..^1])));
        Assert.Contains("shape (2,) of <i8 needs 16 data bytes but the file has 17 (trailing bytes)", ReadProblem(Put("tr.npy", full.Append((byte)0).ToArray())));
        Assert.Contains("truncated: header says 118 header bytes but the file has 100 bytes in all", ReadProblem(Put("h.npy", full[..100])));
        Assert.Contains("shape (3, 4, 5): only 1-D and 2-D arrays are supported", ReadProblem(Put("r3.npy", Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,4,5), }", new byte[480]))));
        Assert.Contains("shape (3000000000,) has more elements than one array can hold",
            ReadProblem(Put("huge.npy", Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3000000000,), }", Array.Empty<byte>())), 3_000_000_000));
        // Exactly the data bytes of an empty array: fine.
        Assert.Equal(new[] { 0, 3 }, NpyFile.Read(Put("e.npy", Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", Array.Empty<byte>()))).Shape);
        Assert.Equal("|u1 |b1 <i4 <i8 <f4 <f8", string.Join(" ", Enum.GetValues<NpyDType>().Select(NpyFile.Descr)));
        Assert.Equal(new[] { 1, 1, 4, 8, 4, 8 }, Enum.GetValues<NpyDType>().Select(NpyFile.ItemSize));
        Assert.Throws<ArgumentOutOfRangeException>(() => NpyFile.ItemSize((NpyDType)99));
        Assert.Throws<ArgumentOutOfRangeException>(() => NpyFile.Descr((NpyDType)99));
    }

    [Fact]
    public void NpyHeaderParserNamesWhatIsWrong()
    {
        using var dir = new TempDir();
        string Bad(string header) => ReadProblem(WriteFile(dir, Npy(header, new byte[1])));
        Assert.Contains("malformed .npy header (unexpected or repeated key 'descr')", Bad("{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (1,)}"));
        Assert.Contains("unexpected or repeated key 'fortran_order'", Bad("{'descr': '|u1', 'fortran_order': False, 'fortran_order': False, 'shape': (1,)}"));
        Assert.Contains("unexpected or repeated key 'shape'", Bad("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}"));
        Assert.Contains("unexpected text after the dictionary", Bad("{'descr': '|u1', 'fortran_order': False, 'shape': (1,)} x"));
        Assert.Contains("the keys descr, fortran_order and shape are all required", Bad("{'descr': '|u1', 'shape': (1,)}"));
        Assert.Contains("the keys descr, fortran_order and shape are all required", Bad("{'fortran_order': False, 'shape': (1,)}"));
        Assert.Contains("the keys descr, fortran_order and shape are all required", Bad("{'descr': '|u1', 'fortran_order': False}"));
        // Offsets point at the offending character.
        void At(string what, string header, string marker) =>
            Assert.Contains($"{what} at offset {header.IndexOf(marker, StringComparison.Ordinal)}", Bad(header));
        At("expected '{'", "['descr']", "[");
        At("expected ':'", "{'descr' '|u1'}", "'|");
        At("expected '}'", "{'descr': '|u1' 'shape': (1,)}", "'shape");
        At("expected a quoted string", "{descr: '|u1'}", "descr");
        Assert.Contains("expected a quoted string at offset", Bad("{"));
        Assert.Contains("escapes in strings are not supported", Bad("{'de\\scr': '|u1'}"));
        Assert.Contains("unterminated string", Bad("{'descr"));
        At("expected True or False", "{'descr': '|u1', 'fortran_order': 0, 'shape': (1,)}", "0,");
        At("expected True or False", "{'descr': '|u1', 'fortran_order': Tru", "Tru");
        At("expected a non-negative integer dimension", "{'descr': '|u1', 'fortran_order': False, 'shape': (x,)}", "x,");
        At("expected ')'", "{'descr': '|u1', 'fortran_order': False, 'shape': (1 2)}", "2)");
        At("expected '('", "{'descr': '|u1', 'fortran_order': False, 'shape': [1]}", "[");
        // Whitespace of every kind between tokens, double quotes and an empty dictionary-free trailing comma are fine.
        string ok = WriteFile(dir, Npy("{\t\"descr\"\r:\n'|u1' ,\t'fortran_order' :False,'shape':( 1 , ) , }", new byte[] { 9 }));
        Assert.Equal(new byte[] { 9 }, NpyFile.Read(ok).AsBytes());
        // A long malformed header is shortened to 120 characters in the message.
        string longKey = new string('k', 200);
        string problem = Bad("{'" + longKey + "': 1}");
        Assert.EndsWith(": {'" + new string('k', 118) + "...", problem);
        Assert.EndsWith("1}", Bad("{'descr': '|u1', 'fortran_order': False, 'shape': (1,)} 1}"));
        // A dimension of more than 18 digits is impossibly large, not a parse failure.
        Assert.Contains("truncated: shape (9223372036854775807,)", Bad("{'descr': '|u1', 'fortran_order': False, 'shape': (12345678901234567890,)}"));
        Assert.Contains("truncated: shape (123456789012345678,)", Bad("{'descr': '|u1', 'fortran_order': False, 'shape': (123456789012345678,)}"));
    }

    [Fact]
    public void NpyWritingChecksShapesAndPadsHeadersTo64Bytes()
    {
        using var dir = new TempDir();
        Assert.Contains("shape (): only 1-D and 2-D arrays are written", Message(() => NpyFile.Write(dir.File("a.npy"), Array.Empty<byte>())));
        Assert.Contains("shape (1, 1, 1): only 1-D and 2-D arrays are written", Message(() => NpyFile.Write(dir.File("a.npy"), new byte[1], 1, 1, 1)));
        Assert.Contains("shape (-1, -2): negative dimension", Message(() => NpyFile.Write(dir.File("a.npy"), new byte[2], -1, -2)));
        Assert.Contains("shape (2, 3) holds 6 elements but 5 were given", Message(() => NpyFile.Write(dir.File("a.npy"), new float[5], 2, 3)));
        Assert.Contains("bool array element 1 is 2, not 0 or 1", Message(() => NpyFile.WriteBool(dir.File("a.npy"), new byte[] { 1, 2, 0 }, 3)));
        Assert.False(File.Exists(dir.File("a.npy")));
        // Headers of any length end at a multiple of 64 bytes with a newline, the length stored in two bytes.
        foreach ((int[] shape, double[] data) in new[] { (new[] { 1, 1 }, new double[1]), (new[] { 0, 12345678 }, Array.Empty<double>()), (new[] { 3 }, new double[3]) })
        {
            string p = dir.File($"r{shape.Length}{data.Length}.npy");
            NpyFile.Write(p, data, shape);
            byte[] raw = File.ReadAllBytes(p);
            int hlen = raw[8] | (raw[9] << 8);
            Assert.Equal(0, (10 + hlen) % 64);
            Assert.Equal(raw.Length - 8 * data.Length, 10 + hlen);
            Assert.Equal((byte)'\n', raw[9 + hlen]);
            Assert.Equal((1, 0), (raw[6], raw[7]));
            Assert.Equal(shape, NpyFile.Read(p).Shape);
        }
        // A long header (many digits) still fits: 2-D shape with large dimensions and no data.
        NpyFile.Write(dir.File("big.npy"), Array.Empty<long>(), 0, 2_000_000_000);
        Assert.Equal(new[] { 0, 2_000_000_000 }, NpyFile.Read(dir.File("big.npy")).Shape);
        Assert.Throws<ArgumentNullException>(() => NpyFile.Write(null!, new byte[1], 1));
        Assert.Throws<ArgumentNullException>(() => NpyFile.Write(dir.File("n.npy"), (byte[])null!, 1));
        Assert.Throws<ArgumentNullException>(() => NpyFile.WriteBool(dir.File("n.npy"), null!, 1));
        Assert.Throws<ArgumentNullException>(() => NpyFile.Write(dir.File("n.npy"), new byte[1], null!));
        Assert.Throws<ArgumentNullException>(() => NpyFile.Read(null!));
    }

    [Fact]
    public void NpyArrayAccessorsNameTheWantedDtype()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("f.npy"), new float[] { 1, 2, 3 }, 3);
        NpyArray a = NpyFile.Read(dir.File("f.npy"));
        Assert.Equal((3, 1, 1), (a.Rows, a.Columns, a.Rank));
        Assert.Equal(dir.File("f.npy"), a.Path);
        Assert.IsType<float[]>(a.Data);
        Assert.Contains("expected dtype uint8 or bool, found <f4", Assert.Throws<DataException>(() => a.AsBytes()).Problem);
        Assert.Contains("expected dtype int32 (<i4), found <f4", Assert.Throws<DataException>(() => a.AsInt32()).Problem);
        Assert.Contains("expected dtype int64 (<i8), found <f4", Assert.Throws<DataException>(() => a.AsInt64()).Problem);
        Assert.Contains("expected dtype float64 (<f8), found <f4", Assert.Throws<DataException>(() => a.AsFloat64()).Problem);
        Assert.Contains("expected a 2-D array, found shape (3,)", Assert.Throws<DataException>(() => a.Require2D()).Problem);
        NpyFile.Write(dir.File("i.npy"), new long[] { 1, 2 }, 1, 2);
        NpyArray b = NpyFile.Read(dir.File("i.npy"));
        Assert.Same(b, b.Require2D());
        Assert.Equal((1, 2, 2), (b.Rows, b.Columns, b.Rank));
        Assert.Contains("expected dtype float32 (<f4), found <i8", Assert.Throws<DataException>(() => b.AsFloat32()).Problem);
        Assert.Contains("expected dtype uint8 (|u1), found <i8", Assert.Throws<DataException>(() => NpyFile.ReadUInt8Matrix(dir.File("i.npy"), out _, out _)).Problem);
        NpyFile.Write(dir.File("u.npy"), new byte[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, NpyFile.ReadUInt8Matrix(dir.File("u.npy"), out int rows, out int cols));
        Assert.Equal((3, 2), (rows, cols));
        Assert.Contains("file not found", Assert.Throws<DataException>(() => NpyFile.Read(dir.File("no/such.npy"))).Problem);
        // A directory is not a file: a data error too, never an unhandled exception.
        Assert.IsType<DataException>(Assert.ThrowsAny<Exception>(() => NpyFile.Read(dir.Path)));
    }

    [Fact]
    public void CodeFilesAreCheckedBeforeSearching()
    {
        using var dir = new TempDir();
        string db = dir.File("db.npy"), q = dir.File("q.npy"), outp = dir.File("top.npy");
        NpyFile.Write(db, new byte[] { 0x00, 0x0F, 0xFF }, 3, 1);
        NpyFile.Write(q, new byte[] { 0xFF }, 1, 1);
        Assert.Contains("topR 0: must be at least 1", Message(() => HammingSearch.SearchFiles(db, q, 0, outp)));
        Assert.Contains("degreeOfParallelism -1: must be >= 0 (0 = all cores)", Message(() => HammingSearch.SearchFiles(db, q, 1, outp, -1)));
        Assert.Throws<ArgumentNullException>(() => HammingSearch.SearchFiles(null!, q, 1, outp));
        Assert.Throws<ArgumentNullException>(() => HammingSearch.SearchFiles(db, null!, 1, outp));
        Assert.Throws<ArgumentNullException>(() => HammingSearch.SearchFiles(db, q, 1, null!));
        Assert.Throws<ArgumentNullException>(() => HammingSearch.WriteCodes(outp, null!));
        // R above N is reduced; the summary and the file agree with a hand ranking (distances 8, 4, 0).
        HammingSearch.Summary s = HammingSearch.SearchFiles(db, q, 10, outp, 1);
        Assert.Equal(new HammingSearch.Summary(3, 1, 8, 3), s);
        Assert.Equal(new long[] { 2, 1, 0 }, NpyFile.Read(outp).AsInt64());
        Assert.Equal(new[] { 1, 3 }, NpyFile.Read(outp).Shape);
        Assert.Equal(new long[] { 2 }, NpyFile.Read(outp).AsInt64().Take(1));
        HammingSearch.SearchFiles(db, q, 1, outp);
        Assert.Equal(new long[] { 2 }, NpyFile.Read(outp).AsInt64());
        NpyFile.Write(db, Array.Empty<byte>(), 3, 0);
        Assert.Contains("codes array has shape (3, 0): at least one byte per code is needed", Assert.Throws<DataException>(() => HammingSearch.ReadCodes(db)).Problem);
        NpyFile.Write(db, new byte[8193], 1, 8193);
        Assert.Contains("codes of 65544 bits exceed the supported 65536", Assert.Throws<DataException>(() => HammingSearch.ReadCodes(db)).Problem);
        NpyFile.Write(db, new byte[8192], 1, 8192);
        Assert.Equal(65536, HammingSearch.ReadCodes(db).Bits);
        NpyFile.Write(db, Array.Empty<byte>(), 0, 1);
        Assert.Contains("the database holds no codes", Assert.Throws<DataException>(() => HammingSearch.SearchFiles(db, q, 1, outp)).Problem);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>A .npy file: magic, version, little-endian header length, header padded to 64 bytes, data.</summary>
    static byte[] Npy(string header, byte[] data, int major = 1)
    {
        int fixedLen = major == 1 ? 10 : 12;
        int total = fixedLen + header.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string h = header + new string(' ', padded - total) + "\n";
        var ms = new MemoryStream();
        ms.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 });
        if (major == 1) ms.Write(BitConverter.GetBytes((ushort)h.Length));
        else ms.Write(BitConverter.GetBytes((uint)h.Length));
        ms.Write(Encoding.UTF8.GetBytes(h));
        ms.Write(data);
        return ms.ToArray();
    }

    static byte[] Patch(byte[] bytes, int at, byte value)
    {
        var b = (byte[])bytes.Clone();
        b[at] = value;
        return b;
    }

    static string WriteFile(TempDir dir, byte[] bytes)
    {
        string p = dir.File("h" + Guid.NewGuid().ToString("N")[..8] + ".npy");
        File.WriteAllBytes(p, bytes);
        return p;
    }

    static string ReadProblem(string path, long sparseLength = 0)
    {
        if (sparseLength > 0)
        {
            // Extend the file (sparse) to the data size its header claims, so that only the element count can fail.
            using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            fs.SetLength(fs.Length + sparseLength);
        }
        var e = Assert.Throws<DataException>(() => NpyFile.Read(path));
        Assert.Equal(path, e.Path);
        return e.Problem;
    }
}
