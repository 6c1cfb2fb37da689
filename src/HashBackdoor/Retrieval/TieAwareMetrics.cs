using System.Numerics;

namespace HashBackdoor.Retrieval;

/// <summary>
/// Retrieval metrics that do not depend on the order of the database: for each query, the exact expected value over
/// every ordering of the database items tied at the same Hamming distance (all orderings within a tie group equally
/// likely) of AP@R, of "at least one relevant item in the top R" and of precision@k. Hamming ranking ties are the rule,
/// not the exception (K + 1 distances for tens of thousands of items), and the cut at R usually falls inside a tie group,
/// so the database-order figures of <see cref="RetrievalMetrics"/> depend on how the files were ordered.
/// </summary>
/// <remarks>
/// <para>Everything is computed from two histograms per query: <c>n[d]</c>, the database items at distance d, and
/// <c>m[d]</c>, the relevant ones. Groups entirely inside the top R contribute their expected share of
/// <c>S = sum_{r&lt;=R} rel_r P@r</c> in closed form; the group that straddles position R contributes through the
/// hypergeometric number X of its relevant items that fall inside the cut, and AP = S / (relevant in top R) is averaged by
/// conditioning on X. The derivation and the skip rule's tie-aware form are in docs/tie-aware-metrics.md. Cost per
/// query: O(N) for the histograms plus O(R) for the expectation.</para>
/// <para>Precision within a Hamming radius and the precision-recall curve by radius (<see cref="RetrievalMetrics"/>)
/// take whole distance groups, so they are already order-free.</para>
/// </remarks>
public static class TieAwareMetrics
{
    /// <summary>Tie-aware mAP@R of <paramref name="queries"/> against <paramref name="index"/>'s database, with the
    /// database-order figure of the same queries beside it (<see cref="TieAwareMap.DatabaseOrder"/>).</summary>
    /// <param name="index">Database index.</param>
    /// <param name="queries">Query codes.</param>
    /// <param name="queryLabels">Q label sets (for t-MAP: {target} each, <see cref="LabelSets.Repeat"/>).</param>
    /// <param name="databaseLabels">N label sets.</param>
    /// <param name="r">R &gt;= 1; reduced to N if larger.</param>
    /// <param name="rule">The query rule of the headline figure (both come from the same expectations: <see cref="TieAwareMap.Under"/>).</param>
    public static TieAwareMap MeanAveragePrecision(HammingIndex index, BinaryCodes queries, LabelSets queryLabels,
        LabelSets databaseLabels, int r, QueryRule rule)
    {
        if (queryLabels.WordsPerItem == 1 && databaseLabels.WordsPerItem == 1) return FromOneScan(index, queries, queryLabels, databaseLabels, r, rule);
        var databaseOrder = RetrievalMetrics.MeanAveragePrecision(index, queries, queryLabels, databaseLabels, r, rule);
        int rEff = databaseOrder.R;
        int q = queries.Count;
        var expectedAp = new double[q];
        var hit = new double[q];
        ForEachHistogram(index, queries, queryLabels, databaseLabels, (i, total, relevant) =>
            (expectedAp[i], hit[i]) = QueryExpectation(total, relevant, rEff));
        return TieAwareMap.From(expectedAp, hit, rEff, rule, databaseOrder);
    }

    /// <summary>
    /// <see cref="MeanAveragePrecision"/> from one scan of the database per query (labels of up to 64 classes): the
    /// database-order top R, which holds every item nearer than the cut distance T, and the scan's count of the whole
    /// tie group at T (<see cref="HammingIndex.RankWithCut"/>) give the histograms n[d], m[d] for d &lt;= T, and the
    /// groups beyond T cannot enter the top R. The same result as the histogram pass over all N items
    /// (<see cref="ForEachHistogram"/>; tests compare both with brute force), at about the cost of the database-order
    /// ranking alone.
    /// </summary>
    static TieAwareMap FromOneScan(HammingIndex index, BinaryCodes queries, LabelSets queryLabels, LabelSets databaseLabels, int r, QueryRule rule)
    {
        RetrievalMetrics.CheckFused(index, queries, queryLabels, databaseLabels);
        int rEff = index.EffectiveR(r), q = queries.Count, k = index.Bits;
        var aps = new double[q];
        var expectedAp = new double[q];
        var hit = new double[q];
        ulong[] qm = queryLabels.MaskArray, dm = databaseLabels.MaskArray;
        index.RankWithCut(queries, rEff, new HammingIndex.CutLabels(qm, dm), (first, count, idx, dist, cutTotal, cutRelevant) =>
        {
            var total = new int[k + 1];
            var relevant = new int[k + 1];
            for (int i = 0; i < count; i++)
            {
                int query = first + i;
                var row = idx.AsSpan(i * rEff, rEff);
                var rowDist = dist.AsSpan(i * rEff, rEff);
                aps[query] = RetrievalMetrics.AveragePrecision(row, rEff, queryLabels, query, databaseLabels);
                int t = rowDist[rEff - 1];
                Array.Clear(total, 0, t + 1);
                Array.Clear(relevant, 0, t + 1);
                ulong mask = qm[query];
                for (int p = 0; p < rEff && rowDist[p] < t; p++)
                {
                    total[rowDist[p]]++;
                    relevant[rowDist[p]] += NonZero(mask & dm[row[p]]);
                }
                total[t] = cutTotal[i];
                relevant[t] = cutRelevant[i];
                (expectedAp[query], hit[query]) = QueryExpectation(total.AsSpan(0, t + 1), relevant.AsSpan(0, t + 1), rEff);
            }
        });
        return TieAwareMap.From(expectedAp, hit, rEff, rule, MapResult.FromAveragePrecisions(aps, rEff, rule));
    }

