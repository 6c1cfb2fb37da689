using System.Diagnostics;
using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;
using HashBackdoor.Data;
using HashBackdoor.Experiments.Graph;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Experiments.Sharding;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>
/// Runs a CIBA experiment (method.md sections 3-7) in one process: the units of its <see cref="ExperimentGraph"/> (clean
/// model and surrogate per seed; per target the anchor code and trigger; per method a poisoned training set and a victim
/// trained from the clean model's initial weights; the test-time attacks; the defense cells; the results), executed in
/// the graph's order by a <see cref="UnitExecutor"/>, the same executor a shard (<see cref="ShardedExperimentRunner"/>)
/// runs its units with. Every finished piece goes to the <see cref="RunFolder"/>, so an interrupted run resumes where it
/// stopped; seeds come from the context's <see cref="RunSeeds"/>. The outputs (results.json, results.md, report.html) are
/// written by <see cref="ExperimentReportBuilder"/>.
/// </summary>
public sealed class ExperimentRunner
{
    /// <summary>The resolved config's file name (<see cref="RunFolder.ResolvedConfigName"/>).</summary>
    public const string ResolvedConfigName = RunFolder.ResolvedConfigName;
    private readonly ExperimentConfig config;
    private readonly RunFolder folder;
    private readonly RunContext context;

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

    /// <summary>Runs (or resumes) the experiment and returns its results. The folder is checked before any work (a file,
    /// not writable, another kind of run: <see cref="UsageException"/>) and locked for the run (<see cref="RunLock"/>: a
    /// second process is refused); temporary files a killed run left behind are removed.</summary>
    public ExperimentResults Run(bool resume)
    {
        RunKinds.RequireOutputFolder(folder.Root, "outDir", RunKind.Experiment);
        using var runLock = folder.Lock();
        TorchRuntime.Configure();
        folder.CheckResume(config, resume);
        // Recorded under RUN/sessions/ so that results.json gives the whole run's wall time, not only this session's.
        using var session = RunSessions.Start(folder.Root, "experiment");
        using var executor = UnitExecutor.Open(config, folder, context, session);
        var graph = ExperimentGraph.Of(config);
        context.Log($"dataset {executor.Split.Name}: train {executor.Split.Train.Count}, query {executor.Split.Query.Count}, database {executor.Split.Database.Count}; "
            + $"{config.Seeds.Count} seed(s) x {config.Targets.Count} target(s) x {config.Methods.Count} method(s)"
            + (config.TestTime.Count > 0 ? $" + {config.TestTime.Count} test-time attack(s)" : "")
            + (config.Defenses.Count > 0 ? $" + {config.DefenseNames().Count} defense(s)" : ""));
        using (var overall = context.Step("experiment", graph.Units.Count))
        {
            for (int i = 0; i < graph.Units.Count; i++)
            {
                executor.Execute(graph.Units[i]);
                overall.Report(i + 1, graph.Units[i].Id);
            }
        }
        context.Log($"report: {folder.ReportHtmlPath}");
        session.Finish();
        return executor.Results!;
    }
}

/// <summary>
/// The computations the units of an experiment are made of (<see cref="UnitExecutor"/> calls them): train or read back a
/// model, optimise or read back a trigger, poison, encode and score. Each reads back what the run folder already holds
/// and writes what it computes.
/// </summary>
internal sealed class ExperimentSteps : IDisposable
{
    private readonly ExperimentConfig config;
    private readonly RunFolder folder;
    private readonly RunContext context;
    // The frozen-prefix cache of a pretrained config (PrefixCacheFor): built on first use, lives as long as the steps.
    private ProtocolSplit? cacheSplit;
    private (FrozenPrefixCache Cache, HashModel Prototype)? prefixCache;

    /// <summary>The steps of <paramref name="config"/> (validated) in <paramref name="folder"/>.</summary>
    public ExperimentSteps(ExperimentConfig config, RunFolder folder, RunContext context)
    {
        this.config = config;
        this.folder = folder;
        this.context = context;
    }

    private IRunProgress Progress => context.Progress;
    private QueryRule Rule => config.Evaluation.QueryRule;
    private int TopK => config.Evaluation.TopK;

