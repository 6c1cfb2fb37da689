namespace HashBackdoor.Retrieval;

/// <summary>
/// The plain, obviously-correct retrieval evaluation that the fast path (<see cref="HammingIndex"/>,
/// <see cref="RetrievalMetrics"/>) is tested and benchmarked against. Distances are counted bit by bit, rankings are a
/// stable sort (by distance, then by database index), relevance is checked class by class, and every metric is the
/// literal formula. Slow by design; for tests and benchmarks only.
/// </summary>
internal static class ReferenceRetrieval
{
    /// <summary>Hamming distance counted bit by bit.</summary>
    public static int Distance(BinaryCodes a, int i, BinaryCodes b, int j)
    {
        int d = 0;
        for (int bit = 0; bit < a.Bits; bit++)
            if (a.GetBit(i, bit) != b.GetBit(j, bit)) d++;
        return d;
    }

    /// <summary>Distances from query <paramref name="q"/> to every database code.</summary>
    public static int[] Distances(BinaryCodes database, BinaryCodes queries, int q)
    {
        var d = new int[database.Count];
        for (int j = 0; j < database.Count; j++) d[j] = Distance(queries, q, database, j);
        return d;
    }

    /// <summary>Database indices of query <paramref name="q"/> in ranking order: stable sort by distance, then index.</summary>
    public static int[] RankAll(BinaryCodes database, BinaryCodes queries, int q)
    {
        int[] d = Distances(database, queries, q);
        return Enumerable.Range(0, database.Count).OrderBy(j => d[j]).ThenBy(j => j).ToArray();
    }

    /// <summary>Top min(R, N) indices of every query, row-major.</summary>
    public static long[] Search(BinaryCodes database, BinaryCodes queries, int topR)
    {
        int r = Math.Min(topR, database.Count);
        var result = new long[(long)queries.Count * r];
        for (int q = 0; q < queries.Count; q++)
        {
            int[] order = RankAll(database, queries, q);
            for (int k = 0; k < r; k++) result[(long)q * r + k] = order[k];
        }
        return result;
    }

    /// <summary>Relevance checked class by class: do the two label sets share a class?</summary>
    public static bool Relevant(LabelSets queryLabels, int q, LabelSets databaseLabels, int j)
    {
        for (int c = 0; c < queryLabels.Classes; c++)
            if (queryLabels.Has(q, c) && databaseLabels.Has(j, c)) return true;
        return false;
    }

    /// <summary>AP@R of one ranked row: sum over r of P@r * rel_r, divided by the number of relevant results; null when
    /// there is none.</summary>
    public static double? AveragePrecision(IReadOnlyList<long> row, int r, LabelSets queryLabels, int q, LabelSets databaseLabels)
    {
        double sum = 0;
        int relevantSoFar = 0;
        for (int k = 1; k <= r; k++)
        {
            bool rel = Relevant(queryLabels, q, databaseLabels, (int)row[k - 1]);
            if (rel) relevantSoFar++;
            double precisionAtK = (double)relevantSoFar / k;
            sum += precisionAtK * (rel ? 1 : 0);
        }
        return relevantSoFar == 0 ? null : sum / relevantSoFar;
    }

    /// <summary>mAP@R from rankings of <paramref name="columns"/> columns.</summary>
    public static MapResult MeanAveragePrecision(long[] ranked, int columns, LabelSets queryLabels, LabelSets databaseLabels,
        int r, QueryRule rule)
    {
        r = Math.Min(r, databaseLabels.Count);
        int queries = queryLabels.Count;
        var aps = new double[queries];
        double sum = 0;
        int withRelevant = 0;
        for (int q = 0; q < queries; q++)
        {
            var row = new ArraySegment<long>(ranked, q * columns, r);
            double? ap = AveragePrecision(row, r, queryLabels, q, databaseLabels);
            aps[q] = ap ?? double.NaN;
            if (ap is null) continue;
            withRelevant++;
            sum += ap.Value;
        }
        int counted = rule == QueryRule.Skip ? withRelevant : queries;
        return new MapResult(counted == 0 ? 0 : sum / counted, counted, queries, withRelevant, r, rule, aps);
    }

    /// <summary>Ranks then scores: mAP@R end to end.</summary>
    public static MapResult MeanAveragePrecision(BinaryCodes database, BinaryCodes queries, LabelSets queryLabels,
        LabelSets databaseLabels, int r, QueryRule rule)
    {
        int rEff = Math.Min(r, database.Count);
        return MeanAveragePrecision(Search(database, queries, rEff), rEff, queryLabels, databaseLabels, rEff, rule);
    }

    /// <summary>Mean precision@k for each k.</summary>
    public static double[] PrecisionAtK(long[] ranked, int columns, LabelSets queryLabels, LabelSets databaseLabels, int[] ks)
    {
        var result = new double[ks.Length];
        for (int m = 0; m < ks.Length; m++)
        {
            double sum = 0;
            for (int q = 0; q < queryLabels.Count; q++)
            {
                int rel = 0;
                for (int k = 0; k < ks[m]; k++)
                    if (Relevant(queryLabels, q, databaseLabels, (int)ranked[q * columns + k])) rel++;
                sum += (double)rel / ks[m];
            }
            result[m] = queryLabels.Count == 0 ? 0 : sum / queryLabels.Count;
        }
        return result;
    }

    /// <summary>Precision within a Hamming radius (queries retrieving nothing count 0; mean over all queries).</summary>
    public static double PrecisionWithinRadius(BinaryCodes database, BinaryCodes queries, LabelSets queryLabels,
        LabelSets databaseLabels, int radius)
    {
        double sum = 0;
        for (int q = 0; q < queries.Count; q++)
        {
            int[] d = Distances(database, queries, q);
            int retrieved = 0, relevant = 0;
            for (int j = 0; j < database.Count; j++)
            {
                if (d[j] > radius) continue;
                retrieved++;
                if (Relevant(queryLabels, q, databaseLabels, j)) relevant++;
            }
            sum += retrieved == 0 ? 0 : (double)relevant / retrieved;
        }
        return queries.Count == 0 ? 0 : sum / queries.Count;
    }

    /// <summary>Precision and recall at each radius 0..K, averaged over all queries.</summary>
    public static (double[] Precision, double[] Recall) PrecisionRecallByRadius(BinaryCodes database, BinaryCodes queries,
        LabelSets queryLabels, LabelSets databaseLabels)
    {
        int k = database.Bits;
        var p = new double[k + 1];
        var rc = new double[k + 1];
        for (int q = 0; q < queries.Count; q++)
        {
            int[] d = Distances(database, queries, q);
            int allRelevant = 0;
            for (int j = 0; j < database.Count; j++)
                if (Relevant(queryLabels, q, databaseLabels, j)) allRelevant++;
            for (int radius = 0; radius <= k; radius++)
            {
                int retrieved = 0, relevant = 0;
                for (int j = 0; j < database.Count; j++)
                {
                    if (d[j] > radius) continue;
                    retrieved++;
                    if (Relevant(queryLabels, q, databaseLabels, j)) relevant++;
                }
                p[radius] += retrieved == 0 ? 0 : (double)relevant / retrieved;
                rc[radius] += allRelevant == 0 ? 0 : (double)relevant / allRelevant;
            }
        }
        for (int radius = 0; radius <= k; radius++)
        {
            p[radius] = queries.Count == 0 ? 0 : p[radius] / queries.Count;
            rc[radius] = queries.Count == 0 ? 0 : rc[radius] / queries.Count;
        }
        return (p, rc);
    }
}
