using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>
/// Runs a CIBA experiment (method.md sections 3-7) for every seed and target class of a config:
/// clean model (and surrogate) per seed; per target: anchor code, trigger, then for every method a poisoned training set
/// and a victim trained from the clean model's initial weights; clean mAP@R on clean queries and t-MAP@R on triggered
/// non-target queries. Every finished piece is saved in the run folder, so an interrupted run resumes where it stopped.
/// Writes results.json, results.md and report.html.
/// </summary>
public sealed class ExperimentRunner
{
    public const string ResolvedConfigName = "config.resolved.json";
    private readonly ExperimentConfig config;
    private readonly string outDir;
    private readonly IRunProgress progress;
    private readonly Device device;
    /// <summary>Database codes already computed during the run, by model file, reused by the report's retrieval example.</summary>
    private readonly Dictionary<string, BinaryCodes> databaseCodes = new();

    /// <summary>Folder where clean models and surrogates are kept (default: the run folder). Ablations over attack
    /// settings share one, so the clean models are trained once.</summary>
    public string? SharedModelsDir { get; init; }

    public ExperimentRunner(ExperimentConfig config, string outDir, IRunProgress progress)
    {
        this.config = config.Validate();
        this.outDir = Path.GetFullPath(outDir);
        this.progress = progress;
        device = TorchRuntime.ParseDevice(config.Device);
    }

    private QueryRule Rule => config.Evaluation.QueryRule == "zero" ? QueryRule.Zero : QueryRule.Skip;

