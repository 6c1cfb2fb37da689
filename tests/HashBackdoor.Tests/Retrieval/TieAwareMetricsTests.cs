using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Retrieval;

/// <summary>Tie-aware metrics against hand-worked cases and against brute force: the mean over every ordering of the tied
/// database items, enumerated.</summary>
public class TieAwareMetricsTests
{
    const double Eps = 1e-9;

    static LabelSets Sets(int classes, params int[][] sets) =>
        LabelSets.FromSets(sets.Select(s => (IReadOnlyCollection<int>)s).ToArray(), classes);

    [Fact]
    public void HandWorkedFourTiedItemsTwoRelevantCutAtTwo()
    {
        // All four items at distance 0, two relevant, R = 2. Relevance patterns (6, equally likely):
        // RR.. AP 1; R.R. 1; R..R 1; .RR. 1/2; .R.R 1/2; ..RR no hit.
        var (ap, hit) = TieAwareMetrics.QueryExpectation(new[] { 4 }, new[] { 2 }, 2);
        Assert.Equal(4.0 / 6.0, ap, Eps);          // (1 + 1 + 1 + 1/2 + 1/2 + 0) / 6
        Assert.Equal(5.0 / 6.0, hit, Eps);
        // skip rule: E[AP | hit] = (4/6) / (5/6) = 4/5
        var m = TieAwareMap.From(new[] { ap }, new[] { hit }, 2, QueryRule.Skip, Dummy(1));
        Assert.Equal(0.8, m.MeanAP, Eps);
        Assert.Equal(5.0 / 6.0, m.ExpectedQueriesCounted, Eps);
        Assert.Equal(4.0 / 6.0, m.Under(QueryRule.Zero).MeanAP, Eps);
        // P@2: one relevant in expectation of the two slots -> 1/2; P@1 = 1/2
        Assert.Equal(1.0, TieAwareMetrics.ExpectedRelevantInTop(new[] { 4 }, new[] { 2 }, 2), Eps);
        Assert.Equal(0.5, TieAwareMetrics.ExpectedRelevantInTop(new[] { 4 }, new[] { 2 }, 1), Eps);
    }

