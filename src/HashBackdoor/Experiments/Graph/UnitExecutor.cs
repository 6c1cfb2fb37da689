using System.Diagnostics;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Defenses;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;
using ModelCodes = HashBackdoor.Experiments.ExperimentSteps.ModelCodes;

namespace HashBackdoor.Experiments.Graph;

/// <summary>
/// Computes the units of one experiment (<see cref="ExperimentGraph"/>) in one process, for a serial run (every unit,
/// in order) and for a shard (the units it claims) alike: this is the one place the steps of an experiment are written
/// out. A unit reads what it needs from what this process computed before (models, codes, triggers are kept until
/// <see cref="Dispose"/>) or else from the run folder, where the unit that made it wrote it; a unit whose result is in
/// the folder already is not computed again. Every unit is a pure function of the config and seeds, so which process
/// computes it does not change a bit of its outputs.
/// </summary>
internal sealed class UnitExecutor : IDisposable
{
    private readonly ExperimentConfig config;
    private readonly RunFolder folder;
    private readonly RunContext context;
    private readonly ExperimentSteps steps;
    private readonly ProtocolSplit split;
    private readonly IReadOnlyDictionary<string, string> checksums;
    private readonly HashModelSpec spec;
    private readonly ImageDataset queries;

    // What this process computed or read, by seed (and target): a later unit of the same process uses it.
    private readonly Dictionary<long, HashModel> cleanModels = new();
    private readonly Dictionary<long, HashModel?> surrogates = new();
    private readonly Dictionary<long, Tensor> surrogateTrainCodes = new();
    private readonly Dictionary<long, Tensor> cleanTrainCodes = new();
    private readonly Dictionary<long, ModelCodes> cleanCodes = new();
    private readonly Dictionary<(long, int), (PatchTrigger Trigger, Tensor Anchor)> triggers = new();
    private readonly Dictionary<long, SharedDefenseWork> cleanDefenseWork = new();
    private ResolvedConfig? resolved;
    private readonly RunSessions? session;

    // The cost record of results.json: this process's time in defense units and in the others.
    private readonly Stopwatch wall;
    private readonly TimeSpan cpuAtStart;
    private TimeSpan defenseWall, defenseCpu;
    private int defenseCellsRun;

    private UnitExecutor(ExperimentConfig config, RunFolder folder, RunContext context, ProtocolSplit split, IReadOnlyDictionary<string, string> checksums,
        Stopwatch wall, TimeSpan cpuAtStart, RunSessions? session)
    {
        this.session = session;
        this.wall = wall;
        this.cpuAtStart = cpuAtStart;
        this.config = config;
        this.folder = folder;
        this.context = context;
        this.split = split;
        this.checksums = checksums;
        steps = new ExperimentSteps(config, folder, context);
        steps.UsePrefixCache(split);
        spec = config.Model.Spec(split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses);
        queries = config.Queries(split);
    }

    /// <summary>
    /// An executor of <paramref name="config"/> (validated) in <paramref name="folder"/>: the dataset is loaded, split by
    /// the protocol and the config checked against it (<see cref="UsageException"/> before any work). The full dataset is
    /// only needed to build the split and record its checksums: it is freed before training (about 220 MB for
    /// Fashion-MNIST; the split holds copies). <paramref name="session"/>: this process's session of the run
    /// (<see cref="RunSessions"/>), recorded with the run's wall time in results.json.
    /// </summary>
    public static UnitExecutor Open(ExperimentConfig config, RunFolder folder, RunContext context, RunSessions? session = null)
    {
        var wall = Stopwatch.StartNew();
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        ProtocolSplit split;
        IReadOnlyDictionary<string, string> checksums;
        using (var data = DatasetCatalog.Load(config.Dataset))
        {
            split = RetrievalProtocol.Apply(data, config.Protocol);
            checksums = data.Checksums;
        }
        try
        {
            config.ValidateAgainst(split);
            return new UnitExecutor(config, folder, context, split, checksums, wall, cpuAtStart, session);
        }
        catch
        {
            split.Dispose();
            throw;
        }
    }

    /// <summary>The protocol split the units work on.</summary>
    public ProtocolSplit Split => split;