    /// <summary>Tie-aware mean precision@k for each k of <paramref name="ks"/>: per query E[relevant in the first k] / k,
    /// averaged over all queries.</summary>
    /// <exception cref="UsageException">A k below 1 or above the database size.</exception>
    public static double[] PrecisionAtK(HammingIndex index, BinaryCodes queries, LabelSets queryLabels,
        LabelSets databaseLabels, IReadOnlyList<int> ks)
    {
        ArgumentNullException.ThrowIfNull(ks);
        ArgumentNullException.ThrowIfNull(index);
        foreach (int k in ks)
            if (k < 1 || k > index.Count) throw new UsageException($"precision@k: k = {k} must be in [1, {index.Count}] (the database size)");
        int q = queries.Count;
        var perQuery = new double[ks.Count, q];
        ForEachHistogram(index, queries, queryLabels, databaseLabels, (i, total, relevant) =>
        {
            for (int m = 0; m < ks.Count; m++) perQuery[m, i] = ExpectedRelevantInTop(total, relevant, ks[m]) / ks[m];
        });
        return RetrievalMetrics.MeansOverQueries(perQuery);
    }

    /// <summary>For each query, how many database items share the distance of its R-th neighbour, and how many of them
    /// fall inside the top R (the rest are tied with the cut but left out by the database order).</summary>
    /// <returns>Per query: <c>(CutDistance, TiedAtCut, TiedInsideTopR)</c>.</returns>
    public static (int CutDistance, int TiedAtCut, int TiedInsideTopR)[] TiesAtCut(HammingIndex index, BinaryCodes queries, int r)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(queries);
        index.Database.RequireSameBits(queries);
        int rEff = index.EffectiveR(r);
        var result = new (int, int, int)[queries.Count];
        int k = index.Bits, n = index.Count;
        Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = index.DegreeOfParallelism },
            () => (dist: new int[n], tot: new int[k + 1]), (i, _, buf) =>
            {
                Array.Clear(buf.tot);
                index.FillDistances(queries.Get(i), buf.dist);
                foreach (int d in buf.dist) buf.tot[d]++;
                int before = 0;
                for (int d = 0; d <= k; d++)
                {
                    if (before + buf.tot[d] >= rEff)
                    {
                        result[i] = (d, buf.tot[d], rEff - before);
                        break;
                    }
                    before += buf.tot[d];
                }
                return buf;
            }, _ => { });
        return result;
    }

    /// <summary>
    /// One query's exact expectations over the orderings of its tie groups, from its distance histogram:
    /// <paramref name="total"/>[d] database items at distance d, <paramref name="relevant"/>[d] of them relevant.
    /// </summary>
    /// <param name="total">Items per distance, nearest first.</param>
    /// <param name="relevant">Relevant items per distance (each at most the total).</param>
    /// <param name="r">The cut R (at least 1; larger than the database means the whole database).</param>
    /// <returns>E[AP@R] with AP = 0 when the top R holds no relevant item, and the probability that it holds one.</returns>
    public static (double ExpectedAp, double HitProbability) QueryExpectation(ReadOnlySpan<int> total, ReadOnlySpan<int> relevant, int r)
    {
        if (total.Length != relevant.Length) throw new UsageException($"{total.Length} distance counts but {relevant.Length} relevant counts");
        if (r < 1) throw new UsageException($"R = {r}: must be at least 1");
        long before = 0, relevantBefore = 0;
        double sumFull = 0; // E[sum of rel_r * P@r] over the groups entirely inside the cut
        for (int d = 0; d < total.Length; d++)
        {
            int n = total[d], m = relevant[d];
            if (m < 0 || m > n) throw new UsageException($"distance {d}: {m} relevant of {n} items");
            if (n == 0) continue;
            if (before + n <= r)
            {
                if (m > 0)
                {
                    var (b1, b2) = PositionSums(before, n);
                    sumFull += Share(b1, b2, relevantBefore, n, m);
                }
                before += n;
                relevantBefore += m;
                if (before == r) break;
                continue;
            }
            // The group straddles the cut: k of its n positions are inside; X ~ Hypergeometric(n, m, k) relevant among them.
            int k = (int)(r - before);
            if (m == 0) break;
            var (a1, a2) = PositionSums(before, k);
            int lo = Math.Max(0, k - (n - m)), hi = Math.Min(m, k);
            double[] p = Hypergeometric(n, m, k, lo, hi);
            double expected = 0, pNoHit = 0;
            for (int x = lo; x <= hi; x++)
            {
                if (p[x - lo] == 0) continue; // beyond the tails Hypergeometric keeps
                long hits = relevantBefore + x;
                if (hits == 0)
                {
                    pNoHit += p[x - lo];
                    continue;
                }
                // Given X = x the top R holds relevantBefore + x relevant items and the x are a uniform subset of the k positions.
                expected += p[x - lo] * (sumFull + Share(a1, a2, relevantBefore, k, x)) / hits;
            }
            return (Clamp01(expected), Clamp01(1.0 - pNoHit));
        }
        return relevantBefore == 0 ? (0.0, 0.0) : (Clamp01(sumFull / relevantBefore), 1.0);
    }

    /// <summary>E[relevant items in the first <paramref name="k"/>] over the tie orderings.</summary>
    public static double ExpectedRelevantInTop(ReadOnlySpan<int> total, ReadOnlySpan<int> relevant, int k)
    {
        long before = 0, relevantBefore = 0;
        for (int d = 0; d < total.Length; d++)
        {
            int n = total[d];
            if (n == 0) continue;
            if (before + n >= k) return relevantBefore + (double)(k - before) * relevant[d] / n;
            before += n;
            relevantBefore += relevant[d];
        }
        return relevantBefore;
    }

    /// <summary>The harmonic sums over the k positions before+1 .. before+k: <c>sum_j 1/(before+j)</c> and
    /// <c>sum_j (j-1)/(before+j)</c>.</summary>
    static (double A1, double A2) PositionSums(long before, int k)
    {
        double a1 = 0;
        for (int j = 1; j <= k; j++) a1 += 1.0 / (before + j);
        // sum_j (j - 1) / (before + j) = sum_j (1 - (before + 1) / (before + j)) = k - (before + 1) a1
        return (a1, k - (before + 1) * a1);
    }

    /// <summary>E[sum of rel_r P@r over k positions] when x relevant items are a uniform subset of them and
    /// <paramref name="relevantBefore"/> relevant items precede them: P(rel at j) = x/k, and given rel at j the relevant
    /// items among the j - 1 earlier positions number (j - 1)(x - 1)/(k - 1) in expectation.</summary>
    static double Share(double a1, double a2, long relevantBefore, int k, int x) =>
        (double)x / k * (relevantBefore + 1) * a1 + (k > 1 ? (double)x * (x - 1) / ((double)k * (k - 1)) * a2 : 0);

    /// <summary>P(X = x) for x in [lo, hi] of X ~ Hypergeometric(population n, m successes, k draws), by the ratio
    /// recurrence from the mode, normalised (no factorials, no overflow); terms below 1e-18 of the mode's are 0.</summary>
    static double[] Hypergeometric(int n, int m, int k, int lo, int hi)
    {
        // Weights relative to the mode (weight 1), by the ratio of successive probabilities
        // P(x + 1) / P(x) = (m - x)(k - x) / ((x + 1)(n - m - k + x + 1)), walking out from the mode in both directions
        // and stopping where a weight falls below 1e-18 of the mode's: the distribution is unimodal, so every term left
        // out is smaller still, and together they change the normalised probabilities by less than 1e-15. No logarithm or
        // exponential per term (this is the inner loop of tie-aware scoring: bench scoring).
        var w = new double[hi - lo + 1];
        int mode = Math.Clamp((int)((long)(k + 1) * (m + 1) / (n + 2)), lo, hi);
        const double Floor = 1e-18;
        w[mode - lo] = 1;
        double sum = 1, v = 1;
        for (int x = mode; x < hi && v >= Floor; x++)
        {
            v *= (double)(m - x) * (k - x) / ((double)(x + 1) * (n - m - k + x + 1));
            w[x + 1 - lo] = v;
            sum += v;
        }
        v = 1;
        for (int x = mode; x > lo && v >= Floor; x--)
        {
            // P(x - 1) / P(x) = x (n - m - k + x) / ((m - x + 1)(k - x + 1))
            v *= (double)x * (n - m - k + x) / ((double)(m - x + 1) * (k - x + 1));
            w[x - 1 - lo] = v;
            sum += v;
        }
        for (int i = 0; i < w.Length; i++) w[i] /= sum;
        return w;
    }

    static double Clamp01(double v) => v < 0 ? 0 : v > 1 ? 1 : v;

    /// <summary>Calls <paramref name="body"/>(query, n[d], m[d]) for every query in parallel, with buffers per worker.</summary>
    /// <remarks>One pass over the database per query: distances are not stored, and n[d] and m[d] are counted into four
    /// interleaved copies each (runs of equal distances, the common case on hashing codes, would otherwise serialise on
    /// one counter), with the relevance test branch-free. Measured against the database-order ranking of the same queries
    /// by <c>bench scoring</c> (docs/performance.md, "Tie-aware scoring").</remarks>
    static void ForEachHistogram(HammingIndex index, BinaryCodes queries, LabelSets queryLabels, LabelSets databaseLabels,
        Action<int, int[], int[]> body)
    {
        RetrievalMetrics.CheckFused(index, queries, queryLabels, databaseLabels);
        int k = index.Bits;
        Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = index.DegreeOfParallelism },
            () => (lanes: new int[8 * (k + 1)], tot: new int[k + 1], rel: new int[k + 1]), (i, _, buf) =>
            {
                Histograms(index.Database, queries, i, queryLabels, databaseLabels, buf.lanes);
                int h = k + 1;
                for (int d = 0; d <= k; d++)
                {
                    buf.tot[d] = buf.lanes[d] + buf.lanes[h + d] + buf.lanes[2 * h + d] + buf.lanes[3 * h + d];
                    buf.rel[d] = buf.lanes[4 * h + d] + buf.lanes[5 * h + d] + buf.lanes[6 * h + d] + buf.lanes[7 * h + d];
                }
                body(i, buf.tot, buf.rel);
                return buf;
            }, _ => { });
    }

    /// <summary>1 when <paramref name="x"/> is not 0, else 0, without a branch.</summary>
    static int NonZero(ulong x) => (int)((x | (0UL - x)) >> 63);

    /// <summary>Query <paramref name="i"/>'s distance histograms into <paramref name="lanes"/> (cleared here): lanes
    /// 0-3 (each K + 1 long) count all items, lanes 4-7 the relevant ones, item j in lane j % 4.</summary>
    static unsafe void Histograms(BinaryCodes db, BinaryCodes queries, int i, LabelSets queryLabels, LabelSets databaseLabels, int[] lanes)
    {
        Array.Clear(lanes);
        int n = db.Count, w = db.WordsPerCode, lw = databaseLabels.WordsPerItem, h = db.Bits + 1;
        fixed (ulong* codes = db.WordArray)
        fixed (ulong* qc = &queries.WordArray[(long)i * w])
        fixed (ulong* masks = databaseLabels.MaskArray)
        fixed (ulong* qm = &queryLabels.MaskArray[(long)i * lw])
        fixed (int* hp = lanes)
        {
            int* rp = hp + 4 * h;
            int j = 0;
            if (w == 1 && lw == 1)
            {
                ulong q0 = qc[0], m0 = qm[0];
                for (; j + 4 <= n; j += 4)
                {
                    int d0 = BitOperations.PopCount(q0 ^ codes[j]);
                    int d1 = BitOperations.PopCount(q0 ^ codes[j + 1]);
                    int d2 = BitOperations.PopCount(q0 ^ codes[j + 2]);
                    int d3 = BitOperations.PopCount(q0 ^ codes[j + 3]);
                    hp[d0]++;
                    hp[h + d1]++;
                    hp[2 * h + d2]++;
                    hp[3 * h + d3]++;
                    rp[d0] += NonZero(m0 & masks[j]);
                    rp[h + d1] += NonZero(m0 & masks[j + 1]);
                    rp[2 * h + d2] += NonZero(m0 & masks[j + 2]);
                    rp[3 * h + d3] += NonZero(m0 & masks[j + 3]);
                }
            }
            for (; j < n; j++)
            {
                ulong* c = codes + (long)j * w;
                int d = 0;
                for (int t = 0; t < w; t++) d += BitOperations.PopCount(qc[t] ^ c[t]);
                ulong* m = masks + (long)j * lw;
                ulong shared = 0;
                for (int t = 0; t < lw; t++) shared |= qm[t] & m[t];
                hp[d]++;
                rp[d] += NonZero(shared);
            }
        }
    }
}
