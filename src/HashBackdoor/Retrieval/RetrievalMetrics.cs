namespace HashBackdoor.Retrieval;

/// <summary>
/// Retrieval quality metrics of Hamming ranking (method.md section 7): mAP@R and t-MAP@R, precision@k, precision
/// within Hamming radius 2, and the precision-recall curve over Hamming radius.
/// </summary>
/// <remarks>
/// <para>Relevance: database item j is relevant to query q when their label sets share at least one class
/// (<see cref="LabelSets.SharesAny"/>). For t-MAP pass <see cref="LabelSets.Repeat"/>(target, Q, C) as the query
/// labels, so that relevance is "item j has the target label".</para>
/// <para>AP@R of a query with ranked results 1..R: <c>AP = sum_{r&lt;=R} P@r * rel_r / sum_{r&lt;=R} rel_r</c>, where
/// <c>rel_r</c> is 1 if the r-th result is relevant and P@r is the fraction of relevant items among the first r. A
/// query with no relevant item in its top R is left out (<see cref="QueryRule.Skip"/>) or counts 0
/// (<see cref="QueryRule.Zero"/>). If R exceeds the database size it is reduced to it.</para>
/// <para>Ranked inputs are row-major <c>Q x columns</c> database indices as returned by
/// <see cref="HammingIndex.Search(BinaryCodes, int)"/>. Sums over queries are done in query order, so results do not
/// depend on the number of threads.</para>
/// </remarks>
public static class RetrievalMetrics
{
    /// <summary>mAP@R from precomputed rankings.</summary>
    /// <param name="ranked">Row-major <c>Q x columns</c> database indices, nearest first.</param>
    /// <param name="columns">Results per query in <paramref name="ranked"/>; at least the effective R.</param>
    /// <param name="queryLabels">Q label sets (for t-MAP: {target} each).</param>
    /// <param name="databaseLabels">N label sets, N = database size.</param>
    /// <param name="r">R &gt;= 1; reduced to N if larger.</param>
    /// <param name="rule">Treatment of queries with no relevant item in their top R.</param>
    /// <exception cref="UsageException">Inconsistent sizes, R larger than <paramref name="columns"/>, or an index
    /// outside the database.</exception>
    public static MapResult MeanAveragePrecision(ReadOnlySpan<long> ranked, int columns, LabelSets queryLabels,
        LabelSets databaseLabels, int r, QueryRule rule)
    {
        int q = CheckRanked(ranked, columns, queryLabels, databaseLabels);
        int rEff = EffectiveR(r, databaseLabels.Count);
        if (rEff > columns) throw new UsageException($"R = {rEff} but the rankings have only {columns} results per query");
        var aps = new double[q];
        var rows = new int[rEff];
        for (int i = 0; i < q; i++)
        {
            CopyRow(ranked, i, columns, rows, databaseLabels.Count);
            aps[i] = AveragePrecision(rows, rEff, queryLabels, i, databaseLabels);
        }
        return MapResult.FromAveragePrecisions(aps, rEff, rule);
    }

    /// <summary>mAP@R, fused with the ranking: ranks the queries with <paramref name="index"/> block by block and scores
    /// each block at once, so only a block of rankings is ever held in memory.</summary>
    /// <param name="index">Database index (its N must equal <paramref name="databaseLabels"/>' count).</param>
    /// <param name="queries">Query codes (Q of them, same K).</param>
    /// <param name="queryLabels">Q label sets (for t-MAP: {target} each).</param>
    /// <param name="databaseLabels">N label sets.</param>
    /// <param name="r">R &gt;= 1; reduced to N if larger.</param>
    /// <param name="rule">Treatment of queries with no relevant item in their top R.</param>
    public static MapResult MeanAveragePrecision(HammingIndex index, BinaryCodes queries, LabelSets queryLabels,
        LabelSets databaseLabels, int r, QueryRule rule)
    {
        CheckFused(index, queries, queryLabels, databaseLabels);
        int rEff = index.EffectiveR(r);
        var aps = new double[queries.Count];
        index.Rank(queries, rEff, (first, count, idx, _) =>
        {
            for (int i = 0; i < count; i++)
                aps[first + i] = AveragePrecision(idx.AsSpan(i * rEff, rEff), rEff, queryLabels, first + i, databaseLabels);
        });
        return MapResult.FromAveragePrecisions(aps, rEff, rule);
    }

    /// <summary>Mean precision@k over all queries for each k of <paramref name="ks"/>: per query, the fraction of
    /// relevant items among its first k results.</summary>
    /// <returns>One mean precision (fraction) per entry of <paramref name="ks"/>.</returns>
    /// <exception cref="UsageException">A k below 1 or above <paramref name="columns"/>, or inconsistent sizes.</exception>
    public static double[] PrecisionAtK(ReadOnlySpan<long> ranked, int columns, LabelSets queryLabels,
        LabelSets databaseLabels, IReadOnlyList<int> ks)
    {
        ArgumentNullException.ThrowIfNull(ks);
        int q = CheckRanked(ranked, columns, queryLabels, databaseLabels);
        foreach (int k in ks)
            if (k < 1 || k > columns) throw new UsageException($"precision@k: k = {k} must be in [1, {columns}]");
        var rows = new int[columns];
        var perQuery = new double[ks.Count, q];
        var cum = new int[columns + 1];
        for (int i = 0; i < q; i++)
        {
            CopyRow(ranked, i, columns, rows, databaseLabels.Count);
            for (int k = 0; k < columns; k++) cum[k + 1] = cum[k] + (Relevant(queryLabels, i, databaseLabels, rows[k]) ? 1 : 0);
            for (int m = 0; m < ks.Count; m++) perQuery[m, i] = (double)cum[ks[m]] / ks[m];
        }
        return MeansOverQueries(perQuery);
    }

