using System.Diagnostics;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments.Sharding;

/// <summary>What one shard did.</summary>
/// <param name="Computed">Units this process computed (its own, and dependencies it reached first).</param>
/// <param name="Owned">Units this shard owns.</param>
/// <param name="Done">Units of the whole grid done when the shard finished.</param>
/// <param name="Total">Units of the whole grid.</param>
/// <param name="Results">The merged results when this shard wrote them (it found every unit done), else null.</param>
public sealed record ShardOutcome(int Computed, int Owned, int Done, int Total, ExperimentResults? Results);

/// <summary>
/// Runs one shard (<c>--shard I/N</c>) of an experiment into a run folder that other shards share, possibly from other
/// hosts over a network file system: the units the shard owns (<see cref="ExperimentGrid"/>) are claimed
/// (<see cref="UnitClaims"/>), computed into the usual layout with atomic writes, and marked done; a unit found done is
/// skipped. A unit needs its dependencies (a victim its trigger, a trigger the clean model and surrogate): a dependency
/// already claimed by a live shard is waited for; one nobody has claimed (its owner has not reached it or was never
/// started) or whose claim is stale (its owner died) is claimed and computed by the shard that needs it first. Every
/// unit is a pure function of the config and seeds, so who computes it does not change a bit of the results. The shard
/// that finds every unit done writes results.json, results.md and report.html (<c>hashbd merge</c> does the same).
/// </summary>
public sealed class ShardedExperimentRunner
{
    /// <summary>How often a shard looks at a unit another shard is computing.</summary>
    public static TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    private readonly ExperimentConfig config;
    private readonly RunFolder folder;
    private readonly RunContext context;
    private readonly ShardSpec shard;
    private readonly ExperimentRunner runner;
    private ProtocolSplit split = null!;
    private HashModelSpec spec = null!;
    private UnitClaims claims = null!;
    private int computed;

    /// <summary>Shard <paramref name="shard"/> of the experiment <paramref name="config"/> in <paramref name="folder"/>.</summary>
    public ShardedExperimentRunner(ExperimentConfig config, RunFolder folder, RunContext context, ShardSpec shard)
    {
        this.config = config.Validate();
        this.folder = folder;
        this.context = context;
        this.shard = shard;
        runner = new ExperimentRunner(this.config, folder, context);
    }

    /// <summary>Runs this shard's units (resuming whatever is there), and the merge when every unit is done.</summary>
    public ShardOutcome Run()
    {
        RunKinds.RequireOutputFolder(folder.Root, "--out", RunKind.Experiment);
        if (folder.HoldsExperiment) folder.CheckResume(config, resume: true);
        using var runLock = folder.LockShared();
        TorchRuntime.Configure();
        IReadOnlyDictionary<string, string> checksums;
        using (var data = DatasetCatalog.Load(config.Dataset))
        {
            split = RetrievalProtocol.Apply(data, config.Protocol);
            checksums = data.Checksums;
        }
        using var splitOwner = split;
        runner.UsePrefixCache(split);
        config.ValidateAgainst(split);
        spec = config.Model.Spec(split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses);
        using var claimsOwner = claims = new UnitClaims(folder);

        Obtain(new GridUnit(GridUnitKind.Setup), () =>
        {
            folder.WriteResolvedConfig(new ResolvedConfig { Config = config, ToolkitVersion = ToolkitInfo.Version, DatasetChecksums = checksums, Machine = RunRecord.DescribeMachine() });
            folder.WriteLabels(split);
        });
        folder.CheckResume(config, resume: true);

        var all = ExperimentGrid.Units(config);
        var owned = ExperimentGrid.Owned(config, shard);
        context.Log($"shard {shard}: {owned.Count} of the grid's {all.Count} units (seeds x targets x methods: {config.Seeds.Count} x {config.Targets.Count} x {config.Methods.Count})");
        using (var step = context.Step($"shard {shard}", owned.Count))
        {
            for (int i = 0; i < owned.Count; i++)
            {
                Obtain(owned[i]);
                step.Report(i + 1, owned[i].Id);
            }
        }

        int done = all.Count(claims.IsDone);
        ExperimentResults? results = null;
        var resultsUnit = new GridUnit(GridUnitKind.Results);
        if (done == all.Count && !claims.IsDone(resultsUnit) && claims.TryClaim(resultsUnit) is null)
        {
            var sw = Stopwatch.StartNew();
            results = runner.RunHoldingLock(resume: true);
            claims.Complete(resultsUnit, sw.Elapsed.TotalSeconds);
        }
        context.Log(done == all.Count
            ? $"shard {shard}: done; every unit of the grid is done{(results is null ? " (another shard writes the results)" : $", results written: {folder.ResultsJsonPath}")}"
            : $"shard {shard}: done ({computed} units computed here); {all.Count - done} of {all.Count} units are left to the other shards: the last one to finish writes the results, or run `hashbd merge {folder.Root}` after them");
        return new ShardOutcome(computed, owned.Count, done, all.Count, results);
    }