    /// <summary>The independent surrogate of <paramref name="seed"/> (its own seed; the transfer threat model's loss and
    /// architecture when the config names them), trained or read back; null for the twin surrogate (the clean model).</summary>
    internal HashModel? TrainedSurrogate(HashModelSpec spec, ProtocolSplit split, long seed) => config.Surrogate.Kind == SurrogateKind.Independent
        ? TrainedModel(spec with { Architecture = config.Surrogate.Architecture ?? spec.Architecture },
            config.Training.ToTrainerOptions(context.Seeds.For(SeedPurpose.Surrogate, seed)) with { Loss = config.Surrogate.Loss ?? config.Training.Loss },
            split.Train, folder.SurrogateModelDir(seed), $"seed {seed} surrogate")
        : null;

    /// <summary>The queries the run reports on (<see cref="ExperimentConfig.Queries"/>).</summary>
    internal ImageDataset Queries(ProtocolSplit split) => config.Queries(split);

    /// <summary>The clean model with triggered queries (what the patch alone achieves), with the trigger's own effect on
    /// the surrogate (a control: a targeted adversarial patch moves codes toward the anchor); recorded in the folder.</summary>
    internal RunResult ScoreClean(HashModel clean, ModelCodes scores, ImageDataset triggered, PatchTrigger trigger, HashModel surrogate, Tensor anchor,
        ProtocolSplit split, long seed, int target) =>
        folder.WriteResult(Score(clean, scores, triggered, trigger, split, seed, target, RunFolder.CleanMethod, 0) with
        {
            TriggerEffect = TriggerEffect.Measure(surrogate, triggered.Images, anchor, trigger, config.Trigger.ToOptions(0)),
        });

    /// <summary>Poisons, trains the victim, scores it, and records the result.</summary>
    internal RunResult Attack(string method, HashModelSpec spec, HashTrainerOptions trainOptions, ProtocolSplit split, HashModel surrogate,
        PatchTrigger trigger, ImageDataset triggered, long seed, int target)
    {
        var sw = Stopwatch.StartNew();
        using var poison = Poison(method, split.Train, trigger, surrogate, target, seed);
        using var victim = TrainedModel(spec, trainOptions, poison.Dataset, folder.ModelDir(seed, target, method), $"seed {seed} target {target} {method} victim", poison.Plan);
        var scores = ModelCodes.Of(victim, split, config.Queries(split), seed, target, method, this);
        using var perturbed = poison.Originals.add(poison.Perturbations).clamp(0, 1);
        return folder.WriteResult(Score(victim, scores, triggered, trigger, split, seed, target, method, sw.Elapsed.TotalSeconds) with
        {
            Perturbation = Perceptibility.Measure(perturbed, poison.Originals),
            Poisoned = Perceptibility.Measure(poison.PoisonedImages, poison.Originals),
        });
    }

    /// <summary>The result with its display name (<see cref="MethodNames"/>; results written before display names were
    /// recorded get theirs here).</summary>
    internal static RunResult Named(RunResult result) => result with { DisplayName = MethodNames.Display(result.Method) };

    /// <summary>
    /// A test-time attack (<see cref="TestTimeAttacks"/>) against the clean model: the triggered-query rows, without the
    /// trigger, perturbed within <c>testTimeAttack.epsilon</c> towards the target (white-box: the clean model's own
    /// training codes); the adversarial images and their codes are written to the method's folder. mAP and the chance
    /// level are the clean model's (the attack does not change the model); the budget row measures the perturbation.
    /// </summary>
    internal RunResult TestTimeAttack(string name, HashModel clean, Tensor cleanTrainCodes, ModelCodes cleanScores, RunResult cleanRun,
        ImageDataset triggered, ProtocolSplit split, long seed, int target)
    {
        var sw = Stopwatch.StartNew();
        var attack = TestTimeAttacks.Create(name, config.SettingsOf(name));
        var options = config.TestTimeAttack.ToOptions(config.Perturbation.Epsilon, context.Seeds.For(SeedPurpose.TestTime, seed, target));
        long n = triggered.Count;
        TestTimeAttackResult result;
        using (var step = Progress.Start($"seed {seed} target {target} {name} ({n} queries x {options.Steps} steps)", Math.Max(1, n * options.Steps)))
        {
            var attackContext = new TestTimeAttackContext(clean, cleanTrainCodes, split.Train.Labels, target, options)
            {
                Progress = (start, stepsDone) => step.Report(start * options.Steps + stepsDone * Math.Min(options.BatchSize, n - start)),
            };
            result = attack.Attack(triggered.Images, attackContext, context.Cancellation);
        }
        using var owned = result;
        folder.WriteAdversarialQueries(seed, target, name, result.Adversarial);
        using var adversarial = new ImageDataset($"{name} adversarial queries", result.Adversarial.clone(), triggered.Labels.clone(), split.ClassNames);
        var codes = Encode(clean, adversarial, $"{name} adversarial queries", folder.CodesPath(seed, target, name, CodeSet.TriggeredQueries));
        var t = RetrievalScoring.TargetMap(cleanScores.Index, codes, target, cleanScores.Database, TopK, Rule);
        return folder.WriteResult(TargetFigures.TestTime(cleanRun, t, RetrievalScoring.Other(Rule)) with
        {
            Target = target, TargetName = split.ClassNames[target], Seed = seed, Method = name, DisplayName = MethodNames.Display(name),
            Seconds = Math.Round(sw.Elapsed.TotalSeconds, 1),
            Perturbation = Perceptibility.Measure(result.Adversarial, triggered.Images),
        });
    }