    /// <summary>Row means of a <c>metrics x queries</c> table, summed in query order (independent of threading); 0
    /// without queries.</summary>
    internal static double[] MeansOverQueries(double[,] perQuery)
    {
        int rows = perQuery.GetLength(0), q = perQuery.GetLength(1);
        var result = new double[rows];
        for (int m = 0; m < rows; m++)
        {
            double s = 0;
            for (int i = 0; i < q; i++) s += perQuery[m, i];
            result[m] = q == 0 ? 0.0 : s / q;
        }
        return result;
    }

    /// <summary>Mean precision@k, ranking the queries with <paramref name="index"/> to depth max(k).</summary>
    /// <exception cref="UsageException">A k below 1 or above the database size.</exception>
    public static double[] PrecisionAtK(HammingIndex index, BinaryCodes queries, LabelSets queryLabels,
        LabelSets databaseLabels, IReadOnlyList<int> ks)
    {
        ArgumentNullException.ThrowIfNull(ks);
        CheckFused(index, queries, queryLabels, databaseLabels);
        if (ks.Count == 0) return Array.Empty<double>();
        foreach (int k in ks)
            if (k < 1 || k > index.Count) throw new UsageException($"precision@k: k = {k} must be in [1, {index.Count}] (the database size)");
        int depth = ks.Max();
        long[] ranked = index.Search(queries, depth);
        return PrecisionAtK(ranked, depth, queryLabels, databaseLabels, ks);
    }

    /// <summary>Precision within Hamming radius <paramref name="radius"/> (2 by convention), DeepHash convention: per
    /// query, relevant / retrieved among the database items at distance &lt;= radius; a query that retrieves nothing
    /// counts as 0; the mean is over all queries.</summary>
    public static RadiusPrecision PrecisionWithinRadius(HammingIndex index, BinaryCodes queries, LabelSets queryLabels,
        LabelSets databaseLabels, int radius = 2)
    {
        CheckFused(index, queries, queryLabels, databaseLabels);
        if (radius < 0) throw new UsageException($"Hamming radius {radius}: must be >= 0");
        int q = queries.Count, n = index.Count;
        var precision = new double[q];
        var retrievedAny = new bool[q];
        ForEachQuery(index, q, () => new int[n], (i, dist) =>
        {
            index.FillDistances(queries.Get(i), dist);
            int retrieved = 0, relevant = 0;
            for (int j = 0; j < n; j++)
            {
                if (dist[j] > radius) continue;
                retrieved++;
                if (Relevant(queryLabels, i, databaseLabels, j)) relevant++;
            }
            precision[i] = retrieved == 0 ? 0.0 : (double)relevant / retrieved;
            retrievedAny[i] = retrieved > 0;
        });
        double sum = 0;
        for (int i = 0; i < q; i++) sum += precision[i];
        return new RadiusPrecision(q == 0 ? 0.0 : sum / q, radius, q, retrievedAny.Count(b => b));
    }

