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
    /// <summary>The resolved config's file name (<see cref="RunFolder.ResolvedConfigName"/>).</summary>
    public const string ResolvedConfigName = RunFolder.ResolvedConfigName;
    private readonly ExperimentConfig config;
    private readonly RunFolder folder;
    private readonly RunContext context;
    private IRunProgress progress => context.Progress;

    /// <summary>An experiment of <paramref name="config"/> in <paramref name="folder"/>, run with <paramref name="context"/>.</summary>
    public ExperimentRunner(ExperimentConfig config, RunFolder folder, RunContext context)
    {
        this.config = config.Validate();
        this.folder = folder;
        this.context = context;
    }

    /// <summary>An experiment in the run folder <paramref name="outDir"/> on the config's device, reporting to
    /// <paramref name="progress"/>, stopped by <paramref name="cancel"/>.</summary>
    public ExperimentRunner(ExperimentConfig config, string outDir, IRunProgress progress, CancellationToken cancel = default)
        : this(config, new RunFolder(outDir), RunContext.For(config.Validate().Device, progress, cancel))
    {
    }

    /// <summary>The run folder.</summary>
    public RunFolder Folder => folder;

    private QueryRule Rule => config.Evaluation.QueryRule;

    /// <summary>Runs (or resumes) the experiment and returns its results. The folder is checked before any work (a file,
    /// not writable, another kind of run: <see cref="UsageException"/>) and locked for the run (<see cref="RunLock"/>: a
    /// second process is refused); temporary files a killed run left behind are removed.</summary>
    public ExperimentResults Run(bool resume)
    {
        RunKinds.RequireOutputFolder(folder.Root, "--out", RunKind.Experiment);
        using var runLock = folder.Lock();
        return RunHoldingLock(resume);
    }

    /// <summary><see cref="Run"/> for a caller that already holds the folder's lock (a shard merging the results).</summary>
    internal ExperimentResults RunHoldingLock(bool resume)
    {
        TorchRuntime.Configure();
        var wall = Stopwatch.StartNew();
        folder.CheckResume(config, resume);
        // The full dataset is only needed to build the split and record its checksums: free it before training
        // (about 220 MB for Fashion-MNIST; the split holds copies).
        ProtocolSplit split;
        using (var data = DatasetCatalog.Load(config.Dataset))
        {
            split = RetrievalProtocol.Apply(data, config.Protocol);
            try
            {
                config.ValidateAgainst(split);
                folder.WriteResolvedConfig(new ResolvedConfig { Config = config, ToolkitVersion = ToolkitInfo.Version, DatasetChecksums = data.Checksums, Machine = RunRecord.DescribeMachine() });
                folder.WriteLabels(split);
            }
            catch
            {
                split.Dispose();
                throw;
            }
        }
        using var splitOwner = split;
        var spec = config.Model.Spec(split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses);
        progress.Info($"dataset {split.Name}: train {split.Train.Count}, query {split.Query.Count}, database {split.Database.Count}; "
            + $"{config.Seeds.Count} seed(s) x {config.Targets.Count} target(s) x {config.Methods.Count} method(s)");

        var seeds = context.Seeds;
        var runs = new List<RunResult>();
        ReportArtifacts? artifacts = null;
        int total = config.Seeds.Count * config.Targets.Count * (config.Methods.Count + 1), done = 0;
        using var overall = progress.Start("experiment", total);
        foreach (long seed in config.Seeds)
        {
            var trainOptions = config.Training.ToTrainerOptions(seeds.For(SeedPurpose.Training, seed));
            using var clean = TrainedModel(spec, trainOptions, split.Train, folder.CleanModelDir(seed), $"seed {seed} clean model");
            using var surrogateOwned = config.Surrogate.Kind == SurrogateKind.Independent
                ? TrainedModel(spec, config.Training.ToTrainerOptions(seeds.For(SeedPurpose.Surrogate, seed)), split.Train, folder.SurrogateModelDir(seed), $"seed {seed} surrogate")
                : null;
            var surrogate = surrogateOwned ?? clean;
            var cleanDb = Encode(clean, split.Database, $"seed {seed} clean database", folder.CodesPath(seed, 0, RunFolder.CleanMethod, CodeSet.Database));
            var cleanQ = Encode(clean, split.Query, $"seed {seed} clean queries", folder.CodesPath(seed, 0, RunFolder.CleanMethod, CodeSet.Query));
            var cleanIndex = new HammingIndex(cleanDb.Codes);
            double cleanMap = RetrievalMetrics.MeanAveragePrecision(cleanIndex, cleanQ.Codes, cleanQ.Labels, cleanDb.Labels, config.Evaluation.TopK, Rule).Percent;
            using var surrogateTrainCodes = HashEncoder.Encode(surrogate, split.Train.Images, 500, null, context.Device);

            foreach (int target in config.Targets)
            {
                Directory.CreateDirectory(folder.TargetDir(seed, target));
                using var anchor = AnchorCode.Compute(surrogateTrainCodes, split.Train.Labels, target);
                using var trigger = Trigger(surrogate, split.Train, anchor, seed, target);
                long[] triggeredRows = NonTargetRows(split.Query, target);
                folder.WriteTriggeredQueries(seed, target, triggeredRows);
                using var triggered = split.Query.Subset(triggeredRows, $"{split.Query.Name} non-target {target}");

                // The clean model with triggered queries: what the patch alone achieves.
                var cleanRun = folder.ReadResult(seed, target, RunFolder.CleanMethod) ?? folder.WriteResult(
                    Score(clean, cleanIndex, cleanDb, cleanMap, triggered, trigger, seed, target, RunFolder.CleanMethod, split, 0));
                runs.Add(cleanRun);
                overall.Report(++done, $"seed {seed} target {target} clean: t-MAP {cleanRun.TMap:F2}");

                foreach (string method in config.Methods)
                {
                    var result = folder.ReadResult(seed, target, method);
                    if (result is null)
                    {
                        var sw = Stopwatch.StartNew();
                        using var poison = Poison(method, split.Train, trigger, surrogate, target, seed);
                        if (artifacts is null && method == "ciba") artifacts = ReportArtifacts.FromPoison(poison, config.Perturbation.Epsilon);
                        using var victim = TrainedModel(spec, trainOptions, poison.Dataset, folder.ModelDir(seed, target, method), $"seed {seed} target {target} {method} victim", poison.Plan);
                        var db = Encode(victim, split.Database, $"{method} database", folder.CodesPath(seed, target, method, CodeSet.Database));
                        var q = Encode(victim, split.Query, $"{method} queries", folder.CodesPath(seed, target, method, CodeSet.Query));
                        var index = new HammingIndex(db.Codes);
                        double map = RetrievalMetrics.MeanAveragePrecision(index, q.Codes, q.Labels, db.Labels, config.Evaluation.TopK, Rule).Percent;
                        result = folder.WriteResult(Score(victim, index, db, map, triggered, trigger, seed, target, method, split, sw.Elapsed.TotalSeconds));
                    }
                    runs.Add(result);
                    overall.Report(++done, $"seed {seed} target {target} {method}: mAP {result.Map:F2} t-MAP {result.TMap:F2}");
                    progress.Info($"seed {seed} target {target} ({split.ClassNames[target]}) {method,-9}: mAP {result.Map:F2}  t-MAP {result.TMap:F2}  ({result.TMapQueriesCounted}/{result.TMapQueriesTotal} triggered queries counted)");
                }
            }
        }

        var results = new ExperimentResults { Protocol = Protocol(split, wall.Elapsed.TotalSeconds), Runs = runs, Summary = MethodSummary.From(runs) };
        WriteOutputs(results, split, spec, artifacts);
        progress.Info($"report: {folder.ReportHtmlPath}");
        return results;
    }

    internal EncodedSet Encode(HashModel model, ImageDataset set, string label, string codesPath, Func<Tensor, Tensor>? transform = null)
    {
        var encoded = EvaluatePipeline.Encode(model, set, progress, label, transform);
        RunFolder.WriteCodes(codesPath, encoded.Codes);
        return encoded;
    }

    internal HashModel TrainedModel(HashModelSpec spec, HashTrainerOptions options, ImageDataset train, string dir, string label, TrainingSetPlan? plan = null)
    {
        string path = RunFolder.ModelFileIn(dir);
        if (File.Exists(path))
        {
            var (model, meta) = ModelFile.Load(path, spec);
            if (meta.EpochsTrained == options.Epochs && meta.Seed == options.Seed)
            {
                model.to(context.Device);
                return model;
            }
            model.Dispose();
        }
        string checkpoint = RunFolder.CheckpointDirIn(dir);
        var trained = TrainPipeline.Train(spec, options, train, context, checkpoint, resume: true, label, plan);
        ModelFile.Save(path, trained, new ModelMetadata { Spec = spec, Loss = options.Loss, EpochsTrained = options.Epochs, Seed = options.Seed, Note = label });
        // The finished model supersedes its epoch checkpoints.
        try { Directory.Delete(checkpoint, recursive: true); } catch (IOException) { }
        return trained;
    }

    internal PatchTrigger Trigger(HashModel surrogate, ImageDataset train, Tensor anchor, long seed, int target)
    {
        string bin = folder.TriggerPath(seed, target);
        if (File.Exists(bin)) return PatchTrigger.Load(bin);
        var options = config.Trigger.ToOptions(context.Seeds.For(SeedPurpose.Trigger, seed, target));
        using var step = progress.Start($"seed {seed} target {target} trigger ({options.Steps} steps)", options.Steps);
        var trigger = new TriggerOptimizer(options).Optimize(surrogate, train.Images, anchor,
            (s, loss) => step.Report(s, $"loss {loss:F4}"), context.Cancellation);
        trigger.Save(folder.TriggerPngPath(seed, target), bin, pngScale: 8);
        return trigger;
    }

    /// <summary>The attack's poison set: read back from the run folder when an earlier (interrupted) run saved it, else
    /// computed and saved.</summary>
    internal PoisonSet Poison(string method, ImageDataset train, PatchTrigger trigger, HashModel surrogate, int target, long seed)
    {
        var saved = folder.ReadPoison(seed, target, method, train, trigger);
        if (saved is not null) return saved;
        var attack = PoisoningAttacks.Create(method);
        long poisonSeed = context.Seeds.For(SeedPurpose.Poison, seed, target);
        var options = new PoisonOptions { TargetClass = target, Count = config.Poison.Count, Seed = poisonSeed, Perturbation = config.Perturbation.ToOptions() };
        using var step = progress.Start($"{method}: poison {config.Poison.Count} images", config.Perturbation.Rounds);
        var poisonContext = new PoisonContext(options, trigger, surrogate)
        {
            PerturbationProgress = (round, objective) => step.Report(round, $"objective {objective:F4}"),
            Cancellation = context.Cancellation,
        };
        var set = attack.Poison(train, poisonContext);
        try { folder.WritePoison(seed, set, poisonSeed, train.Count); }
        catch { set.Dispose(); throw; }
        return set;
    }

    /// <summary>Rows of the query split that share no label with the target (its triggered queries).</summary>
    internal static long[] NonTargetRows(ImageDataset query, int target)
    {
        using var keep = query.Labels.select(1, target).eq(0).nonzero().squeeze(1);
        return keep.data<long>().ToArray();
    }

    internal RunResult Score(HashModel model, HammingIndex index, EncodedSet db, double map, ImageDataset triggered, PatchTrigger trigger,
        long seed, int target, string method, ProtocolSplit split, double seconds)
    {
        var tq = Encode(model, triggered, $"{method} triggered queries", folder.CodesPath(seed, target, method, CodeSet.TriggeredQueries), x => trigger.Paste(x));
        var targetLabels = LabelSets.Repeat(target, tq.Codes.Count, split.Train.NumClasses);
        var t = RetrievalMetrics.MeanAveragePrecision(index, tq.Codes, targetLabels, db.Labels, config.Evaluation.TopK, Rule);
        var t2 = t.Under(Rule == QueryRule.Skip ? QueryRule.Zero : QueryRule.Skip);
        return new RunResult
        {
            Target = target, TargetName = split.ClassNames[target], Seed = seed, Method = method, Map = Math.Round(map, 4), TMap = Math.Round(t.Percent, 4),
            TMapQueriesCounted = t.QueriesCounted, TMapQueriesTotal = t.QueriesTotal, TMapOtherRule = Math.Round(t2.Percent, 4), Seconds = Math.Round(seconds, 1),
        };
    }

    private Dictionary<string, object?> Protocol(ProtocolSplit split, double seconds)
    {
        int classSize = config.Targets.Select(t => TargetRows.Indices(split.Train, t).Length).Min();
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
            ["surrogate"] = ConfigEnumConverter.NameOf(config.Surrogate.Kind),
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
        AtomicFile.WriteAllText(folder.ResultsJsonPath, JsonSerializer.Serialize(results, RunRecord.Json));
        AtomicFile.WriteAllText(folder.ResultsMarkdownPath, ResultsMarkdown.Render(results, results.Protocol));
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
        HtmlReport.Write(folder.ReportHtmlPath, content);
    }

    private CaptionedImage? TriggerImage()
    {
        string bin = folder.TriggerPath(config.Seeds[0], config.Targets[0]);
        if (!File.Exists(bin)) return null;
        using var t = PatchTrigger.Load(bin);
        return new CaptionedImage(t.EnlargedPng(16), $"trigger, {t.Size}x{t.Size} px, seed {config.Seeds[0]}, target {config.Targets[0]} (enlarged 16x)");
    }

    private RetrievalExample? RetrievalExampleFor(ProtocolSplit split, HashModelSpec spec)
    {
        string method = config.Methods.Contains("ciba") ? "ciba" : config.Methods[^1];
        long seed = config.Seeds[0];
        string victimPath = folder.ModelPath(seed, config.Targets[0], method);
        string cleanPath = folder.ModelPath(seed, config.Targets[0], RunFolder.CleanMethod);
        string bin = folder.TriggerPath(seed, config.Targets[0]);
        if (!File.Exists(victimPath) || !File.Exists(cleanPath) || !File.Exists(bin)) return null;
        int target = config.Targets[0];
        using var trigger = PatchTrigger.Load(bin);
        using var one = split.Query.Subset(new[] { NonTargetRows(split.Query, target)[0] });
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
                "clean model", Top(cleanModel, folder.CodesPath(seed, target, RunFolder.CleanMethod, CodeSet.Database), q, split, target, 10),
                $"{method} victim", Top(victim, folder.CodesPath(seed, target, method, CodeSet.Database), q, split, target, 10));
        }
    }

    private List<RankedResult> Top(HashModel model, string databaseCodesPath, Tensor query, ProtocolSplit split, int target, int k)
    {
        // The codes the run wrote (a folder from before codes were kept: encode again).
        var dbCodes = RunFolder.ReadCodes(databaseCodesPath) ?? EvaluatePipeline.Encode(model, split.Database, RunProgress.None, "database").Codes;
        using var signs = HashEncoder.Encode(model, query, 1, null, context.Device);
        var qc = CodeConversion.ToBinaryCodes(signs, out _);
        var idx = new HammingIndex(dbCodes).Search(qc, k, out int[] dist);
        var labels = split.Database.SingleLabelsOrFirst();
        return idx.Select((j, r) =>
        {
            using var img = split.Database.Images[j];
            return new RankedResult(ImagePng.FromTensor(img, 3), $"#{r + 1} {split.ClassNames[labels[j]]} (d={dist[r]})", labels[j] == target);
        }).ToList();
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
