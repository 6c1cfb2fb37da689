using HashBackdoor.Retrieval;
using static HashBackdoor.Bench.BenchSupport;

namespace HashBackdoor.Bench;

/// <summary>
/// Scoring cost of tie-aware metrics (issue 20; docs/performance.md, "Tie-aware scoring"): mAP@R and t-MAP@R of a
/// protocol-sized database (68,000 codes of 48 bits, 1,000 queries, 900 triggered queries, R = 1000) with ties broken
/// by database order (<see cref="RetrievalMetrics.MeanAveragePrecision(HammingIndex, BinaryCodes, LabelSets, LabelSets, int, QueryRule)"/>,
/// the scoring before issue 20) against the tie-aware scoring the toolkit reports
/// (<see cref="TieAwareMetrics.MeanAveragePrecision"/>, which also computes the database-order figure it prints beside),
/// interleaved in the same run. The codes imitate CSQ's: every class's items sit on a few points of Hamming space
/// (its centre with 0 to 3 fixed bit flips), so the top-R cut falls inside large tie groups, the case tie-aware scoring
/// exists for. <c>--run DIR</c> scores a victim's codes of an experiment folder instead (DIR/seed-0/target-1/ciba/:
/// database, query and triggered-query codes; DIR/*_labels.npy).
/// </summary>
internal static class ScoringBenchmark
{
    const string Usage = "scoring [--database 68000] [--queries 1000] [--topr 1000] [--bits 48] [--reps 25] [--seed 7] [--run DIR [--victim seed-0/target-1/ciba] [--target 1]]";

    public static int Run(string[] args)
    {
        var a = new Args(args, Usage, Array.Empty<string>(), new[] { "--database", "--queries", "--topr", "--bits", "--reps", "--seed", "--run", "--victim", "--target" });
        int r = a.Int("--topr", 1000), reps = a.Int("--reps", 25);
        string? run = a.Str("--run");
        Header("scoring", "mAP@R and t-MAP@R, ties in database order (the scoring before issue 20) against tie-aware (which computes both), " +
                          "same codes, interleaved; times are best of reps [median]");
        BinaryCodes db, queries;
        LabelSets dbLabels, queryLabels;
        int classes;
        string source;
        BinaryCodes? triggeredCodes = null;
        int target = 1;
        if (run is not null)
        {
            string victim = Path.Combine(run, a.Str("--victim") ?? "seed-0/target-1/ciba");
            target = a.Int("--target", 1);
            var dbBytes = NpyFile.ReadUInt8Matrix(Path.Combine(victim, "database_codes.npy"), out _, out int bytes);
            var qBytes = NpyFile.ReadUInt8Matrix(Path.Combine(victim, "query_codes.npy"), out _, out _);
            var tBytes = NpyFile.ReadUInt8Matrix(Path.Combine(victim, "triggered_query_codes.npy"), out _, out _);
            db = BinaryCodes.FromFaissBytes(dbBytes, bytes * 8);
            queries = BinaryCodes.FromFaissBytes(qBytes, bytes * 8);
            triggeredCodes = BinaryCodes.FromFaissBytes(tBytes, bytes * 8);
            dbLabels = LabelSets.FromNpy(NpyFile.Read(Path.Combine(run, "database_labels.npy")));
            queryLabels = LabelSets.FromNpy(NpyFile.Read(Path.Combine(run, "query_labels.npy")));
            classes = dbLabels.Classes;
            source = $"a victim's codes ({victim}; triggered queries toward target {target})";
        }
        else
        {
            int n = a.Int("--database", 68_000), q = a.Int("--queries", 1000), bits = a.Int("--bits", 48);
            classes = 10;
            (db, dbLabels) = CsqLike(n, bits, classes, new Random(a.Int("--seed", 7)), ownClass: 0.9);
            (queries, queryLabels) = CsqLike(q, bits, classes, new Random(a.Int("--seed", 7) + 1), ownClass: 0.8);
            source = $"synthetic CSQ-like codes (seed {a.Int("--seed", 7)})";
        }
        // Triggered queries (synthetic data): the non-target queries, of which 70% hash to the target class's points (a working backdoor).
        var triggered = triggeredCodes ?? CsqLike(queries.Count * 9 / 10, db.Bits, classes, new Random(11), ownClass: 0.7, fixedClass: target).Codes;
        var targetLabels = LabelSets.Repeat(target, triggered.Count, classes);
        Console.WriteLine($"data: {source}; database {db.Count} x {db.Bits} bits, {queries.Count} queries, {triggered.Count} triggered queries, R = {r}, {classes} classes");

        var index = new HammingIndex(db);
        var ties = TieAwareMetrics.TiesAtCut(index, queries, r);
        Console.WriteLine($"queries whose R-th neighbour is tied with items past R: {ties.Count(t => t.TiedAtCut > t.TiedInsideTopR)} of {ties.Length}; " +
                          $"median items at the cut distance {Median(ties.Select(t => (double)t.TiedAtCut)):F0}");

        var rows = new List<string[]>();
        foreach (var (label, qs, ql) in new[] { ("mAP@R (queries)", queries, queryLabels), ("t-MAP@R (triggered queries)", triggered, targetLabels) })
        {
            var before = new List<double>();
            var tieAware = new List<double>();
            MapResult? order = null;
            TieAwareMap? aware = null;
            for (int rep = 0; rep < reps; rep++)
            {
                before.Add(Measure(() => order = RetrievalMetrics.MeanAveragePrecision(index, qs, ql, dbLabels, r, QueryRule.Skip)).Wall);
                tieAware.Add(Measure(() => aware = TieAwareMetrics.MeanAveragePrecision(index, qs, ql, dbLabels, r, QueryRule.Skip)).Wall);
            }
            if (Math.Abs(aware!.DatabaseOrder.MeanAP - order!.MeanAP) > 1e-12) throw new InvalidOperationException("the two scorings disagree on the database-order figure");
            rows.Add(new[]
            {
                label, $"{before.Min():F3} s [{Median(before):F3}]", $"{tieAware.Min():F3} s [{Median(tieAware):F3}]",
                Ratio(tieAware.Min() / before.Min()), $"{order.Percent:F2}", $"{aware.Percent:F2}",
            });
        }
        Table(new[] { "figure", "database order", "tie-aware (+ database order)", "ratio", "value, database order", "value, tie-aware" }, rows);
        Console.WriteLine($"load average at end: {LoadAverage()}");
        return 0;
    }

