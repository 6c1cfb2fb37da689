using System.CommandLine;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd search</c>: top-R Hamming search over exported codes.</summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var db = new Option<string>("--database") { Description = "Database codes .npy (uint8 [N, K/8], FAISS binary layout)", Required = true };
        var q = new Option<string>("--queries") { Description = "Query codes .npy (same layout and K)", Required = true };
        var topk = new Option<int>("--topk") { Description = "R: neighbours per query", DefaultValueFactory = _ => 1000 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var outFile = CommonOptions.Out("Output .npy (int64 [Q, R], ties in database order)");
        var ties = new Option<string>("--ties") { Description = "report: also write OUT_ties.npy (int64 [Q, 3]: distance of the R-th neighbour, items at that distance, how many of them are in the top R); none (default)", DefaultValueFactory = _ => "none" };
        ties.AcceptOnlyFromAmong("none", "report");
        var cmd = new Command("search", "Rank a database of binary codes for each query by Hamming distance") { db, q, topk, threads, outFile, ties };
        cmd.SetAction(p =>
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            bool report = p.GetValue(ties) == "report";
            var s = HammingSearch.SearchFiles(p.GetValue(db)!, p.GetValue(q)!, p.GetValue(topk), p.GetValue(outFile)!, p.GetValue(threads), report);
            Console.Error.WriteLine($"{s.QueryCount} queries x {s.DatabaseCount} codes of {s.Bits} bits, top {s.R}: {sw.Elapsed.TotalMilliseconds:F0} ms -> {p.GetValue(outFile)}");
            if (report)
                Console.Error.WriteLine($"ties: {s.QueriesCutInTie} of {s.QueryCount} queries have their top-{s.R} cut inside a group of equally distant items (the returned ones are the first in database order) -> {HammingSearch.TiesPath(p.GetValue(outFile)!)}");
            return 0;
        });
        return cmd;
    }
}