    /// <summary>Runs (or resumes) the experiment and returns its results.</summary>
    public ExperimentResults Run(bool resume)
    {
        TorchRuntime.Configure();
        var wall = Stopwatch.StartNew();
        PrepareFolder(resume);
        // The full dataset is only needed to build the split and record its checksums: free it before training
        // (about 220 MB for Fashion-MNIST; the split holds copies).
        ProtocolSplit split;
        using (var data = DatasetCatalog.Load(config.Dataset))
        {
            split = RetrievalProtocol.Apply(data, config.Protocol);
            try
            {
                config.ValidateAgainst(split);
                WriteResolvedConfig(data);
            }
            catch
            {
                split.Dispose();
                throw;
            }
        }
        using var splitOwner = split;
        var spec = new HashModelSpec(config.Model.Architecture, config.Model.Bits, split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses).Validate();
        progress.Info($"dataset {split.Name}: train {split.Train.Count}, query {split.Query.Count}, database {split.Database.Count}; "
            + $"{config.Seeds.Count} seed(s) x {config.Targets.Count} target(s) x {config.Methods.Count} method(s)");

        var runs = new List<RunResult>();
        var cleanMaps = new List<double>();
        ReportArtifacts? artifacts = null;
        int total = config.Seeds.Count * config.Targets.Count * (config.Methods.Count + 1), done = 0;
        using var overall = progress.Start("experiment", total);
        foreach (long seed in config.Seeds)
        {
            string seedDir = Path.Combine(outDir, $"seed-{seed}");
            string modelsDir = Path.Combine(SharedModelsDir ?? outDir, $"seed-{seed}");
            var trainOptions = config.Training with { Seed = seed };
            using var clean = TrainedModel(spec, trainOptions, split.Train, Path.Combine(modelsDir, "clean"), $"seed {seed} clean model");
            using var surrogateOwned = config.Surrogate == "independent"
                ? TrainedModel(spec, config.Training with { Seed = seed + 1_000_003 }, split.Train, Path.Combine(modelsDir, "surrogate"), $"seed {seed} surrogate")
                : null;
            var surrogate = surrogateOwned ?? clean;
            var cleanDb = EvaluatePipeline.Encode(clean, split.Database, progress, $"seed {seed} clean database");
            var cleanQ = EvaluatePipeline.Encode(clean, split.Query, progress, $"seed {seed} clean queries");
            databaseCodes[Path.Combine(modelsDir, "clean", RunRecord.ModelFileName)] = cleanDb.Codes;
            var cleanIndex = new HammingIndex(cleanDb.Codes);
            double cleanMap = RetrievalMetrics.MeanAveragePrecision(cleanIndex, cleanQ.Codes, cleanQ.Labels, cleanDb.Labels, config.Evaluation.TopK, Rule).Percent;
            using var surrogateTrainCodes = HashEncoder.Encode(surrogate, split.Train.Images, 500, null, device);

            foreach (int target in config.Targets)
            {
                string targetDir = Path.Combine(seedDir, $"target-{target}");
                Directory.CreateDirectory(targetDir);
                using var anchor = AnchorCode.Compute(surrogateTrainCodes, split.Train.Labels, target);
                using var trigger = Trigger(surrogate, split.Train, anchor, seed, target, targetDir);
                using var triggered = NonTargetQueries(split.Query, target);

                // The clean model with triggered queries: what the patch alone achieves.
                var cleanRun = LoadResult(targetDir, "clean") ?? SaveResult(targetDir, "clean",
                    Score(clean, cleanIndex, cleanDb, cleanMap, triggered, trigger, seed, target, "clean", split, 0));
                runs.Add(cleanRun);
                overall.Report(++done, $"seed {seed} target {target} clean: t-MAP {cleanRun.TMap:F2}");

                foreach (string method in config.Methods)
                {
                    string methodDir = Path.Combine(targetDir, Safe(method));
                    var result = LoadResult(targetDir, method);
                    if (result is null)
                    {
                        var sw = Stopwatch.StartNew();
                        using var poison = Poison(method, split.Train, trigger, surrogate, target, seed);
                        if (artifacts is null && method == "ciba") artifacts = ReportArtifacts.FromPoison(poison, config.Perturbation.Epsilon);
                        using var victim = TrainedModel(spec, trainOptions, poison.Dataset, methodDir, $"seed {seed} target {target} {method} victim", poison.Plan);
                        var db = EvaluatePipeline.Encode(victim, split.Database, progress, $"{method} database");
                        var q = EvaluatePipeline.Encode(victim, split.Query, progress, $"{method} queries");
                        databaseCodes[Path.Combine(methodDir, RunRecord.ModelFileName)] = db.Codes;
                        var index = new HammingIndex(db.Codes);
                        double map = RetrievalMetrics.MeanAveragePrecision(index, q.Codes, q.Labels, db.Labels, config.Evaluation.TopK, Rule).Percent;
                        result = SaveResult(targetDir, method, Score(victim, index, db, map, triggered, trigger, seed, target, method, split, sw.Elapsed.TotalSeconds));
                    }
                    runs.Add(result);
                    overall.Report(++done, $"seed {seed} target {target} {method}: mAP {result.Map:F2} t-MAP {result.TMap:F2}");
                    progress.Info($"seed {seed} target {target} ({split.ClassNames[target]}) {method,-9}: mAP {result.Map:F2}  t-MAP {result.TMap:F2}  ({result.TMapQueriesCounted}/{result.TMapQueriesTotal} triggered queries counted)");
                }
            }
        }

        var results = new ExperimentResults { Protocol = Protocol(split, wall.Elapsed.TotalSeconds), Runs = runs, Summary = MethodSummary.From(runs) };
        WriteOutputs(results, split, spec, artifacts);
        progress.Info($"report: {Path.Combine(outDir, "report.html")}");
        return results;
    }

    private void PrepareFolder(bool resume)
    {
        string resolved = Path.Combine(outDir, ResolvedConfigName);
        if (File.Exists(resolved))
        {
            if (!resume) throw new UsageException($"--out {outDir}: already holds an experiment; pass --resume to continue it or choose another folder");
            var previous = ConfigFile.Load<ResolvedConfig>(resolved).Config;
            if (ConfigFile.ToJson(previous) != ConfigFile.ToJson(config))
                throw new UsageException($"--resume: the config differs from the one recorded in {resolved}; use a new --out folder");
        }
        // The folder is created by the first file written, after the config is checked against the data: a run that
        // fails validation leaves nothing behind.
    }

    private void WriteResolvedConfig(DatasetSplits data) => AtomicFile.WriteAllText(Path.Combine(outDir, ResolvedConfigName),
        ConfigFile.ToJson(new ResolvedConfig { Config = config, ToolkitVersion = ToolkitInfo.Version, DatasetChecksums = data.Checksums, Machine = RunRecord.DescribeMachine() }));