    /// <summary>
    /// <paramref name="count"/> codes on few points: each class has a centre and 8 fixed variants (0 to 3 bit flips of
    /// it); an item of class c takes one of c's variants with probability <paramref name="ownClass"/>, else a variant of
    /// another class (a retrieval error). Labels are the item's own class (or <paramref name="fixedClass"/> for every
    /// item's codes drawn toward it, with random true classes other than it). The points are the same in every call
    /// (their own fixed seed), so queries land on the database's tie groups.
    /// </summary>
    static (BinaryCodes Codes, LabelSets Labels) CsqLike(int count, int bits, int classes, Random rng, double ownClass, int? fixedClass = null)
    {
        const int variants = 8;
        int words = BinaryCodes.WordsFor(bits);
        ulong mask = bits % 64 == 0 ? ulong.MaxValue : (1UL << (bits % 64)) - 1;
        var points = new ulong[classes, variants][];
        var pointRng = new Random(1234); // the same points for database and queries
        for (int c = 0; c < classes; c++)
        {
            var centre = new ulong[words];
            for (int w = 0; w < words; w++) centre[w] = (ulong)pointRng.NextInt64() ^ ((ulong)pointRng.NextInt64() << 32);
            centre[words - 1] &= mask;
            for (int v = 0; v < variants; v++)
            {
                var p = (ulong[])centre.Clone();
                for (int f = 0; f < v % 4; f++) { int bit = pointRng.Next(bits); p[bit >> 6] ^= 1UL << (bit & 63); }
                points[c, v] = p;
            }
        }
        var codes = new ulong[count * words];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int own = fixedClass is int t ? (t + 1 + rng.Next(classes - 1)) % classes : rng.Next(classes);
            labels[i] = own;
            int towards = fixedClass ?? own;
            int c = rng.NextDouble() < ownClass ? towards : (towards + 1 + rng.Next(classes - 1)) % classes;
            Array.Copy(points[c, rng.Next(variants)], 0, codes, i * words, words);
        }
        return (BinaryCodes.FromWords(codes, count, bits), LabelSets.FromClassIndices(labels, classes));
    }
}
