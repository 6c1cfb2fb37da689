using System.Text.Json;
using System.Text.Json.Nodes;
using HashBackdoor.Data;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments;

/// <summary>
/// <c>hashbd rescore DIR</c>: recomputes every retrieval figure of a finished experiment, ablation or test-time folder
/// from the codes and labels it saved (nothing is trained or encoded), with the current metrics (tie-aware, the
/// database-order figures beside them), and rewrites its result files, results.json/md and report.html (or ablation.json,
/// ablation.md and plots; or attack.json) atomically. Everything that is not a retrieval figure (timings, budgets, the
/// trigger's effect on the surrogate) is kept as it was.
/// </summary>
/// <remarks>Defense cells (<c>METHOD/defenses/NAME/result.json</c>) are not rescored: the repaired or retrained models'
/// codes are not saved; run <c>hashbd defend</c> again to recompute them.</remarks>
public static class RescorePipeline
{
    /// <summary>Rescores the folder <paramref name="dir"/> and returns how many result files were rewritten.</summary>
    /// <exception cref="UsageException">The folder is not an experiment, ablation or test-time folder.</exception>
    /// <exception cref="DataException">A file the figures come from is missing or damaged (one line naming it).</exception>
    public static int Run(string dir, IRunProgress progress, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(dir);
        if (!Directory.Exists(dir)) throw new UsageException($"{dir}: no such folder");
        if (File.Exists(Path.Combine(dir, TestTimeAttackPipeline.FileName))) return TestTime(dir, progress);
        var (kind, _) = RunKinds.Detect(dir);
        return kind switch
        {
            RunKind.Experiment => Experiment(new RunFolder(dir), progress, cancel).Runs.Count,
            RunKind.Ablation => Ablation(dir, progress, cancel),
            _ => throw new UsageException($"{dir}: not an experiment, ablation or test-time folder (no {RunFolder.ResolvedConfigName}, ablation.json or {TestTimeAttackPipeline.FileName})"),
        };
    }

    /// <summary>Rescores one experiment folder and rewrites its outputs; returns the new results.</summary>
    public static ExperimentResults Experiment(RunFolder folder, IRunProgress progress, CancellationToken cancel = default)
    {
        using var runLock = folder.Lock();
        var config = folder.ReadResolvedConfig().Config;
        int topK = config.Evaluation.TopK;
        var rule = config.Evaluation.QueryRule;
        var queryLabels = Labels(folder.QueryLabelsPath);
        var databaseLabels = Labels(folder.DatabaseLabelsPath);
        var runs = new List<RunResult>();
        using var overall = progress.Start("rescore", config.Seeds.Count * config.Targets.Count);
        int done = 0;
        foreach (long seed in config.Seeds)
        {
            var clean = Model(folder, seed, 0, RunFolder.CleanMethod, queryLabels, databaseLabels, topK, rule);
            foreach (int target in config.Targets)
            {
                cancel.ThrowIfCancellationRequested();
                long[] rows = folder.ReadTriggeredQueries(seed, target) ?? throw Missing(folder.TriggeredQueriesPath(seed, target));
                var cleanRun = Rescored(folder, seed, target, RunFolder.CleanMethod, clean, rows, topK, rule);
                runs.Add(cleanRun);
                foreach (string method in config.Methods)
                {
                    var victim = Model(folder, seed, target, method, queryLabels, databaseLabels, topK, rule);
                    runs.Add(Rescored(folder, seed, target, method, victim, rows, topK, rule));
                }
                foreach (string attack in config.TestTime)
                {
                    string path = folder.ResultPath(seed, target, attack);
                    var old = folder.ReadResultOfAnyVersion(seed, target, attack) ?? throw Missing(path);
                    var codes = Codes(folder.CodesPath(seed, target, attack, CodeSet.TriggeredQueries));
                    var t = RetrievalScoring.TargetMap(clean.Index, codes, target, clean.Database, topK, rule);
                    runs.Add(folder.WriteResult(Keep(old, TargetFigures.TestTime(cleanRun, t, RetrievalScoring.Other(rule)))));
                }
                overall.Report(++done, $"seed {seed} target {target}");
            }
        }

        var protocol = OldProtocol(folder.ResultsJsonPath);
        foreach (var (key, value) in RescoredProtocol(config)) protocol[key] = value;
        var defenseRuns = DefenseMatrixRunner.Collect(folder, config);
        var results = new ExperimentResults
        {
            Protocol = protocol, Runs = runs.Select(r => r with { DisplayName = MethodNames.Display(r.Method) }).ToList(),
            Summary = MethodSummary.From(runs), Comparisons = ExperimentResults.Compare(runs, MethodNames.Reference(config)),
            DefenseRuns = defenseRuns, DefenseMatrix = DefenseMatrix.Cells(defenseRuns),
        };
        using (var data = DatasetCatalog.Load(config.Dataset))
        using (var split = RetrievalProtocol.Apply(data, config.Protocol))
        {
            var spec = config.Model.Spec(split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses);
            new ExperimentReportBuilder(config, folder, RunContext.For(config.Device, progress, cancel)).Write(results, split, spec);
        }
        progress.Info($"rescored {runs.Count} runs: {folder.ResultsJsonPath}, results.md, report.html");
        return results;
    }