    /// <summary>The results, once this executor computed the <see cref="UnitKind.Results"/> unit.</summary>
    public ExperimentResults? Results { get; private set; }

    /// <summary>Computes <paramref name="unit"/> (its dependencies must be done: computed by this executor before, or
    /// found in the folder).</summary>
    public void Execute(ExperimentUnit unit)
    {
        context.Cancellation.ThrowIfCancellationRequested();
        long seed = unit.Seed;
        int target = unit.Target;
        switch (unit.Kind)
        {
            case UnitKind.Setup:
                folder.WriteResolvedConfig(new ResolvedConfig { Config = config, ToolkitVersion = ToolkitInfo.Version, DatasetChecksums = checksums, Machine = RunRecord.DescribeMachine() });
                folder.WriteLabels(split, queries);
                break;
            case UnitKind.Clean:
                CleanCodes(seed, encode: true);
                break;
            case UnitKind.Surrogate:
                Surrogate(seed);
                break;
            case UnitKind.Trigger:
            {
                var clean = CleanModel(seed);
                var surrogate = Surrogate(seed);
                Directory.CreateDirectory(folder.TargetDir(seed, target));
                var anchor = AnchorCode.Compute(SurrogateTrainCodes(seed), split.Train.Labels, target);
                try { folder.WriteAnchor(seed, target, anchor); }
                catch { anchor.Dispose(); throw; }
                var trigger = steps.Trigger(surrogate, split.Train, anchor, seed, target);
                Keep(seed, target, trigger, anchor);
                long[] rows = TargetRows.WithoutTarget(queries, target);
                folder.WriteTriggeredQueries(seed, target, rows);
                // The clean model with triggered queries: what the patch alone achieves; with the trigger's own effect on
                // the surrogate (a control: a targeted adversarial patch moves codes toward the anchor).
                var result = folder.ReadResult(seed, target, RunFolder.CleanMethod);
                if (result is null)
                {
                    using var triggered = queries.Subset(rows, $"{queries.Name} non-target {target}");
                    result = steps.ScoreClean(clean, CleanCodes(seed), triggered, trigger, surrogate, anchor, split, seed, target);
                }
                context.Log($"seed {seed} target {target} ({split.ClassNames[target]}) clean    : t-MAP {result.TMap:F2}");
                break;
            }
            case UnitKind.Victim:
            {
                string method = unit.Method!;
                var result = folder.ReadResult(seed, target, method);
                if (result is null)
                {
                    var surrogate = Surrogate(seed);
                    var trigger = Trigger(seed, target);
                    using var triggered = Triggered(target);
                    result = steps.Attack(method, spec, TrainOptions(seed), split, surrogate, trigger, triggered, seed, target);
                }
                context.Log($"seed {seed} target {target} ({split.ClassNames[target]}) {method,-9}: mAP {result.Map:F2}  t-MAP {result.TMap:F2}  ({result.TMapQueriesCounted:0.#}/{result.TMapQueriesTotal} triggered queries counted)");
                break;
            }
            case UnitKind.TestTime:
            {
                string attack = unit.Method!;
                var result = folder.ReadResult(seed, target, attack);
                if (result is null)
                {
                    var cleanRun = folder.ReadResult(seed, target, RunFolder.CleanMethod)
                        ?? throw new DataException(folder.ResultPath(seed, target, RunFolder.CleanMethod), "missing, although the trigger unit is done; delete its .done file under units/ to recompute it");
                    using var triggered = Triggered(target);
                    result = steps.TestTimeAttack(attack, CleanModel(seed), CleanTrainCodes(seed), CleanCodes(seed), cleanRun, triggered, split, seed, target);
                }
                context.Log($"seed {seed} target {target} ({split.ClassNames[target]}) {MethodNames.Display(attack)}: t-MAP {result.TMap:F2}  ({result.TMapQueriesCounted:0.#}/{result.TMapQueriesTotal} attacked queries counted)");
                break;
            }
            case UnitKind.Defenses:
            {
                var defenses = DefenseMatrixRunner.Validated(config.DefenseNames());
                var missing = DefenseMatrixRunner.MissingCells(folder, defenses, seed, target, unit.Method!);
                if (missing.Count == 0) break;
                var sw = Stopwatch.StartNew();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                resolved ??= folder.ReadResolvedConfig();
                defenseCellsRun += DefenseMatrixRunner.RunCells(folder, resolved, split, config.DefenseSettings.Validate(), missing, seed, target, unit.Method!, context, cleanDefenseWork);
                defenseWall += sw.Elapsed;
                defenseCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
                break;
            }
            case UnitKind.Results:
                Results = WriteResults();
                break;
            default:
                throw new InvalidOperationException($"unit {unit.Id} has no computation");
        }
    }