    /// <summary>Precision-recall curve over Hamming radius 0..K (see <see cref="PrecisionRecallCurve"/> for the
    /// definitions); precision and recall are averaged over all queries at each radius.</summary>
    public static PrecisionRecallCurve PrecisionRecallByRadius(HammingIndex index, BinaryCodes queries,
        LabelSets queryLabels, LabelSets databaseLabels)
    {
        CheckFused(index, queries, queryLabels, databaseLabels);
        int q = queries.Count, n = index.Count, k = index.Bits;
        // Per-query curves are summed in fixed blocks of queries, then the blocks in order: deterministic sums.
        const int Block = 64;
        int blocks = (q + Block - 1) / Block;
        var pSums = new double[blocks, k + 1];
        var rSums = new double[blocks, k + 1];
        var hasRelevant = new bool[q];
        ParallelOptions options = new() { MaxDegreeOfParallelism = index.DegreeOfParallelism };
        Parallel.For(0, blocks, options, () => (dist: new int[n], tot: new long[k + 1], rel: new long[k + 1]), (b, _, buf) =>
        {
            for (int i = b * Block; i < Math.Min(q, (b + 1) * Block); i++)
            {
                Array.Clear(buf.tot);
                Array.Clear(buf.rel);
                index.FillDistances(queries.Get(i), buf.dist);
                for (int j = 0; j < n; j++)
                {
                    int d = buf.dist[j];
                    buf.tot[d]++;
                    if (Relevant(queryLabels, i, databaseLabels, j)) buf.rel[d]++;
                }
                long allRelevant = 0;
                for (int d = 0; d <= k; d++) allRelevant += buf.rel[d];
                hasRelevant[i] = allRelevant > 0;
                long cumTot = 0, cumRel = 0;
                for (int d = 0; d <= k; d++)
                {
                    cumTot += buf.tot[d];
                    cumRel += buf.rel[d];
                    pSums[b, d] += cumTot == 0 ? 0.0 : (double)cumRel / cumTot;
                    rSums[b, d] += allRelevant == 0 ? 0.0 : (double)cumRel / allRelevant;
                }
            }
            return buf;
        }, _ => { });
        var precision = new double[k + 1];
        var recall = new double[k + 1];
        for (int d = 0; d <= k; d++)
        {
            double ps = 0, rs = 0;
            for (int b = 0; b < blocks; b++)
            {
                ps += pSums[b, d];
                rs += rSums[b, d];
            }
            precision[d] = q == 0 ? 0.0 : ps / q;
            recall[d] = q == 0 ? 0.0 : rs / q;
        }
        return new PrecisionRecallCurve(precision, recall, q, hasRelevant.Count(h => h));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>AP@R of one query from its ranked row; NaN when no result is relevant.</summary>
    internal static double AveragePrecision(ReadOnlySpan<int> row, int r, LabelSets queryLabels, int query, LabelSets databaseLabels)
    {
        int hits = 0;
        double sum = 0;
        if (queryLabels.WordsPerItem == 1)
        {
            ulong qm = queryLabels.MaskArray[query];
            ulong[] dm = databaseLabels.MaskArray;
            for (int k = 0; k < r; k++)
            {
                if ((qm & dm[row[k]]) == 0) continue;
                hits++;
                sum += (double)hits / (k + 1);
            }
        }
        else
        {
            for (int k = 0; k < r; k++)
            {
                if (!Relevant(queryLabels, query, databaseLabels, row[k])) continue;
                hits++;
                sum += (double)hits / (k + 1);
            }
        }
        return hits == 0 ? double.NaN : sum / hits;
    }

    static bool Relevant(LabelSets queryLabels, int query, LabelSets databaseLabels, int item)
    {
        int w = queryLabels.WordsPerItem;
        ulong[] qm = queryLabels.MaskArray, dm = databaseLabels.MaskArray;
        if (w == 1) return (qm[query] & dm[item]) != 0;
        long qo = (long)query * w, dO = (long)item * w;
        for (int k = 0; k < w; k++)
            if ((qm[qo + k] & dm[dO + k]) != 0) return true;
        return false;
    }

    static void ForEachQuery(HammingIndex index, int q, Func<int[]> init, Action<int, int[]> body)
    {
        ParallelOptions options = new() { MaxDegreeOfParallelism = index.DegreeOfParallelism };
        Parallel.For(0, q, options, init, (i, _, buf) =>
        {
            body(i, buf);
            return buf;
        }, _ => { });
    }

    static int EffectiveR(int r, int n)
    {
        if (r < 1) throw new UsageException($"R = {r}: must be at least 1");
        return Math.Min(r, n);
    }

    static void CopyRow(ReadOnlySpan<long> ranked, int query, int columns, int[] row, int n)
    {
        ReadOnlySpan<long> src = ranked.Slice(query * columns, Math.Min(columns, row.Length));
        for (int k = 0; k < src.Length; k++)
        {
            long v = src[k];
            if ((ulong)v >= (ulong)n) throw new UsageException($"ranked index {v} (query {query}, rank {k + 1}) is outside the database [0, {n})");
            row[k] = (int)v;
        }
    }

    static int CheckRanked(ReadOnlySpan<long> ranked, int columns, LabelSets queryLabels, LabelSets databaseLabels)
    {
        ArgumentNullException.ThrowIfNull(queryLabels);
        ArgumentNullException.ThrowIfNull(databaseLabels);
        queryLabels.RequireSameClasses(databaseLabels);
        if (columns < 1) throw new UsageException($"rankings with {columns} columns: must be at least 1");
        if (ranked.Length % columns != 0) throw new UsageException($"{ranked.Length} ranked indices is not a whole number of rows of {columns}");
        int q = ranked.Length / columns;
        if (q != queryLabels.Count) throw new UsageException($"{q} ranked queries but {queryLabels.Count} query label sets");
        if (columns > databaseLabels.Count)
            throw new UsageException($"rankings have {columns} results per query but the database has {databaseLabels.Count} label sets");
        return q;
    }

    internal static void CheckFused(HammingIndex index, BinaryCodes queries, LabelSets queryLabels, LabelSets databaseLabels)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(queryLabels);
        ArgumentNullException.ThrowIfNull(databaseLabels);
        index.Database.RequireSameBits(queries);
        queryLabels.RequireSameClasses(databaseLabels);
        if (queryLabels.Count != queries.Count) throw new UsageException($"{queries.Count} query codes but {queryLabels.Count} query label sets");
        if (databaseLabels.Count != index.Count) throw new UsageException($"{index.Count} database codes but {databaseLabels.Count} database label sets");
    }
}