    [Fact]
    public void HandWorkedTieBeforeTheCut()
    {
        // The five-item database of RetrievalMetricsTests: distances 0 (relevant), 1 (one relevant, one not),
        // 2 (not relevant), 3 (relevant). The tie at distance 1 is inside the cut for R = 3 and R = 5.
        int[] total = { 1, 2, 1, 1 }, relevant = { 1, 1, 0, 1 };
        // R = 3: [R, ., R] AP (1 + 2/3)/2 = 5/6; [R, R, .] AP 1 -> 11/12
        Assert.Equal(11.0 / 12.0, TieAwareMetrics.QueryExpectation(total, relevant, 3).ExpectedAp, Eps);
        // R = 5: (1 + 2/3 + 3/5)/3 = 34/45 and (1 + 1 + 3/5)/3 = 39/45 -> 73/90
        Assert.Equal(73.0 / 90.0, TieAwareMetrics.QueryExpectation(total, relevant, 5).ExpectedAp, Eps);
        // R = 2: the first relevant item is at rank 1 whatever the order, and the second is relevant or not:
        // [R, R] AP 1, [R, .] AP 1
        Assert.Equal((1.0, 1.0), TieAwareMetrics.QueryExpectation(total, relevant, 2));
        // No relevant item anywhere: AP 0, never a hit
        Assert.Equal((0.0, 0.0), TieAwareMetrics.QueryExpectation(new[] { 3, 2 }, new[] { 0, 0 }, 4));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void EqualsTheMeanOverEveryOrderingOfTiedItems(int seed)
    {
        var rng = new Random(seed);
        // 7 database items on 3 distinct 8-bit codes (heavy ties), 5 queries, 3 classes
        byte[] distinct = { (byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256) };
        int n = 7, q = 5, classes = 3;
        var dbBytes = Enumerable.Range(0, n).Select(_ => distinct[rng.Next(3)]).ToArray();
        var qBytes = Enumerable.Range(0, q).Select(_ => (byte)rng.Next(256)).ToArray();
        var dbLabels = Sets(classes, Enumerable.Range(0, n).Select(_ => new[] { rng.Next(classes) }).ToArray());
        var qLabels = Sets(classes, Enumerable.Range(0, q).Select(_ => new[] { rng.Next(classes) }).ToArray());
        var db = BinaryCodes.FromFaissBytes(dbBytes, 8);
        var queries = BinaryCodes.FromFaissBytes(qBytes, 8);
        var index = new HammingIndex(db);

        foreach (int r in new[] { 1, 2, 3, 5, 7, 9 })
        {
            var tie = TieAwareMetrics.MeanAveragePrecision(index, queries, qLabels, dbLabels, r, QueryRule.Skip);
            int rEff = Math.Min(r, n);
            double sumAp = 0, sumHit = 0;
            var ks = new[] { 1, 3, 6 };
            var precisionSums = new double[ks.Length];
            for (int i = 0; i < q; i++)
            {
                int[] dist = index.Distances(queries, i);
                bool[] rel = Enumerable.Range(0, n).Select(j => qLabels.SharesAny(i, dbLabels, j)).ToArray();
                var (meanAp, meanHit, meanPrecision) = BruteForce(dist, rel, rEff, ks);
                Assert.Equal(meanAp, tie.ExpectedAveragePrecisions[i], Eps);
                Assert.Equal(meanHit, tie.HitProbabilities[i], Eps);
                sumAp += meanAp;
                sumHit += meanHit;
                for (int m = 0; m < ks.Length; m++) precisionSums[m] += meanPrecision[m];
            }
            Assert.Equal(sumHit == 0 ? 0 : sumAp / sumHit, tie.MeanAP, Eps);
            Assert.Equal(sumHit, tie.ExpectedQueriesCounted, Eps);
            Assert.Equal(sumAp / q, tie.Under(QueryRule.Zero).MeanAP, Eps);
            double[] p = TieAwareMetrics.PrecisionAtK(index, queries, qLabels, dbLabels, ks);
            for (int m = 0; m < ks.Length; m++) Assert.Equal(precisionSums[m] / q, p[m], Eps);
        }
    }

    /// <summary>The same brute force on wide codes and label sets (several 64-bit words each, multi-label items), the
    /// histogram pass's general path.</summary>
    [Theory]
    [InlineData(136, 70, 9)]
    [InlineData(64, 3, 10)]
    public void WideCodesAndMultiLabelSetsEqualTheMeanOverEveryOrdering(int bits, int classes, int n)
    {
        var rng = new Random(bits + classes);
        int bytes = bits / 8, q = 4;
        var distinct = Enumerable.Range(0, 3).Select(_ => { var b = new byte[bytes]; rng.NextBytes(b); return b; }).ToArray();
        var dbBytes = Enumerable.Range(0, n).SelectMany(_ => distinct[rng.Next(3)]).ToArray();
        var qBytes = new byte[q * bytes];
        rng.NextBytes(qBytes);
        int[] Set() => Enumerable.Range(0, 1 + rng.Next(3)).Select(_ => rng.Next(classes)).Distinct().ToArray();
        var dbLabels = Sets(classes, Enumerable.Range(0, n).Select(_ => Set()).ToArray());
        var qLabels = Sets(classes, Enumerable.Range(0, q).Select(_ => Set()).ToArray());
        var index = new HammingIndex(BinaryCodes.FromFaissBytes(dbBytes, bits));
        var queries = BinaryCodes.FromFaissBytes(qBytes, bits);
        foreach (int r in new[] { 1, 4, n })
        {
            var tie = TieAwareMetrics.MeanAveragePrecision(index, queries, qLabels, dbLabels, r, QueryRule.Zero);
            for (int i = 0; i < q; i++)
            {
                bool[] rel = Enumerable.Range(0, n).Select(j => qLabels.SharesAny(i, dbLabels, j)).ToArray();
                var (meanAp, meanHit, _) = BruteForce(index.Distances(queries, i), rel, Math.Min(r, n), new[] { 1 });
                Assert.Equal(meanAp, tie.ExpectedAveragePrecisions[i], Eps);
                Assert.Equal(meanHit, tie.HitProbabilities[i], Eps);
            }
        }
    }

    /// <summary>The one-scan path (labels of up to 64 classes: the cut's tie group counted inside the ranking scan) equals
    /// the histogram pass over all N items (the same label sets written with 65 classes, which takes that path), on
    /// databases large enough for the sparse scan (with and without the sampled cap guess, whose misses force a rescan),
    /// with AVX2 and scalar scans, heavy ties and untied codes.</summary>
    [Theory]
    [InlineData(5000, 100, 48, true)]
    [InlineData(5000, 100, 48, false)]
    [InlineData(6000, 300, 48, true)]
    [InlineData(6000, 300, 16, true)]
    [InlineData(3000, 300, 128, false)]
    [InlineData(3000, 1000, 48, true)]
    public void TheOneScanPathEqualsTheHistogramPass(int n, int r, int bits, bool avx2)
    {
        var rng = new Random(n + r + bits);
        int bytes = bits / 8, q = 40, classes = 5;
        var distinct = Enumerable.Range(0, 6).Select(_ => { var b = new byte[bytes]; rng.NextBytes(b); return b; }).ToArray();
        var dbBytes = new byte[n * bytes];
        for (int j = 0; j < n; j++)
        {
            var row = dbBytes.AsSpan(j * bytes, bytes);
            if (rng.NextDouble() < 0.7) distinct[rng.Next(distinct.Length)].CopyTo(row); else rng.NextBytes(row);
        }
        var qBytes = new byte[q * bytes];
        for (int i = 0; i < q; i++) distinct[rng.Next(distinct.Length)].CopyTo(qBytes.AsSpan(i * bytes, bytes));
        qBytes[0] ^= 1; // one query off the points
        var dbSets = Enumerable.Range(0, n).Select(_ => new[] { rng.Next(classes) }).ToArray();
        var qSets = Enumerable.Range(0, q).Select(_ => new[] { rng.Next(classes) }).ToArray();
        var index = new HammingIndex(BinaryCodes.FromFaissBytes(dbBytes, bits)) { UseAvx2 = avx2 };
        var queries = BinaryCodes.FromFaissBytes(qBytes, bits);
        var oneScan = TieAwareMetrics.MeanAveragePrecision(index, queries, Sets(classes, qSets), Sets(classes, dbSets), r, QueryRule.Skip);
        var histogram = TieAwareMetrics.MeanAveragePrecision(index, queries, Sets(65, qSets), Sets(65, dbSets), r, QueryRule.Skip);
        for (int i = 0; i < q; i++)
        {
            Assert.Equal(histogram.ExpectedAveragePrecisions[i], oneScan.ExpectedAveragePrecisions[i], Eps);
            Assert.Equal(histogram.HitProbabilities[i], oneScan.HitProbabilities[i], Eps);
            Assert.Equal(histogram.DatabaseOrder.AveragePrecisions[i], oneScan.DatabaseOrder.AveragePrecisions[i], Eps);
        }
        Assert.Equal(histogram.MeanAP, oneScan.MeanAP, Eps);
        Assert.Equal(histogram.DatabaseOrder.MeanAP, oneScan.DatabaseOrder.MeanAP, Eps);
        Assert.True(oneScan.MeanAP > 0);
    }

    [Fact]
    public void LargeTieGroupsAgreeWithMonteCarloAndStayInRange()
    {
        // One query, 3,000 tied items of which 900 relevant, cut at 1,000 inside the group after 40 items (10 relevant):
        // the closed form against 20,000 random orderings (standard error about 0.001).
        int[] total = { 40, 3000, 500 }, relevant = { 10, 900, 100 };
        var (ap, hit) = TieAwareMetrics.QueryExpectation(total, relevant, 1000);
        var rng = new Random(5);
        double sum = 0;
        int trials = 20000;
        var group = new bool[3000];
        for (int t = 0; t < trials; t++)
        {
            for (int j = 0; j < 3000; j++) group[j] = j < 900;
            for (int j = 2999; j > 0; j--) { int s = rng.Next(j + 1); (group[j], group[s]) = (group[s], group[j]); }
            var ranked = new bool[1000];
            for (int j = 0; j < 40; j++) ranked[j] = j < 10; // the order inside the first group barely matters here
            // shuffle the first group too
            for (int j = 39; j > 0; j--) { int s = rng.Next(j + 1); (ranked[j], ranked[s]) = (ranked[s], ranked[j]); }
            for (int j = 40; j < 1000; j++) ranked[j] = group[j - 40];
            sum += Ap(ranked);
        }
        Assert.Equal(sum / trials, ap, 0.005);
        Assert.Equal(1.0, hit);
    }

    [Fact]
    public void PermutingTheDatabaseLeavesTieAwareFiguresUnchangedButMovesTheDatabaseOrderFigure()
    {
        var rng = new Random(11);
        int n = 400, q = 60, classes = 4;
        // codes from 5 distinct values of 16 bits: every cut falls in a tie group
        ushort[] distinct = Enumerable.Range(0, 5).Select(_ => (ushort)rng.Next(65536)).ToArray();
        byte[] Code(ushort v) => new[] { (byte)(v & 0xFF), (byte)(v >> 8) };
        var dbCodes = Enumerable.Range(0, n).Select(_ => distinct[rng.Next(5)]).ToArray();
        var dbClasses = dbCodes.Select(c => Array.IndexOf(distinct, c) % classes == 0 && rng.NextDouble() < 0.5 ? rng.Next(classes) : Array.IndexOf(distinct, c) % classes).ToArray();
        var queryBytes = Enumerable.Range(0, q).SelectMany(_ => Code((ushort)(distinct[rng.Next(5)] ^ (1 << rng.Next(16))))).ToArray();
        var queries = BinaryCodes.FromFaissBytes(queryBytes, 16);
        var qLabels = Sets(classes, Enumerable.Range(0, q).Select(_ => new[] { rng.Next(classes) }).ToArray());

        (TieAwareMap Map, double[] P) Score(int[] order)
        {
            var db = BinaryCodes.FromFaissBytes(order.SelectMany(j => Code(dbCodes[j])).ToArray(), 16);
            var labels = Sets(classes, order.Select(j => new[] { dbClasses[j] }).ToArray());
            var index = new HammingIndex(db);
            return (TieAwareMetrics.MeanAveragePrecision(index, queries, qLabels, labels, 100, QueryRule.Skip),
                TieAwareMetrics.PrecisionAtK(index, queries, qLabels, labels, new[] { 10, 100 }));
        }

        var baseline = Score(Enumerable.Range(0, n).ToArray());
        bool databaseOrderMoved = false;
        for (int trial = 0; trial < 3; trial++)
        {
            var order = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
            var permuted = Score(order);
            Assert.Equal(baseline.Map.MeanAP, permuted.Map.MeanAP, Eps);
            Assert.Equal(baseline.Map.Under(QueryRule.Zero).MeanAP, permuted.Map.Under(QueryRule.Zero).MeanAP, Eps);
            Assert.Equal(baseline.Map.ExpectedQueriesCounted, permuted.Map.ExpectedQueriesCounted, Eps);
            for (int i = 0; i < q; i++) Assert.Equal(baseline.Map.ExpectedAveragePrecisions[i], permuted.Map.ExpectedAveragePrecisions[i], Eps);
            Assert.Equal(baseline.P[0], permuted.P[0], Eps);
            Assert.Equal(baseline.P[1], permuted.P[1], Eps);
            databaseOrderMoved |= Math.Abs(baseline.Map.DatabaseOrder.MeanAP - permuted.Map.DatabaseOrder.MeanAP) > 1e-6;
        }
        Assert.True(databaseOrderMoved, "the database-order figure should depend on the order on this tie-heavy data");
    }

    [Fact]
    public void WithoutTiesTheTieAwareFigureEqualsTheDatabaseOrderOne()
    {
        // Every item at its own distance from the query (3, 0, 2, 1): one ordering only.
        var db = BinaryCodes.FromFaissBytes(new byte[] { 0x07, 0x00, 0x03, 0x01 }, 8);
        var labels = Sets(2, new[] { 0 }, new[] { 1 }, new[] { 0 }, new[] { 1 });
        var queries = BinaryCodes.FromFaissBytes(new byte[] { 0x00 }, 8);
        var qLabels = Sets(2, new[] { 0 });
        var index = new HammingIndex(db);
        foreach (int r in new[] { 1, 2, 3, 4 })
        {
            var tie = TieAwareMetrics.MeanAveragePrecision(index, queries, qLabels, labels, r, QueryRule.Skip);
            Assert.Equal(tie.DatabaseOrder.MeanAP, tie.MeanAP, Eps);
            Assert.Equal(tie.DatabaseOrder.QueriesCounted, tie.ExpectedQueriesCounted, Eps);
        }
    }

    [Fact]
    public void TiesAtCutCountsTheGroupAroundPositionR()
    {
        // distances from query 0: 0, 1, 1, 1, 2 -> with R = 2 the cut is at distance 1, 3 items tied there, 1 inside
        var db = BinaryCodes.FromFaissBytes(new byte[] { 0x00, 0x01, 0x02, 0x04, 0x03 }, 8);
        var index = new HammingIndex(db);
        var ties = TieAwareMetrics.TiesAtCut(index, BinaryCodes.FromFaissBytes(new byte[] { 0x00 }, 8), 2);
        Assert.Equal((1, 3, 1), ties[0]);
        Assert.Equal((2, 1, 1), TieAwareMetrics.TiesAtCut(index, BinaryCodes.FromFaissBytes(new byte[] { 0x00 }, 8), 5)[0]);
    }

    [Fact]
    public void RejectsInconsistentInput()
    {
        Assert.Throws<UsageException>(() => TieAwareMetrics.QueryExpectation(new[] { 2 }, new[] { 3 }, 1));
        Assert.Throws<UsageException>(() => TieAwareMetrics.QueryExpectation(new[] { 2 }, new[] { 1, 0 }, 1));
        Assert.Throws<UsageException>(() => TieAwareMetrics.QueryExpectation(new[] { 2 }, new[] { 1 }, 0));
        Assert.Throws<UsageException>(() => TieAwareMap.From(new[] { 0.5 }, new[] { 0.2 }, 1, QueryRule.Skip, Dummy(1)));
    }

    static MapResult Dummy(int queries) => new(0, 0, queries, 0, 1, QueryRule.Skip, new double[queries]);

    /// <summary>AP of a ranked relevance list (NaN-free: 0 without a hit).</summary>
    static double Ap(IReadOnlyList<bool> ranked)
    {
        int hits = 0;
        double sum = 0;
        for (int k = 0; k < ranked.Count; k++)
        {
            if (!ranked[k]) continue;
            hits++;
            sum += (double)hits / (k + 1);
        }
        return hits == 0 ? 0 : sum / hits;
    }

    /// <summary>Mean over every ordering of the items within each distance group (items sorted by distance) of AP@R (0 without
    /// a hit), of the hit indicator, and of P@k for each k.</summary>
    static (double Ap, double Hit, double[] Precision) BruteForce(int[] dist, bool[] rel, int r, int[] ks)
    {
        var groups = dist.Select((d, j) => (d, j)).GroupBy(t => t.d).OrderBy(g => g.Key).Select(g => g.Select(t => t.j).ToArray()).ToArray();
        var orderings = new List<int[]> { Array.Empty<int>() };
        foreach (var g in groups)
            orderings = orderings.SelectMany(prefix => Permutations(g).Select(p => prefix.Concat(p).ToArray())).ToList();
        double ap = 0, hit = 0;
        var precision = new double[ks.Length];
        foreach (var order in orderings)
        {
            var top = order.Take(r).Select(j => rel[j]).ToArray();
            ap += Ap(top);
            hit += top.Any(b => b) ? 1 : 0;
            for (int m = 0; m < ks.Length; m++) precision[m] += (double)order.Take(ks[m]).Count(j => rel[j]) / ks[m];
        }
        int count = orderings.Count;
        return (ap / count, hit / count, precision.Select(p => p / count).ToArray());
    }

    static IEnumerable<int[]> Permutations(int[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }
        for (int i = 0; i < items.Length; i++)
            foreach (var rest in Permutations(items.Where((_, k) => k != i).ToArray()))
                yield return new[] { items[i] }.Concat(rest).ToArray();
    }
}
