using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using HashBackdoor.Data;
using HashBackdoor.Defenses;
using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Experiments;

/// <summary>What part of the attack x defense matrix to fill (null lists: all of the run's).</summary>
public sealed record DefenseMatrixRequest
{
    /// <summary>Defense registry names (or "all").</summary>
    public required IReadOnlyList<string> Defenses { get; init; }
    /// <summary>Methods (rows); null: the run's methods, preceded by "clean" (the clean model as control) when the
    /// settings' <see cref="DefenseSettingsConfig.CleanControl"/> is on. "clean" may be listed.</summary>
    public IReadOnlyList<string>? Methods { get; init; }
    /// <summary>Targets; null: the run's.</summary>
    public IReadOnlyList<int>? Targets { get; init; }
    /// <summary>Seeds; null: the run's.</summary>
    public IReadOnlyList<long>? Seeds { get; init; }
    /// <summary>How the defenses run; null: the run's <see cref="ExperimentConfig.DefenseSettings"/>.</summary>
    public DefenseSettingsConfig? Settings { get; init; }
}

/// <summary>
/// Fills the attack x defense matrix of an experiment folder: every listed defense on every (seed, target, method) attack
/// run, each result saved as <see cref="RunFolder.DefenseResultPath"/> and skipped when that file exists (so an
/// interrupted matrix resumes, and <c>hashbd defend</c> and the experiment share results). The dataset is loaded once;
/// the inputs of one attack run (victim, poison set, trigger, the victim's database codes from the folder and its
/// before-figures) are loaded once and shared by all its defenses. <see cref="Collect"/> reads the saved results back.
/// </summary>
public static class DefenseMatrixRunner
{
    /// <summary>Runs the missing cells; returns the number of defense runs done now and the number skipped.</summary>
    public static (int Ran, int Skipped) Run(RunFolder folder, ResolvedConfig resolved, DefenseMatrixRequest request, RunContext context, ProtocolSplit? split = null)
    {
        var config = resolved.Config;
        var settings = (request.Settings ?? config.DefenseSettings).Validate();
        var defenses = Validated(request.Defenses);
        var methods = request.Methods ?? (settings.CleanControl ? new[] { RunFolder.CleanMethod }.Concat(config.Methods).ToList() : config.Methods);
        foreach (var m in methods)
            if (m != RunFolder.CleanMethod && !config.Methods.Contains(m))
                throw new UsageException($"methods {m}: the run has methods {string.Join(", ", config.Methods)} (or clean)");
        var targets = request.Targets ?? config.Targets;
        foreach (var t in targets)
            if (!config.Targets.Contains(t)) throw new UsageException($"targets {t}: the run has targets {string.Join(", ", config.Targets)}");
        var seeds = request.Seeds ?? config.Seeds;
        foreach (var s in seeds)
            if (!config.Seeds.Contains(s)) throw new UsageException($"seeds {s}: the run has seeds {string.Join(", ", config.Seeds)}");

        var todo = (from seed in seeds from method in methods from target in targets
                    let missing = MissingCells(folder, defenses, seed, target, method)
                    select (seed, method, target, missing)).ToList();
        int skipped = todo.Sum(x => defenses.Count - x.missing.Count), ran = 0;
        if (todo.All(x => x.missing.Count == 0)) return (0, skipped);

        ProtocolSplit? owned = null;
        // The clean model and its training set are the same for every target of a seed: its runs share their work
        // (fine-tuned model, database codes, STRIP's clean scores, Neural Cleanse's triggers) across targets.
        var cleanWork = new Dictionary<long, SharedDefenseWork>();
        try
        {
            if (split is null) split = owned = DefenseInputsLoader.LoadSplit(resolved);
            using var overall = context.Step("defense matrix", todo.Sum(x => x.missing.Count));
            foreach (var (seed, method, target, missing) in todo)
            {
                if (missing.Count == 0) continue;
                RunCells(folder, resolved, split, settings, missing, seed, target, method, context, cleanWork,
                    defense => overall.Report(skipped + ++ran, $"seed {seed} target {target} {method} {defense}"));
            }
        }
        finally
        {
            foreach (var w in cleanWork.Values) w.Dispose();
            owned?.Dispose();
        }
        return (ran, skipped);
    }