    /// <summary>A model's database and clean-query codes (both written to the folder by <see cref="Of"/>), the database's
    /// Hamming index, and the model's clean mAP.</summary>
    internal sealed record ModelCodes(EncodedSet Database, EncodedSet Queries, HammingIndex Index, TieAwareMap Map)
    {
        public static ModelCodes Of(HashModel model, ProtocolSplit split, ImageDataset queries, long seed, int target, string method, ExperimentSteps run)
        {
            var db = run.Encode(model, split.Database, $"seed {seed} {method} database", run.folder.CodesPath(seed, target, method, CodeSet.Database));
            var q = run.Encode(model, queries, $"seed {seed} {method} queries", run.folder.CodesPath(seed, target, method, CodeSet.Query));
            var index = new HammingIndex(db.Codes);
            return new ModelCodes(db, q, index, RetrievalScoring.Map(index, q, db, run.TopK, run.Rule));
        }
    }

    /// <summary>t-MAP of the triggered queries (codes written to the folder) beside the model's clean mAP.</summary>
    internal RunResult Score(HashModel model, ModelCodes scores, ImageDataset triggered, PatchTrigger trigger, ProtocolSplit split,
        long seed, int target, string method, double seconds)
    {
        var tq = Encode(model, triggered, $"{method} triggered queries", folder.CodesPath(seed, target, method, CodeSet.TriggeredQueries), x => trigger.Paste(x));
        // Control: the same queries without the trigger (the model's chance level for the target): their rows of the
        // model's clean-query codes, so that `hashbd rescore` recomputes it from the saved codes.
        var plain = scores.Queries.Codes.Select(TargetRows.WithoutTarget(config.Queries(split), target));
        var figures = TargetFigures.Score(scores.Map, scores.Index, tq.Codes, plain, target, scores.Database, TopK, Rule);
        return figures with { Target = target, TargetName = split.ClassNames[target], Seed = seed, Method = method, Seconds = Math.Round(seconds, 1) };
    }

    internal EncodedSet Encode(HashModel model, ImageDataset set, string label, string codesPath, Func<Tensor, Tensor>? transform = null)
    {
        // Only the split's own clean database and queries may be cached; a transformed set never is.
        bool clean = transform is null && cacheSplit is not null
            && (ReferenceEquals(set, cacheSplit.Database) || ReferenceEquals(set, cacheSplit.Query) || ReferenceEquals(set, cacheSplit.Validation));
        var encoded = RetrievalScoring.Encode(model, set, Progress, label, transform, clean ? PrefixCacheFor(model.Spec, set, flips: false) : null);
        RunFolder.WriteCodes(codesPath, encoded.Codes);
        return encoded;
    }