    /// <summary>The protocol entries a rescore sets (the rest of the old protocol is kept).</summary>
    internal static Dictionary<string, object?> RescoredProtocol(ExperimentConfig config) => new()
    {
        ["tieRule"] = ProtocolDescription.TieRule,
        ["ranking"] = ProtocolDescription.RankingText,
        ["databaseOrder"] = "runs[].databaseOrder and summary[].tMAPDatabaseOrder: " + ProtocolDescription.DatabaseOrderText,
        ["queryRule"] = ProtocolDescription.RuleText(config.Evaluation.QueryRule),
        ["rescored"] = $"figures recomputed from the saved codes by hashbd rescore (toolkit {ToolkitInfo.Version}, {DateTime.UtcNow:yyyy-MM-dd})",
    };

    /// <summary>Every variant of an ablation folder, then its ablation.json, ablation.md and plots.</summary>
    static int Ablation(string dir, IRunProgress progress, CancellationToken cancel)
    {
        string jsonPath = Path.Combine(dir, "ablation.json");
        if (!File.Exists(jsonPath)) throw Missing(jsonPath);
        JsonNode root;
        try { root = JsonNode.Parse(File.ReadAllText(jsonPath)) ?? throw new JsonException("empty file"); }
        catch (JsonException e) { throw new DataException(jsonPath, $"damaged ({e.Message})"); }
        // Keys are read in either casing (ablation.json was written PascalCase inside its points before schema 2).
        static JsonNode? Key(JsonNode? node, string key) => node is JsonObject o
            ? o.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase)).Value : null;
        string name = Key(root, "setting")?.GetValue<string>() ?? throw new DataException(jsonPath, "has no 'setting'");
        var values = (Key(root, "points") as JsonArray ?? throw new DataException(jsonPath, "has no 'points'"))
            .Select(p => Key(p, "value")?.GetValue<string>() ?? throw new DataException(jsonPath, "a point has no 'value'")).ToList();
        string? shared = AblationRunner.SharedModelsDir(dir, name);
        var points = new List<AblationPoint>();
        var runs = new List<(string Value, IReadOnlyList<RunResult> Runs)>();
        ExperimentConfig? scored = null;
        foreach (string value in values)
        {
            var folder = new RunFolder(AblationRunner.VariantDir(dir, name, value), shared);
            progress.Info($"ablation {name} = {value}");
            var results = Experiment(folder, progress, cancel);
            scored ??= folder.ReadResolvedConfig().Config;
            points.Add(new AblationPoint(value, results.Summary));
            runs.Add((value, results.Runs));
        }
        if (scored is null) throw new DataException(jsonPath, "lists no values");
        AblationRunner.WriteOutputs(name, points, runs, scored, dir, progress);
        return runs.Sum(r => r.Runs.Count);
    }

    /// <summary>attack.json of <c>hashbd attack-queries</c>, from the codes it saved beside it.</summary>
    static int TestTime(string dir, IRunProgress progress)
    {
        string path = Path.Combine(dir, TestTimeAttackPipeline.FileName);
        JsonObject report;
        try { report = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not an object"); }
        catch (JsonException e) { throw new DataException(path, $"damaged ({e.Message})"); }
        int target = report["target"]?.GetValue<int>() ?? throw new DataException(path, "has no 'target'");
        int topK = report["protocol"]?["R"]?.GetValue<int>() ?? throw new DataException(path, "has no 'protocol.R'");
        var scores = TestTimeAttackPipeline.Score(TestTimeCodes.Read(dir), target, topK);
        report["tMap"] = JsonSerializer.SerializeToNode(scores.TMap, TestTimeAttackPipeline.JsonOptions);
        report["chanceTMap"] = JsonSerializer.SerializeToNode(scores.Chance, TestTimeAttackPipeline.JsonOptions);
        report["cleanMap"] = JsonSerializer.SerializeToNode(scores.Clean, TestTimeAttackPipeline.JsonOptions);
        report["adversarialMap"] = JsonSerializer.SerializeToNode(scores.Adversarial, TestTimeAttackPipeline.JsonOptions);
        report["perQueryTargetAP"] = JsonSerializer.SerializeToNode(scores.PerQueryTargetAP, TestTimeAttackPipeline.JsonOptions);
        report["perQueryTargetHitProbability"] = JsonSerializer.SerializeToNode(scores.PerQueryTargetHitProbability, TestTimeAttackPipeline.JsonOptions);
        if (report["protocol"] is JsonObject protocol)
        {
            protocol["tieRule"] = ProtocolDescription.TieRule;
            protocol["rescored"] = $"figures recomputed from the saved codes by hashbd rescore (toolkit {ToolkitInfo.Version}, {DateTime.UtcNow:yyyy-MM-dd})";
        }
        AtomicFile.WriteAllText(path, report.ToJsonString(TestTimeAttackPipeline.JsonOptions));
        progress.Info($"rescored {path}: t-MAP {scores.TMap.Skip.Percent:F2}% (skip) / {scores.TMap.Zero.Percent:F2}% (zero), tie-aware");
        return 1;
    }

    /// <summary>A model's saved database and clean-query codes with the run's labels, its index and clean mAP.</summary>
    sealed record ModelCodes(EncodedSet Database, EncodedSet Queries, HammingIndex Index, TieAwareMap Clean);

    static ModelCodes Model(RunFolder folder, long seed, int target, string method, (LabelSets Sets, byte[] MultiHot, int Classes) queryLabels,
        (LabelSets Sets, byte[] MultiHot, int Classes) databaseLabels, int topK, QueryRule rule)
    {
        var db = Set(folder.CodesPath(seed, target, method, CodeSet.Database), databaseLabels);
        var q = Set(folder.CodesPath(seed, target, method, CodeSet.Query), queryLabels);
        var index = new HammingIndex(db.Codes);
        return new ModelCodes(db, q, index, RetrievalScoring.Map(index, q, db, topK, rule));
    }

    static RunResult Rescored(RunFolder folder, long seed, int target, string method, ModelCodes model, long[] rows, int topK, QueryRule rule)
    {
        string path = folder.ResultPath(seed, target, method);
        var old = folder.ReadResultOfAnyVersion(seed, target, method) ?? throw Missing(path);
        var triggered = Codes(folder.CodesPath(seed, target, method, CodeSet.TriggeredQueries));
        if (triggered.Count != rows.Length) throw new DataException(folder.CodesPath(seed, target, method, CodeSet.TriggeredQueries), $"holds {triggered.Count} codes, {folder.TriggeredQueriesPath(seed, target)} lists {rows.Length} rows");
        var fresh = TargetFigures.Score(model.Clean, model.Index, triggered, model.Queries.Codes.Select(rows), target, model.Database, topK, rule);
        return folder.WriteResult(Keep(old, fresh));
    }

    /// <summary>The old result with every retrieval figure replaced by <paramref name="fresh"/>'s.</summary>
    static RunResult Keep(RunResult old, RunResult fresh) => old with
    {
        Map = fresh.Map, TMap = fresh.TMap, TMapQueriesCounted = fresh.TMapQueriesCounted, TMapQueriesTotal = fresh.TMapQueriesTotal,
        TMapOtherRule = fresh.TMapOtherRule, TMapUntriggered = fresh.TMapUntriggered, DatabaseOrder = fresh.DatabaseOrder,
    };

    static EncodedSet Set(string path, (LabelSets Sets, byte[] MultiHot, int Classes) labels)
    {
        var codes = Codes(path);
        if (codes.Count != labels.Sets.Count) throw new DataException(path, $"holds {codes.Count} codes, the run's labels list {labels.Sets.Count} images");
        return new EncodedSet(codes, labels.Sets, labels.MultiHot, labels.Classes, 0);
    }

    static BinaryCodes Codes(string path) => RunFolder.ReadCodes(path) ?? throw Missing(path);

    static (LabelSets Sets, byte[] MultiHot, int Classes) Labels(string path) => RunFolder.ReadLabels(path) ?? throw Missing(path);

    static Dictionary<string, object?> OldProtocol(string resultsJson)
    {
        if (!File.Exists(resultsJson)) return new Dictionary<string, object?>();
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(resultsJson))?["protocol"] as JsonObject;
            return node is null ? new Dictionary<string, object?>()
                : node.ToDictionary(kv => kv.Key, kv => kv.Value is null ? null : (object?)JsonSerializer.Deserialize<JsonElement>(kv.Value.ToJsonString()));
        }
        catch (JsonException e) { throw new DataException(resultsJson, $"damaged ({e.Message})"); }
    }

    static DataException Missing(string path) =>
        new(path, "missing: the figures cannot be recomputed without it (a folder written before the run saved its codes must be re-run)");
}