    /// <summary>results.json, results.md and report.html from the results in the folder (rows in report order, seeds
    /// and targets as configured) and the defense cells there. The protocol records this process's wall time and, when
    /// the config has defenses, the cost of the defense units it ran beside the others' (<see cref="MatrixCost"/>), and the sessions of the run (<see cref="RunSessions"/>).</summary>
    private ExperimentResults WriteResults()
    {
        var runs = new List<RunResult>();
        foreach (long seed in config.Seeds)
            foreach (int target in config.Targets)
                foreach (string method in MethodNames.Rows(config))
                    runs.Add(ExperimentSteps.Named(folder.ReadResult(seed, target, method)
                        ?? throw new DataException(folder.ResultPath(seed, target, method), "missing: its unit has not been computed")));
        var total = wall.Elapsed;
        var cpuTotal = Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart;
        double attackSeconds = (total - defenseWall).TotalSeconds;
        var protocol = ProtocolDescription.ForExperiment(config, split, attackSeconds);
        if (config.Defenses.Count > 0)
        {
            int cells = config.Seeds.Count * config.Targets.Count * ExperimentGraph.DefendedMethods(config).Count * config.DefenseNames().Count;
            protocol = DefenseMatrixRunner.WithCost(protocol, new MatrixCost(attackSeconds, defenseWall.TotalSeconds, total.TotalSeconds,
                (cpuTotal - defenseCpu).TotalSeconds, defenseCpu.TotalSeconds, defenseCellsRun, cells - defenseCellsRun));
        }
        if (session is not null) protocol = RunSessions.Describe(protocol, session.Checkpoint(), total.TotalSeconds);
        var defenseRuns = DefenseMatrixRunner.Collect(folder, config);
        var results = new ExperimentResults
        {
            Protocol = protocol, Runs = runs, Summary = MethodSummary.From(runs),
            Comparisons = ExperimentResults.Compare(runs, MethodNames.Reference(config)),
            DefenseRuns = defenseRuns, DefenseMatrix = DefenseMatrix.Cells(defenseRuns),
        };
        new ExperimentReportBuilder(config, folder, context).Write(results, split, spec);
        return results;
    }

    private HashTrainerOptions TrainOptions(long seed) => config.Training.ToTrainerOptions(context.Seeds.For(SeedPurpose.Training, seed));

    /// <summary>The clean model of <paramref name="seed"/>: kept, else read back (or trained) by the steps.</summary>
    private HashModel CleanModel(long seed)
    {
        if (!cleanModels.TryGetValue(seed, out var model))
            cleanModels[seed] = model = steps.TrainedModel(spec, TrainOptions(seed), split.Train, folder.CleanModelDir(seed), $"seed {seed} clean model");
        return model;
    }

    /// <summary>The surrogate of <paramref name="seed"/>: the independent one (kept, else read back or trained), or the
    /// clean model (twin).</summary>
    private HashModel Surrogate(long seed)
    {
        if (!surrogates.TryGetValue(seed, out var model)) surrogates[seed] = model = steps.TrainedSurrogate(spec, split, seed);
        return model ?? CleanModel(seed);
    }

    /// <summary>The surrogate's codes of the training set (the anchor code is computed from them).</summary>
    private Tensor SurrogateTrainCodes(long seed)
    {
        if (!surrogateTrainCodes.TryGetValue(seed, out var codes))
            surrogateTrainCodes[seed] = codes = HashEncoder.Encode(Surrogate(seed), split.Train.Images, RetrievalScoring.EncodeBatch, null, context.Device);
        return codes;
    }