    /// <summary>Makes sure <paramref name="unit"/> is done: skipped when done; else its dependencies first, then claimed
    /// and computed, or waited for while a live shard holds it.</summary>
    private void Obtain(GridUnit unit, Action? compute = null)
    {
        if (claims.IsDone(unit)) return;
        foreach (var dependency in ExperimentGrid.Dependencies(unit, config)) Obtain(dependency);
        bool announced = false;
        while (true)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (claims.IsDone(unit)) return;
            var holder = claims.TryClaim(unit);
            if (holder is null)
            {
                // A claim left by a runner that failed stays until this runner ends (then it is stale): the same as a kill.
                if (claims.IsDone(unit)) { claims.Release(unit); return; }
                foreach (var dir in folder.UnitOutputDirs(unit)) AtomicFile.SweepTemporaryFiles(dir, recursive: false);
                var sw = Stopwatch.StartNew();
                (compute ?? (() => Compute(unit)))();
                claims.Complete(unit, sw.Elapsed.TotalSeconds);
                computed++;
                return;
            }
            if (!announced) context.Log($"shard {shard}: waiting for {unit.Id} ({holder})");
            announced = true;
            context.Cancellation.WaitHandle.WaitOne(PollInterval);
        }
    }

    private HashTrainerOptions TrainOptions(long seed) => config.Training.ToTrainerOptions(context.Seeds.For(SeedPurpose.Training, seed));

    private HashModel CleanModel(long seed) =>
        runner.TrainedModel(spec, TrainOptions(seed), split.Train, folder.CleanModelDir(seed), $"seed {seed} clean model");

    private HashModel? IndependentSurrogate(long seed) => runner.TrainedSurrogate(spec, split, seed);

    private void Compute(GridUnit unit)
    {
        long seed = unit.Seed;
        int target = unit.Target;
        switch (unit.Kind)
        {
            case GridUnitKind.Clean:
            {
                using var clean = CleanModel(seed);
                ExperimentRunner.Scores.Of(clean, split, runner.Queries(split), seed, 0, RunFolder.CleanMethod, runner);
                break;
            }
            case GridUnitKind.Surrogate:
                IndependentSurrogate(seed)!.Dispose();
                break;
            case GridUnitKind.Trigger:
            {
                using var clean = CleanModel(seed);
                using var surrogateOwned = IndependentSurrogate(seed);
                var surrogate = surrogateOwned ?? clean;
                using var surrogateTrainCodes = HashEncoder.Encode(surrogate, split.Train.Images, RetrievalScoring.EncodeBatch, null, context.Device);
                Directory.CreateDirectory(folder.TargetDir(seed, target));
                using var anchor = AnchorCode.Compute(surrogateTrainCodes, split.Train.Labels, target);
                folder.WriteAnchor(seed, target, anchor);
                using var trigger = runner.Trigger(surrogate, split.Train, anchor, seed, target);
                var queries = runner.Queries(split);
                long[] rows = TargetRows.WithoutTarget(queries, target);
                folder.WriteTriggeredQueries(seed, target, rows);
                if (folder.ReadResult(seed, target, RunFolder.CleanMethod) is not null) break;
                // The clean model with triggered queries, scored against the codes the clean unit wrote.
                var scores = SavedCleanScores(seed, queries);
                using var triggered = queries.Subset(rows, $"{queries.Name} non-target {target}");
                var result = runner.ScoreClean(clean, scores, triggered, trigger, surrogate, anchor, split, seed, target);
                context.Log($"seed {seed} target {target} ({split.ClassNames[target]}) clean    : t-MAP {result.TMap:F2}");
                break;
            }
            case GridUnitKind.Victim when MethodNames.IsTestTime(unit.Method!):
            {
                string attack = unit.Method!;
                if (folder.ReadResult(seed, target, attack) is not null) break;
                using var clean = CleanModel(seed);
                using var cleanTrainCodes = HashEncoder.Encode(clean, split.Train.Images, RetrievalScoring.EncodeBatch, null, context.Device);
                var queries = runner.Queries(split);
                var cleanRun = folder.ReadResult(seed, target, RunFolder.CleanMethod)
                    ?? throw new DataException(folder.ResultPath(seed, target, RunFolder.CleanMethod), "missing, although the trigger unit is marked done; delete its .done file under units/ to recompute it");
                using var triggered = queries.Subset(TargetRows.WithoutTarget(queries, target), $"{queries.Name} non-target {target}");
                var result = runner.TestTimeAttack(attack, clean, cleanTrainCodes, SavedCleanScores(seed, queries), cleanRun, triggered, split, seed, target);
                context.Log($"seed {seed} target {target} ({split.ClassNames[target]}) {MethodNames.Display(attack)}: t-MAP {result.TMap:F2}  ({result.TMapQueriesCounted}/{result.TMapQueriesTotal} attacked queries counted)");
                break;
            }
            case GridUnitKind.Victim:
            {
                string method = unit.Method!;
                if (folder.ReadResult(seed, target, method) is not null) break;
                using var clean = config.Surrogate.Kind == SurrogateKind.Independent ? null : CleanModel(seed);
                using var surrogateOwned = IndependentSurrogate(seed);
                var surrogate = surrogateOwned ?? clean!;
                using var trigger = PatchTrigger.Load(folder.TriggerPath(seed, target));
                var queries = runner.Queries(split);
                using var triggered = queries.Subset(TargetRows.WithoutTarget(queries, target), $"{queries.Name} non-target {target}");
                var result = runner.Attack(method, spec, TrainOptions(seed), split, surrogate, trigger, triggered, seed, target);
                context.Log($"seed {seed} target {target} ({split.ClassNames[target]}) {method,-9}: mAP {result.Map:F2}  t-MAP {result.TMap:F2}  ({result.TMapQueriesCounted}/{result.TMapQueriesTotal} triggered queries counted)");
                break;
            }
            default:
                throw new InvalidOperationException($"unit {unit.Id} has no computation");
        }
    }

    /// <summary>The clean model's database and query codes the clean unit wrote, its index and clean mAP.</summary>
    private ExperimentRunner.Scores SavedCleanScores(long seed, ImageDataset queries)
    {
        var db = Saved(split.Database, folder.CodesPath(seed, 0, RunFolder.CleanMethod, CodeSet.Database));
        var q = Saved(queries, folder.CodesPath(seed, 0, RunFolder.CleanMethod, CodeSet.Query));
        var index = new HammingIndex(db.Codes);
        return new ExperimentRunner.Scores(db, index, RetrievalScoring.Map(index, q, db, config.Evaluation.TopK, config.Evaluation.QueryRule).Percent);
    }

    /// <summary>Codes a finished unit wrote, with the split's labels.</summary>
    private static EncodedSet Saved(ImageDataset set, string path)
    {
        var codes = RunFolder.ReadCodes(path) ?? throw new DataException(path, "missing, although its unit is marked done; delete the unit's .done file under units/ to recompute it");
        if (codes.Count != set.Count) throw new DataException(path, $"holds {codes.Count} codes, the split has {set.Count} images");
        return new EncodedSet(codes, CodeConversion.ToLabelSets(set.Labels), set.LabelBytes(), set.NumClasses, 0);
    }
}
