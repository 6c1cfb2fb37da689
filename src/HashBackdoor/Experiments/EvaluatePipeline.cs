using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Options of <see cref="EvaluatePipeline"/>.</summary>
public sealed record EvaluateOptions
{
    public int TopK { get; init; } = 1000;
    public QueryRule Rule { get; init; } = QueryRule.Skip;
    public IReadOnlyList<int> PrecisionAt { get; init; } = new[] { 100, 500, 1000 };
    public string Device { get; init; } = "cpu";
    public bool WriteCodes { get; init; } = true;
}

/// <summary>Codes of a split, packed, with their labels.</summary>
public sealed record EncodedSet(BinaryCodes Codes, LabelSets Labels, byte[] LabelBytes, int Classes, long ExactZeros);

/// <summary>
/// Encodes the query and database splits of a run folder's protocol with its model, ranks by Hamming distance (ties in
/// database order) and writes metrics.json with the protocol beside the numbers, plus the codes and labels as .npy
/// (uint8, FAISS binary layout for codes, multi-hot for labels).
/// </summary>
public static class EvaluatePipeline
{
    public static RetrievalReport Run(string modelDir, string outDir, EvaluateOptions options, IRunProgress progress)
    {
        if (options.TopK < 1) throw new UsageException($"--topk {options.TopK}: must be at least 1");
        RunKinds.RequireOutputFolder(outDir, "--out", RunKind.Evaluation, RunKind.Train);
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
            ["mAP"] = Math.Round(report.Map.Percent, 4),
            ["R"] = report.Map.R,
            ["queryRule"] = RuleName(report.Map.Rule),
            ["queriesCounted"] = report.Map.QueriesCounted,
            ["queriesTotal"] = report.Map.QueriesTotal,
            ["mAPOtherRule"] = Math.Round(report.MapOtherRule.Percent, 4),
            ["otherRule"] = RuleName(report.MapOtherRule.Rule),
            ["precisionAtK"] = report.PrecisionAtK.ToDictionary(kv => kv.Key.ToString(), kv => Math.Round(kv.Value * 100, 4)),
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
        progress.Info($"{report.Map} | P@{string.Join(",", report.PrecisionAtK.Keys)} = {string.Join(", ", report.PrecisionAtK.Values.Select(v => (v * 100).ToString("F2")))} | P@r<=2 = {report.RadiusTwo.Percent:F2}%");
        progress.Info($"metrics written to {Path.Combine(outDir, "metrics.json")}");
        return report;
    }

    public static string RuleName(QueryRule rule) => rule == QueryRule.Skip ? "skip" : "zero";

    /// <summary>The protocol printed next to every number.</summary>
    public static Dictionary<string, object?> Protocol(LoadedRun run, int r, QueryRule rule) => new()
    {
        ["dataset"] = run.Record.Dataset,
        ["protocol"] = run.Split.Name,
        ["seed"] = run.Record.Protocol.Seed,
        ["query"] = run.Split.Query.Count,
        ["database"] = run.Split.Database.Count,
        ["train"] = run.Split.Train.Count,
        ["bits"] = run.Record.Model.Bits,
        ["architecture"] = run.Record.Model.Architecture,
        ["loss"] = run.Record.Trainer.Loss,
        ["R"] = r,
        ["tieRule"] = "Hamming distance, ties broken by database order (stable)",
        ["queryRule"] = rule == QueryRule.Skip
            ? "skip: mean over queries with at least one relevant item in the top R (reference code)"
            : "zero: queries with no relevant item in the top R count as 0 (DeepHash-pytorch)",
        ["relevance"] = "shares at least one label",
    };

    /// <summary>Encodes a split with the model (optionally transformed, e.g. triggered) into packed codes.</summary>
    public static EncodedSet Encode(HashModel model, ImageDataset set, IRunProgress progress, string label, Func<Tensor, Tensor>? transform = null)
    {
        using var step = progress.Start($"{label} ({set.Count} images)", 1);
        using var signs = HashEncoder.Encode(model, set.Images, 500, transform, model.parameters().First().device);
        var codes = CodeConversion.ToBinaryCodes(signs, out long zeros);
        return new EncodedSet(codes, CodeConversion.ToLabelSets(set.Labels), set.LabelBytes(), set.NumClasses, zeros);
    }

    public static void WriteSet(string dir, string name, EncodedSet set)
    {
        NpyFile.Write(Path.Combine(dir, $"{name}_codes.npy"), set.Codes.ToFaissBytes(), set.Codes.Count, set.Codes.Bits / 8);
        NpyFile.Write(Path.Combine(dir, $"{name}_labels.npy"), set.LabelBytes, set.Codes.Count, set.Classes);
    }
}

/// <summary>All retrieval metrics of one query set against one database.</summary>
public sealed record RetrievalReport(MapResult Map, MapResult MapOtherRule, IReadOnlyDictionary<int, double> PrecisionAtK,
    RadiusPrecision RadiusTwo, PrecisionRecallCurve Curve)
{
    public static RetrievalReport Compute(EncodedSet query, EncodedSet database, int r, QueryRule rule, IReadOnlyList<int> ks)
    {
        var index = new HammingIndex(database.Codes);
        var map = RetrievalMetrics.MeanAveragePrecision(index, query.Codes, query.Labels, database.Labels, r, rule);
        var other = rule == QueryRule.Skip ? QueryRule.Zero : QueryRule.Skip;
        var map2 = map.Under(other);
        var kept = ks.Where(k => k >= 1 && k <= database.Codes.Count).ToArray();
        var p = RetrievalMetrics.PrecisionAtK(index, query.Codes, query.Labels, database.Labels, kept);
        var rad = RetrievalMetrics.PrecisionWithinRadius(index, query.Codes, query.Labels, database.Labels, 2);
        var curve = RetrievalMetrics.PrecisionRecallByRadius(index, query.Codes, query.Labels, database.Labels);
        return new RetrievalReport(map, map2, kept.Select((k, i) => (k, p[i])).ToDictionary(t => t.k, t => t.Item2), rad, curve);
    }
}