    /// <summary>The clean model's own codes of the training set (the test-time attacks are white-box on the clean model):
    /// the surrogate's for the twin surrogate.</summary>
    private Tensor CleanTrainCodes(long seed)
    {
        if (config.Surrogate.Kind != SurrogateKind.Independent) return SurrogateTrainCodes(seed);
        if (!cleanTrainCodes.TryGetValue(seed, out var codes))
            cleanTrainCodes[seed] = codes = HashEncoder.Encode(CleanModel(seed), split.Train.Images, RetrievalScoring.EncodeBatch, null, context.Device);
        return codes;
    }

    /// <summary>The clean model's database codes, index and clean mAP: encoded (codes written) when
    /// <paramref name="encode"/> (the clean unit), else kept or read back from the codes the clean unit wrote.</summary>
    private ModelCodes CleanCodes(long seed, bool encode = false)
    {
        if (encode)
            return cleanCodes[seed] = ModelCodes.Of(CleanModel(seed), split, queries, seed, 0, RunFolder.CleanMethod, steps);
        if (!cleanCodes.TryGetValue(seed, out var saved)) cleanCodes[seed] = saved = SavedCleanCodes(seed);
        return saved;
    }

    /// <summary>The trigger of (seed, target): kept, else read back from the folder.</summary>
    private PatchTrigger Trigger(long seed, int target)
    {
        if (triggers.TryGetValue((seed, target), out var kept)) return kept.Trigger;
        var trigger = PatchTrigger.Load(folder.TriggerPath(seed, target));
        triggers[(seed, target)] = (trigger, zeros(0));
        return trigger;
    }

    private void Keep(long seed, int target, PatchTrigger trigger, Tensor anchor)
    {
        if (triggers.Remove((seed, target), out var old)) { old.Trigger.Dispose(); old.Anchor.Dispose(); }
        triggers[(seed, target)] = (trigger, anchor);
    }

    /// <summary>The queries of the other classes (the ones that get the trigger, or the test-time perturbation).</summary>
    private ImageDataset Triggered(int target) => queries.Subset(TargetRows.WithoutTarget(queries, target), $"{queries.Name} non-target {target}");

    /// <summary>The clean model's database and query codes the clean unit wrote, its index and clean mAP.</summary>
    private ModelCodes SavedCleanCodes(long seed)
    {
        var db = Saved(split.Database, folder.CodesPath(seed, 0, RunFolder.CleanMethod, CodeSet.Database));
        var q = Saved(queries, folder.CodesPath(seed, 0, RunFolder.CleanMethod, CodeSet.Query));
        var index = new HammingIndex(db.Codes);
        return new ModelCodes(db, q, index, RetrievalScoring.Map(index, q, db, config.Evaluation.TopK, config.Evaluation.QueryRule));
    }

    /// <summary>Codes a finished unit wrote, with the split's labels.</summary>
    private static EncodedSet Saved(ImageDataset set, string path)
    {
        var codes = RunFolder.ReadCodes(path) ?? throw new DataException(path, "missing, although its unit is done; delete the unit's .done file under units/ to recompute it");
        if (codes.Count != set.Count) throw new DataException(path, $"holds {codes.Count} codes, the split has {set.Count} images");
        return new EncodedSet(codes, CodeConversion.ToLabelSets(set.Labels), set.LabelBytes(), set.NumClasses, 0);
    }

    /// <summary>Frees what this process kept (models, codes, triggers, the defenses' shared work) and the split.</summary>
    public void Dispose()
    {
        foreach (var (trigger, anchor) in triggers.Values) { trigger.Dispose(); anchor.Dispose(); }
        foreach (var codes in surrogateTrainCodes.Values) codes.Dispose();
        foreach (var codes in cleanTrainCodes.Values) codes.Dispose();
        foreach (var model in surrogates.Values) model?.Dispose();
        foreach (var model in cleanModels.Values) model.Dispose();
        foreach (var work in cleanDefenseWork.Values) work.Dispose();
        steps.Dispose();
        split.Dispose();
    }
}