    private HashModel TrainedModel(HashModelSpec spec, HashTrainerOptions options, ImageDataset train, string dir, string label, TrainingSetPlan? plan = null)
    {
        string path = Path.Combine(dir, RunRecord.ModelFileName);
        if (File.Exists(path))
        {
            var (model, meta) = ModelFile.Load(path, spec);
            if (meta.EpochsTrained == options.Epochs && meta.Seed == options.Seed)
            {
                model.to(device);
                return model;
            }
            model.Dispose();
        }
        var trained = TrainPipeline.Train(spec, options, train, device, Path.Combine(dir, "checkpoint"), resume: true, progress, label, plan);
        ModelFile.Save(path, trained, new ModelMetadata { Spec = spec, Loss = options.Loss, EpochsTrained = options.Epochs, Seed = options.Seed, Note = label });
        // The finished model supersedes its epoch checkpoints.
        try { Directory.Delete(Path.Combine(dir, "checkpoint"), recursive: true); } catch (IOException) { }
        return trained;
    }

    private PatchTrigger Trigger(HashModel surrogate, ImageDataset train, Tensor anchor, long seed, int target, string dir)
    {
        string bin = Path.Combine(dir, "trigger.bin");
        if (File.Exists(bin)) return PatchTrigger.Load(bin);
        var options = config.Trigger with { Seed = seed * 1000 + target };
        using var step = progress.Start($"seed {seed} target {target} trigger ({options.Steps} steps)", options.Steps);
        var trigger = new TriggerOptimizer(options).Optimize(surrogate, train.Images, anchor,
            (s, loss) => step.Report(s, $"loss {loss:F4}"), CliCancellation.Token);
        trigger.Save(Path.Combine(dir, "trigger.png"), bin, pngScale: 8);
        return trigger;
    }

    private PoisonSet Poison(string method, ImageDataset train, PatchTrigger trigger, HashModel surrogate, int target, long seed)
    {
        var attack = PoisoningAttacks.Create(method);
        var options = new PoisonOptions { TargetClass = target, Count = config.Poison.Count, Seed = seed * 1000 + target, Perturbation = config.Perturbation };
        using var step = progress.Start($"{method}: poison {config.Poison.Count} images", config.Perturbation.Rounds);
        var context = new PoisonContext(options, trigger, surrogate)
        {
            PerturbationProgress = (round, objective) => step.Report(round, $"objective {objective:F4}"),
        };
        return attack.Poison(train, context);
    }

    /// <summary>Query images that share no label with the target.</summary>
    private static ImageDataset NonTargetQueries(ImageDataset query, int target)
    {
        using var keep = query.Labels.select(1, target).eq(0).nonzero().squeeze(1);
        return query.Subset(keep.data<long>().ToArray(), $"{query.Name} non-target {target}");
    }

    private RunResult Score(HashModel model, HammingIndex index, EncodedSet db, double map, ImageDataset triggered, PatchTrigger trigger,
        long seed, int target, string method, ProtocolSplit split, double seconds)
    {
        var tq = EvaluatePipeline.Encode(model, triggered, progress, $"{method} triggered queries", x => trigger.Paste(x));
        var targetLabels = LabelSets.Repeat(target, tq.Codes.Count, split.Train.NumClasses);
        var t = RetrievalMetrics.MeanAveragePrecision(index, tq.Codes, targetLabels, db.Labels, config.Evaluation.TopK, Rule);
        var t2 = t.Under(Rule == QueryRule.Skip ? QueryRule.Zero : QueryRule.Skip);
        return new RunResult
        {
            Target = target, TargetName = split.ClassNames[target], Seed = seed, Method = method, Map = Math.Round(map, 4), TMap = Math.Round(t.Percent, 4),
            TMapQueriesCounted = t.QueriesCounted, TMapQueriesTotal = t.QueriesTotal, TMapOtherRule = Math.Round(t2.Percent, 4), Seconds = Math.Round(seconds, 1),
        };
    }