    /// <summary>The model in <paramref name="dir"/> when it was trained with these options' seed and epochs, else trained
    /// (resuming from its epoch checkpoint) and saved.</summary>
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
        var prefix = cacheSplit is not null && options.FreezeStages == config.Training.FreezeStages
            && options.Augmentation is AugmentationKind.None or AugmentationKind.Flip
            ? PrefixCacheFor(spec, cacheSplit.Train, flips: options.Augmentation == AugmentationKind.Flip) : null;
        var trained = TrainPipeline.Train(spec, options, train, context, checkpoint, resume: true, label, plan, prefix: prefix);
        ModelFile.Save(path, trained, new ModelMetadata { Spec = spec, Loss = options.Loss, EpochsTrained = options.Epochs, Seed = options.Seed, Note = label });
        // The finished model supersedes its epoch checkpoints.
        try { Directory.Delete(checkpoint, recursive: true); } catch (IOException) { }
        return trained;
    }

    /// <summary>Lets these steps keep frozen-prefix outputs of <paramref name="split"/>'s clean training, database and
    /// query images (<see cref="FrozenPrefixCache"/>) when the config qualifies (<see cref="PrefixCacheFor"/>).</summary>
    internal void UsePrefixCache(ProtocolSplit split) => cacheSplit = split;

    /// <summary>Frees the frozen-prefix cache.</summary>
    public void Dispose()
    {
        if (prefixCache is { } p) { p.Cache.Dispose(); p.Prototype.Dispose(); }
        prefixCache = null;
        cacheSplit = null;
    }

    /// <summary>
    /// The run's frozen-prefix cache with <paramref name="set"/>'s clean images in it, or null when the config does not
    /// qualify: every model must start its frozen stages from the same public weights (<c>model.pretrained</c> set,
    /// <c>training.freezeStages</c> at least 1, augmentation none or flip), and the model <paramref name="spec"/> must
    /// be the config's. Models whose prefix differs (a transfer surrogate of another architecture) do not read it
    /// (<see cref="FrozenPrefixCache.Matches"/>). Built on first use from a prototype model of the config (the global
    /// torch generator is restored afterwards, so building it changes no seeded draw).
    /// </summary>
    internal FrozenPrefixCache? PrefixCacheFor(HashModelSpec spec, ImageDataset set, bool flips)
    {
        var t = config.Training;
        if (config.Model.Pretrained is null || t.FreezeStages < 1 || t.Augmentation is not (AugmentationKind.None or AugmentationKind.Flip)) return null;
        if (prefixCache is null)
        {
            var rng = torch.random.get_rng_state();
            try
            {
                var prototype = HashModel.Create(spec);
                var cache = FrozenPrefixCache.Create(prototype, t.FreezeStages, ConfigEnumConverter.NameOf(t.Augmentation));
                if (cache is null) { prototype.Dispose(); return null; }
                prototype.to(context.Device);
                prefixCache = (cache, prototype);
            }
            finally
            {
                torch.random.set_rng_state(rng);
                rng.Dispose();
            }
        }
        var (c, proto) = prefixCache.Value;
        if (proto.Spec != spec) return null;
        var found = c.Find(set.Images);
        if (found is not null && (!flips || found.Flipped is not null)) return c;
        var timer = Stopwatch.StartNew();
        using (var step = Progress.Start($"frozen-prefix cache: {set.Name} ({set.Count} images{(flips ? ", both flips" : "")})", 1))
            c.Add(proto, set.Images, flips, context.Cancellation);
        Progress.Info($"frozen-prefix cache: {set.Name} ({set.Count} images{(flips ? " x 2 flips" : "")}, {c.Stages} stage(s)) in {timer.Elapsed.TotalSeconds:F0} s; cache {c.Bytes / 1048576.0:F0} MiB");
        return c;
    }

    /// <summary>The target's trigger: read back from the folder, or optimised on the surrogate and saved.</summary>
    internal PatchTrigger Trigger(HashModel surrogate, ImageDataset train, Tensor anchor, long seed, int target)
    {
        string bin = folder.TriggerPath(seed, target);
        if (File.Exists(bin)) return PatchTrigger.Load(bin);
        var options = config.Trigger.ToOptions(context.Seeds.For(SeedPurpose.Trigger, seed, target));
        using var step = Progress.Start($"seed {seed} target {target} trigger ({options.Steps} steps)", options.Steps);
        var trigger = new TriggerOptimizer(options).Optimize(surrogate, train.Images, anchor,
            (s, loss) => step.Report(s, $"loss {loss:F4}"), context.Cancellation);
        trigger.Save(folder.TriggerPngPath(seed, target), bin, pngScale: 8);
        return trigger;
    }

    /// <summary>The attack's poison set: read back from the run folder when an earlier (interrupted) run saved it, else
    /// computed and saved with its indices.</summary>
    internal PoisonSet Poison(string method, ImageDataset train, PatchTrigger trigger, HashModel surrogate, int target, long seed)
    {
        var saved = folder.ReadPoison(seed, target, method, train, trigger);
        if (saved is not null) return saved;
        var attack = PoisoningAttacks.Create(method, config.SettingsOf(method));
        long poisonSeed = context.Seeds.For(SeedPurpose.Poison, seed, target);
        var options = new PoisonOptions { TargetClass = target, Count = config.Poison.Count, Seed = poisonSeed, Perturbation = config.Perturbation.ToOptions() };
        using var step = Progress.Start($"{method}: poison {config.Poison.Count} images", config.Perturbation.Rounds);
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
}
