using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>
/// Encodes the query and database splits of a run folder's protocol with its model, ranks by Hamming distance and writes
/// metrics.json (tie-aware figures, with the database-order ones under "databaseOrder") with the protocol beside the numbers, plus the codes and labels as .npy
/// (uint8, FAISS binary layout for codes, multi-hot for labels).
/// </summary>
public static class EvaluatePipeline
{
    public static RetrievalReport Run(string modelDir, string outDir, EvaluateOptions options, IRunProgress progress)
    {
        if (options.TopK < 1) throw new UsageException($"evaluation.topK {options.TopK}: must be at least 1");
        RunKinds.RequireOutputFolder(outDir, "outDir", RunKind.Evaluation, RunKind.Train);
        var sw = Stopwatch.StartNew();
        using var run = LoadedRun.Open(modelDir, options.Device);
        var query = Encode(run.Model, run.Split.Query, progress, "encode queries");
        var database = Encode(run.Model, run.Split.Database, progress, "encode database");
        RetrievalReport report;
        using (var step = progress.Start("rank and score", 1))
        {
            report = RetrievalReport.Compute(query, database, options.TopK, options.Rule, options.PrecisionAt);
        }
        var metrics = new Dictionary<string, object?>
        {
            ["ranking"] = ProtocolDescription.RankingText,
            ["mAP"] = Math.Round(report.Map.Percent, 4),
            ["R"] = report.Map.R,
            ["queryRule"] = RuleName(report.Map.Rule),
            ["queriesCounted"] = Math.Round(report.Map.ExpectedQueriesCounted, 4),
            ["queriesTotal"] = report.Map.QueriesTotal,
            ["mAPOtherRule"] = Math.Round(report.MapOtherRule.Percent, 4),
            ["otherRule"] = RuleName(report.MapOtherRule.Rule),
            ["precisionAtK"] = report.PrecisionAtK.ToDictionary(kv => kv.Key.ToString(), kv => Math.Round(kv.Value * 100, 4)),
            ["databaseOrder"] = new Dictionary<string, object?>
            {
                ["note"] = ProtocolDescription.DatabaseOrderText,
                ["mAP"] = Math.Round(report.Map.DatabaseOrder.Percent, 4),
                ["queriesCounted"] = report.Map.DatabaseOrder.QueriesCounted,
                ["mAPOtherRule"] = Math.Round(report.MapOtherRule.DatabaseOrder.Percent, 4),
                ["precisionAtK"] = report.PrecisionAtKDatabaseOrder.ToDictionary(kv => kv.Key.ToString(), kv => Math.Round(kv.Value * 100, 4)),
            },
            ["precisionWithinRadius2"] = Math.Round(report.RadiusTwo.Percent, 4),
            ["queriesWithinRadius2"] = report.RadiusTwo.QueriesWithinRadius,
            ["prCurve"] = report.Curve.Precision.Select((p, r) => new { radius = r, precision = Math.Round(p * 100, 4), recall = Math.Round(report.Curve.Recall[r] * 100, 4) }).ToArray(),
            ["exactZeroBits"] = new { query = query.ExactZeros, database = database.ExactZeros },
            ["protocol"] = Protocol(run, options.TopK, report.Map.Rule),
            ["model"] = Path.GetFullPath(Path.Combine(modelDir, RunRecord.ModelFileName)),
            ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1),
        };
        Directory.CreateDirectory(outDir);
        if (options.WriteCodes)
        {
            WriteSet(outDir, "query", query);
            WriteSet(outDir, "database", database);
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "metrics.json"), JsonSerializer.Serialize(metrics, RunRecord.Json));
        progress.Info(SummaryLine(report, database.Codes.Count));
        progress.Info($"metrics written to {Path.Combine(outDir, "metrics.json")}");
        return report;
    }

    /// <summary>
    /// The one-line summary printed after an evaluation: mAP, precision at each K that fits in the database (or which Ks
    /// were left out because the database is smaller), and precision within Hamming radius 2.
    /// </summary>
    public static string SummaryLine(RetrievalReport report, int databaseSize)
    {
        var precision = report.PrecisionAtK.Count == 0
            ? $"P@K: none (database of {databaseSize} images is smaller than every K)"
            : $"P@{string.Join(",", report.PrecisionAtK.Keys)} = {string.Join(", ", report.PrecisionAtK.Values.Select(v => (v * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}";
        return $"{report.Map} | {precision} | P@r<=2 = {report.RadiusTwo.Percent.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}%";
    }

    /// <summary>The name of a query rule (<see cref="ProtocolDescription.RuleName"/>).</summary>
    public static string RuleName(QueryRule rule) => ProtocolDescription.RuleName(rule);

    /// <summary>The protocol printed next to every number (<see cref="ProtocolDescription.ForModel"/>).</summary>
    public static Dictionary<string, object?> Protocol(LoadedRun run, int r, QueryRule rule) => ProtocolDescription.ForModel(run, r, rule);

    /// <summary>Encodes a split (<see cref="RetrievalScoring.Encode"/>).</summary>
    public static EncodedSet Encode(HashModel model, ImageDataset set, IRunProgress progress, string label, Func<Tensor, Tensor>? transform = null) =>
        RetrievalScoring.Encode(model, set, progress, label, transform);

    /// <summary>Writes a set's codes and labels as NAME_codes.npy and NAME_labels.npy.</summary>
    public static void WriteSet(string dir, string name, EncodedSet set)
    {
        NpyFile.Write(Path.Combine(dir, $"{name}_codes.npy"), set.Codes.ToFaissBytes(), set.Codes.Count, set.Codes.Bits / 8);
        NpyFile.Write(Path.Combine(dir, $"{name}_labels.npy"), set.LabelBytes, set.Codes.Count, set.Classes);
    }
}