    /// <summary>The defenses of <paramref name="defenses"/> whose result for the attack run (seed, target, method) is not
    /// in the folder yet.</summary>
    public static IReadOnlyList<string> MissingCells(RunFolder folder, IReadOnlyList<string> defenses, long seed, int target, string method) =>
        defenses.Where(d => !File.Exists(folder.DefenseResultPath(seed, target, method, d))).ToList();

    /// <summary>
    /// The defense cells of one attack run (the unit <see cref="Graph.UnitKind.Defenses"/> of an experiment, and one row
    /// of <see cref="Run"/>): the inputs of the run (victim, poison set, trigger, codes) are loaded once and every defense
    /// of <paramref name="missing"/> runs on them and saves its result. <paramref name="cleanWork"/> holds the work the
    /// clean control's runs share across the targets of a seed (owned by the caller, disposed by it).
    /// </summary>
    /// <returns>The number of defenses run.</returns>
    public static int RunCells(RunFolder folder, ResolvedConfig resolved, ProtocolSplit split, DefenseSettingsConfig settings, IReadOnlyList<string> missing,
        long seed, int target, string method, RunContext context, IDictionary<long, SharedDefenseWork> cleanWork, Action<string>? onCell = null)
    {
        var config = resolved.Config;
        var created = missing.Select(d => Create(d, config)).ToList();
        var needs = created.Aggregate(DefenseNeeds.None, (n, d) => n | d.Needs);
        var load = Stopwatch.StartNew();
        SharedDefenseWork? shared = null;
        if (method == RunFolder.CleanMethod && !cleanWork.TryGetValue(seed, out shared)) cleanWork[seed] = shared = new SharedDefenseWork();
        using var run = DefenseInputsLoader.Load(folder, resolved, split, new DefenseRunSelection { Seed = seed, Target = target, Method = method, Device = config.Device }, needs, shared);
        context.Log($"defenses on seed {seed} target {target} {method}: inputs loaded in {load.Elapsed.TotalSeconds:F0} s");
        foreach (var defense in created)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var defenseContext = new DefenseContext
            {
                Device = context.Device, Seed = settings.Seed, Cancel = context.Cancellation, Log = context.Log,
                Retrain = settings.Retrain.Contains(defense.Name, StringComparer.OrdinalIgnoreCase),
            };
            var result = defense.Run(run.Inputs, defenseContext);
            var describe = new Dictionary<string, object?>(run.Describe()) { ["retrain"] = defenseContext.Retrain, ["defenseSeed"] = settings.Seed };
            result.Save(folder.DefenseDir(seed, target, method, defense.Name), describe);
            onCell?.Invoke(defense.Name);
            context.Log($"seed {seed} target {target} {method,-9} {defense.Name,-27}: mAP {result.Figure(DefenseFigures.MapAfter):F2} t-MAP {result.Figure(DefenseFigures.TMapAfter):F2} AUC {result.Figure(DefenseFigures.DetectionAuc):F3} ({result.Seconds:F0} s)");
        }
        return created.Count;
    }

    /// <summary>
    /// The protocol entries with the matrix's cost beside the experiment's: <c>experimentWallSeconds</c> (the attacks,
    /// victims, scoring: everything before the matrix), <c>defenseMatrixWallSeconds</c>, their ratio
    /// <c>defenseMatrixToExperiment</c> (both measured in the same process, so under the same machine load), the same in
    /// CPU seconds of the process (all its threads; less sensitive to other processes' load than wall time), the cells
    /// run and already present, and <c>wallSeconds</c> = the whole process. A resumed experiment or matrix records only
    /// what this process did (the cell counts say so).
    /// </summary>
    public static Dictionary<string, object?> WithCost(Dictionary<string, object?> protocol, MatrixCost cost)
    {
        static object? Ratio(double a, double b) => b > 0 ? Math.Round(a / b, 3) : null;
        return new Dictionary<string, object?>(protocol)
        {
            ["wallSeconds"] = Math.Round(cost.TotalWallSeconds, 0),
            ["experimentWallSeconds"] = Math.Round(cost.ExperimentWallSeconds, 1),
            ["defenseMatrixWallSeconds"] = Math.Round(cost.MatrixWallSeconds, 1),
            ["defenseMatrixToExperiment"] = Ratio(cost.MatrixWallSeconds, cost.ExperimentWallSeconds),
            ["experimentCpuSeconds"] = Math.Round(cost.ExperimentCpuSeconds, 1),
            ["defenseMatrixCpuSeconds"] = Math.Round(cost.MatrixCpuSeconds, 1),
            ["defenseMatrixToExperimentCpu"] = Ratio(cost.MatrixCpuSeconds, cost.ExperimentCpuSeconds),
            ["defenseCellsRun"] = cost.CellsRun,
            ["defenseCellsAlreadyPresent"] = cost.CellsAlreadyPresent,
        };
    }

    /// <summary>Every saved defense result of the folder's attack runs (methods in the run's order, the clean control
    /// first when present; defenses in registry order, then any other name; then seeds and targets).</summary>
    public static IReadOnlyList<DefenseRunFigures> Collect(RunFolder folder, ExperimentConfig config)
    {
        var list = new List<DefenseRunFigures>();
        var order = BackdoorDefenses.Names.ToList();
        foreach (var method in new[] { RunFolder.CleanMethod }.Concat(config.Methods))
        {
            var found = new List<(string Defense, DefenseRunFigures Figures)>();
            foreach (long seed in config.Seeds)
                foreach (int target in config.Targets)
                {
                    string dir = Path.Combine(folder.MethodDir(seed, target, method), "defenses");
                    if (!Directory.Exists(dir)) continue;
                    foreach (var sub in Directory.GetDirectories(dir).OrderBy(d => d, StringComparer.Ordinal))
                    {
                        string name = Path.GetFileName(sub);
                        string path = folder.DefenseResultPath(seed, target, method, name);
                        if (File.Exists(path)) found.Add((name, Read(path, method, seed, target, name)));
                    }
                }
            list.AddRange(found.OrderBy(f => order.IndexOf(f.Defense) is int i && i >= 0 ? i : int.MaxValue)
                .ThenBy(f => f.Defense, StringComparer.Ordinal).Select(f => f.Figures));
        }
        return list;
    }

    /// <summary>The matrix figures of one result.json written by <see cref="DefenseResult.Save"/>.</summary>
    public static DefenseRunFigures Read(string path, string method, long seed, int target, string defense)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var figures = doc.RootElement.GetProperty("figures");
            double F(string name) => figures.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
            double seconds = doc.RootElement.TryGetProperty("seconds", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetDouble() : double.NaN;
            return new DefenseRunFigures
            {
                Method = method, Defense = defense, Seed = seed, Target = target, Seconds = seconds,
                MapAfter = F(DefenseFigures.MapAfter), TMapAfter = F(DefenseFigures.TMapAfter), DetectionAuc = F(DefenseFigures.DetectionAuc),
                Removed = F(DefenseFigures.Removed), TrainingImages = F(DefenseFigures.TrainingImages),
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new DataException(path, $"damaged defense result ({e.Message})");
        }
    }

    /// <summary>
    /// <c>hashbd defend --defense all|LIST</c>: fills the requested cells of the experiment folder <paramref name="runDir"/>
    /// (settings: the run's <c>defenseSettings</c>, with <paramref name="defenseSeed"/> and <paramref name="noRetrain"/>
    /// applied when given, and <paramref name="retrain"/> replacing its retrain list when given), then rewrites its reports
    /// with every cell in the folder.
    /// </summary>
    public static ExperimentResults FillFolder(string runDir, DefenseMatrixRequest request, long? defenseSeed, bool noRetrain, RunContext context,
        IReadOnlyList<string>? retrain = null)
    {
        var defenses = Validated(request.Defenses);  // unknown names fail before anything is read
        var (folder, resolved) = DefenseInputsLoader.Open(runDir);
        var settings = request.Settings ?? resolved.Config.DefenseSettings;
        if (defenseSeed is not null) settings = settings with { Seed = defenseSeed.Value };
        if (noRetrain) settings = settings with { Retrain = Array.Empty<string>() };
        if (retrain is not null)
        {
            foreach (var name in retrain)
                if (!BackdoorDefenses.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
                    throw new UsageException($"retrain {name}: unknown defense (known: {string.Join(", ", BackdoorDefenses.Names)})");
            settings = settings with { Retrain = retrain };
        }
        if (!File.Exists(folder.ResultsJsonPath)) throw new DataException(folder.ResultsJsonPath, "not found: the experiment has not finished (resume it first)");
        using var split = DefenseInputsLoader.LoadSplit(resolved);
        var (ran, skipped) = Run(folder, resolved, request with { Defenses = defenses, Settings = settings }, context, split);
        context.Log($"defense matrix: {ran} defense run(s) done, {skipped} already in the folder");
        return RewriteReports(folder, resolved, split, context);
    }

    /// <summary>
    /// Rewrites results.json, results.md and report.html of a finished experiment with the matrix of every defense result
    /// now in the folder: the attack results are read back from results.json (nothing is retrained or re-encoded, the
    /// recorded wall time stays the experiment's), the matrix is collected again from the folder.
    /// </summary>
    public static ExperimentResults RewriteReports(RunFolder folder, ResolvedConfig resolved, ProtocolSplit split, RunContext context)
    {
        var config = resolved.Config;
        if (!File.Exists(folder.ResultsJsonPath)) throw new DataException(folder.ResultsJsonPath, "not found: the experiment has not finished (resume it first)");
        ExperimentResults results;
        try
        {
            results = JsonSerializer.Deserialize<ExperimentResults>(File.ReadAllText(folder.ResultsJsonPath), ExperimentResults.Json)
                ?? throw new DataException(folder.ResultsJsonPath, "empty results");
        }
        catch (JsonException e)
        {
            throw new DataException(folder.ResultsJsonPath, $"damaged results ({e.Message})");
        }
        var runs = Collect(folder, config);
        results = results with { DefenseRuns = runs, DefenseMatrix = DefenseMatrix.Cells(runs) };
        var spec = config.Model.Spec(split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses);
        new ExperimentReportBuilder(config, folder, context).Write(results, split, spec);
        return results;
    }

    /// <summary>The names with "all" expanded; an unknown name is a one-line <see cref="UsageException"/> naming the defense.</summary>
    public static IReadOnlyList<string> Validated(IEnumerable<string> names)
    {
        var list = names.ToList();
        if (list.Count == 0) throw new UsageException("defenses: at least one defense is needed");
        foreach (var n in list)
            if (!n.Equals(ExperimentConfig.AllDefenses, StringComparison.OrdinalIgnoreCase))
                BackdoorDefenses.Create(n); // unknown name: one line listing the known ones
        return ExperimentConfig.ExpandDefenses(list);
    }

    /// <summary>
    /// The settings the matrix gives a defense where the config's section of its name leaves them out (the section's keys
    /// win): STRIP 16 blends per query instead of 32 (half the encoding; on the default experiment's ciba and tri runs
    /// the detection AUC is within 0.02, docs/defenses.md section 9) and fine-pruning's curve from the defender's own
    /// validation images only (<see cref="FinePruningDefense.EvaluateCurve"/> false: the chosen ratio and the cell are
    /// unchanged). A single <c>hashbd defend</c> uses the defense's own defaults.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> MatrixDefaults = new Dictionary<string, string>
    {
        ["strip"] = """{ "blends": 16 }""",
        ["fine-pruning"] = """{ "evaluateCurve": false }""",
    };

    /// <summary>The defense <paramref name="name"/> with its settings as the matrix runs it: the config's section of its
    /// name over <see cref="MatrixDefaults"/>, bound and checked by the registry.</summary>
    public static IDefense Create(string name, ExperimentConfig config) => BackdoorDefenses.Create(name, MatrixSection(name, config));

    /// <summary>The settings section the matrix binds for <paramref name="name"/>: <see cref="MatrixDefaults"/> with the
    /// config's section of that name laid over it key by key (null when neither has one).</summary>
    public static JsonObject? MatrixSection(string name, ExperimentConfig config)
    {
        var given = config.SettingsOf(name);
        if (given is not (null or JsonObject)) throw new UsageException($"{name}: the settings must be a section of keys");
        var canonical = BackdoorDefenses.Names.FirstOrDefault(n => n.Equals(name, StringComparison.OrdinalIgnoreCase)) ?? name;
        if (!MatrixDefaults.TryGetValue(canonical, out var defaults)) return (JsonObject?)given?.DeepClone();
        var merged = (JsonObject)JsonNode.Parse(defaults)!;
        foreach (var (key, value) in (JsonObject?)given ?? new JsonObject()) merged[key] = value?.DeepClone();
        return merged;
    }
}