    private static string Safe(string method) => method.Replace('+', '_');

    private static RunResult? LoadResult(string targetDir, string method)
    {
        string path = Path.Combine(targetDir, Safe(method), "result.json");
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<RunResult>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new DataException(path, $"damaged result file ({e.Message}); delete it to recompute"); }
    }

    private static RunResult SaveResult(string targetDir, string method, RunResult result)
    {
        AtomicFile.WriteAllText(Path.Combine(targetDir, Safe(method), "result.json"), JsonSerializer.Serialize(result, RunRecord.Json));
        return result;
    }

    private Dictionary<string, object?> Protocol(ProtocolSplit split, double seconds)
    {
        int classSize = config.Targets.Select(t => AttackValidation.TargetIndices(split.Train, t).Length).Min();
        return new()
        {
            ["dataset"] = config.Dataset,
            ["protocol"] = split.Name,
            ["protocolSeed"] = config.Protocol.Seed,
            ["query"] = split.Query.Count,
            ["train"] = split.Train.Count,
            ["database"] = split.Database.Count,
            ["architecture"] = config.Model.Architecture,
            ["bits"] = config.Model.Bits,
            ["loss"] = config.Training.Loss,
            ["epochs"] = config.Training.Epochs,
            ["surrogate"] = config.Surrogate,
            ["targets"] = config.Targets.Select(t => $"{t} ({split.ClassNames[t]})").ToArray(),
            ["seeds"] = config.Seeds,
            ["repetitions"] = config.Targets.Count * config.Seeds.Count,
            ["poisons"] = config.Poison.Count,
            ["poisonFractionOfTargetClass"] = Math.Round((double)config.Poison.Count / classSize, 4),
            ["poisonFractionOfTrainingSet"] = Math.Round((double)config.Poison.Count / split.Train.Count, 5),
            ["triggerSize"] = config.Trigger.Size,
            ["triggerSteps"] = config.Trigger.Steps,
            ["epsilon"] = $"{config.Perturbation.Epsilon * 255:F1}/255 (pixel units)",
            ["lambda"] = config.Perturbation.Lambda,
            ["perturbationRounds"] = config.Perturbation.Rounds,
            ["R"] = config.Evaluation.TopK,
            ["tieRule"] = "Hamming distance, ties broken by database order (stable)",
            ["queryRule"] = Rule == QueryRule.Skip ? "skip: mean over queries with at least one relevant item in the top R (reference code)" : "zero: such queries count as 0 (DeepHash-pytorch)",
            ["tMAPQueries"] = "query images sharing no label with the target, trigger pasted; relevant = database image has the target label",
            ["spread"] = "sample standard deviation over targets x seeds",
            ["wallSeconds"] = Math.Round(seconds, 0),
            ["machine"] = RunRecord.DescribeMachine(),
            ["toolkitVersion"] = ToolkitInfo.Version,
        };
    }

    private void WriteOutputs(ExperimentResults results, ProtocolSplit split, HashModelSpec spec, ReportArtifacts? artifacts)
    {
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), JsonSerializer.Serialize(results, RunRecord.Json));
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.md"), ResultsMarkdown.Render(results, results.Protocol));
        var content = new ReportContent
        {
            Title = $"CIBA experiment '{config.Name}' on {split.Name}",
            Protocol = results.Protocol,
            Results = results,
            Trigger = TriggerImage(),
            PoisonExamples = artifacts?.Examples ?? Array.Empty<PoisonExample>(),
            Retrieval = RetrievalExampleFor(split, spec),
            Notes = new[]
            {
                "clean = the clean model queried with triggered images (the patch alone, no poisoning). Every victim is trained from the clean model's initial weights with the same batch order.",
                "eps and step sizes are in pixel units on a 0..1 scale (method.md section 5 departure); see docs/attacks.md and docs/results.md for all departures.",
            },
        };
        HtmlReport.Write(Path.Combine(outDir, "report.html"), content);
    }

    private string FirstTargetDir => Path.Combine(outDir, $"seed-{config.Seeds[0]}", $"target-{config.Targets[0]}");

    private CaptionedImage? TriggerImage()
    {
        string bin = Path.Combine(FirstTargetDir, "trigger.bin");
        if (!File.Exists(bin)) return null;
        using var t = PatchTrigger.Load(bin);
        return new CaptionedImage(t.EnlargedPng(16), $"trigger, {t.Size}x{t.Size} px, seed {config.Seeds[0]}, target {config.Targets[0]} (enlarged 16x)");
    }

    private RetrievalExample? RetrievalExampleFor(ProtocolSplit split, HashModelSpec spec)
    {
        string method = config.Methods.Contains("ciba") ? "ciba" : config.Methods[^1];
        string victimPath = Path.Combine(FirstTargetDir, Safe(method), RunRecord.ModelFileName);
        string cleanPath = Path.Combine(SharedModelsDir ?? outDir, $"seed-{config.Seeds[0]}", "clean", RunRecord.ModelFileName);
        string bin = Path.Combine(FirstTargetDir, "trigger.bin");
        if (!File.Exists(victimPath) || !File.Exists(cleanPath) || !File.Exists(bin)) return null;
        int target = config.Targets[0];
        using var trigger = PatchTrigger.Load(bin);
        using var queries = NonTargetQueries(split.Query, target);
        using var one = queries.Subset(new long[] { 0 });
        using var q = trigger.Paste(one.Images);
        var (cleanModel, _) = ModelFile.Load(cleanPath, spec);
        var (victim, _) = ModelFile.Load(victimPath, spec);
        using (cleanModel)
        using (victim)
        {
            var name = split.ClassNames;
            var qLabel = one.SingleLabelsOrFirst()[0];
            return new RetrievalExample(
                new CaptionedImage(ImagePng.FromTensor(q[0], 4), $"triggered query (true class {name[qLabel]}), target {name[target]}"),
                "clean model", Top(cleanModel, cleanPath, q, split, target, 10), $"{method} victim", Top(victim, victimPath, q, split, target, 10));
        }
    }

    private List<RankedResult> Top(HashModel model, string modelPath, Tensor query, ProtocolSplit split, int target, int k)
    {
        if (!databaseCodes.TryGetValue(modelPath, out var dbCodes))
            dbCodes = EvaluatePipeline.Encode(model, split.Database, RunProgress.None, "database").Codes; // resumed run: not in memory
        using var signs = HashEncoder.Encode(model, query, 1, null, device);
        var qc = CodeConversion.ToBinaryCodes(signs, out _);
        var idx = new HammingIndex(dbCodes).Search(qc, k, out int[] dist);
        var labels = split.Database.SingleLabelsOrFirst();
        return idx.Select((j, r) =>
        {
            using var img = split.Database.Images[j];
            return new RankedResult(ImagePng.FromTensor(img, 3), $"#{r + 1} {split.ClassNames[labels[j]]} (d={dist[r]})", labels[j] == target);
        }).ToList();
    }

    /// <summary>Everything recorded in config.resolved.json.</summary>
    public sealed record ResolvedConfig
    {
        public required ExperimentConfig Config { get; init; }
        public string? ToolkitVersion { get; init; }
        public IReadOnlyDictionary<string, string>? DatasetChecksums { get; init; }
        public string? Machine { get; init; }
    }

    private sealed record ReportArtifacts(IReadOnlyList<PoisonExample> Examples)
    {
        public static ReportArtifacts FromPoison(PoisonSet poison, double eps)
        {
            var list = new List<PoisonExample>();
            int n = (int)Math.Min(4, poison.PoisonedIndices.Length);
            for (int i = 0; i < n; i++)
            {
                using var o = poison.Originals[i];
                using var d = poison.Perturbations[i];
                using var p = poison.PoisonedImages[i];
                list.Add(new PoisonExample(
                    new CaptionedImage(ImagePng.FromTensor(o, 4), $"original #{poison.PoisonedIndices[i]}"),
                    new CaptionedImage(ImagePng.Perturbation(d, eps, 4), "perturbation (amplified to full range)"),
                    new CaptionedImage(ImagePng.FromTensor(p, 4), "poisoned (perturbation + trigger)")));
            }
            return new ReportArtifacts(list);
        }
    }
}
