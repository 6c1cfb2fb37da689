using System.Globalization;
using System.Text.Json;
using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Experiments;

/// <summary>
/// Repeats an experiment for each value of one setting ("poisons=25,50,100,200") and gathers t-MAP and mAP per method
/// against the value, with the spread over the (target, seed) blocks and each value's t-MAP paired against the first
/// value's (<see cref="Statistics.ValueComparison"/>). An ablation chooses settings, so it is scored on the validation
/// queries by default (<see cref="QuerySet.Validation"/>; <c>--queries test</c> overrides). Each value runs in its own
/// sub-folder (resumable); when the varied setting does not change the clean model, all values share the clean models.
/// A config whose <c>methods</c> is empty and whose <c>testTime</c> lists p2p/dhta ablates the test-time attacks alone
/// (<c>eps</c> sets their budget too, <c>bits</c> retrains the clean model).
/// </summary>
public static class AblationRunner
{
    /// <summary>Settings that can be varied, with the config change each makes.</summary>
    public static readonly IReadOnlyDictionary<string, Func<ExperimentConfig, string, ExperimentConfig>> Settings =
        new Dictionary<string, Func<ExperimentConfig, string, ExperimentConfig>>
        {
            ["poisons"] = (c, v) => c with { Poison = c.Poison with { Count = Int(v, "poisons") } },
            ["trigger-size"] = (c, v) => c with { Trigger = c.Trigger with { Size = Int(v, "trigger-size") } },
            ["trigger-steps"] = (c, v) => c with { Trigger = c.Trigger with { Steps = Int(v, "trigger-steps") } },
            ["eps"] = (c, v) => c with
            {
                Perturbation = c.Perturbation with { Epsilon = Eps(v) },
                // test-time rows follow perturbation.epsilon unless the config sets their own; either way the varied value holds
                TestTimeAttack = c.TestTimeAttack.Epsilon is null ? c.TestTimeAttack : c.TestTimeAttack with { Epsilon = Eps(v) },
            },
            ["lambda"] = (c, v) => c with { Perturbation = c.Perturbation with { Lambda = Num(v, "lambda") } },
            ["rounds"] = (c, v) => c with { Perturbation = c.Perturbation with { Rounds = Int(v, "rounds") } },
            ["bits"] = (c, v) => c with { Model = c.Model with { Bits = Int(v, "bits") } },
            ["epochs"] = (c, v) => c with { Training = c.Training with { Epochs = Int(v, "epochs") } },
        };

    /// <summary>Settings whose change leaves the clean model as it is.</summary>
    internal static readonly HashSet<string> AttackOnly = new() { "poisons", "trigger-size", "trigger-steps", "eps", "lambda", "rounds" };

    /// <summary>Parses "name=v1,v2,..." into the setting and its values.</summary>
    public static (string Name, string[] Values) ParseVary(string vary)
    {
        int eq = vary.IndexOf('=');
        if (eq <= 0) throw new UsageException($"vary {vary}: expected NAME=V1,V2,... (names: {string.Join(", ", Settings.Keys)})");
        string name = vary[..eq].Trim();
        if (!Settings.ContainsKey(name)) throw new UsageException($"vary {name}: unknown setting (known: {string.Join(", ", Settings.Keys)})");
        var values = vary[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (values.Length == 0) throw new UsageException($"vary {vary}: no values given");
        if (values.Distinct().Count() != values.Length) throw new UsageException($"vary {vary}: a value is listed twice");
        return (name, values);
    }

    /// <summary>The config an ablation runs: <paramref name="baseConfig"/> scored on <paramref name="queries"/>.</summary>
    /// <exception cref="UsageException">Validation queries asked for (the default) and the config has none.</exception>
    public static ExperimentConfig ScoredOn(ExperimentConfig baseConfig, QuerySet queries)
    {
        if (queries == QuerySet.Validation && baseConfig.Protocol.ValidationPerClass <= 0)
            throw new UsageException("protocol.validationPerClass: the config has no validation queries, which hashbd ablate scores on by default; set it (e.g. 100) or set scoredOn to test");
        return baseConfig with { Evaluation = baseConfig.Evaluation with { Queries = queries } };
    }

    /// <summary>Runs every variant (resumable), scored on <paramref name="queries"/> (default: the validation queries),
    /// and writes ablation.json, ablation.md and the two plots.</summary>
    public static IReadOnlyList<AblationPoint> Run(ExperimentConfig baseConfig, string vary, string outDir, bool resume, IRunProgress progress,
        CancellationToken cancel = default, QuerySet queries = QuerySet.Validation)
    {
        var (name, values) = ParseVary(vary);
        baseConfig = ScoredOn(baseConfig, queries);
        // Validate every variant before any training.
        var configs = values.Select(v => (Value: v, Config: Settings[name](baseConfig, v).Validate())).ToList();
        var context = RunContext.For(baseConfig.Device, progress, cancel);
        RunKinds.RequireOutputFolder(outDir, "outDir", RunKind.Ablation);
        using var runLock = RunLock.Acquire(outDir);
        AtomicFile.SweepTemporaryFiles(outDir);
        string? shared = AttackOnly.Contains(name) ? Path.Combine(outDir, "shared-models") : null;
        var points = new List<AblationPoint>();
        var runs = new List<(string Value, IReadOnlyList<RunResult> Runs)>();
        foreach (var (value, config) in configs)
        {
            string dir = Path.Combine(outDir, $"{name}={value.Replace('/', '_')}");
            progress.Info($"ablation {name} = {value}");
            var results = new ExperimentRunner(config, new RunFolder(dir, shared), context).Run(resume);
            points.Add(new AblationPoint(value, results.Summary));
            runs.Add((value, results.Runs));
        }
        WriteOutputs(name, points, runs, baseConfig, outDir, progress);
        return points;
    }

    /// <summary>The folder of the variant <paramref name="value"/> of <paramref name="name"/>.</summary>
    internal static string VariantDir(string outDir, string name, string value) => Path.Combine(outDir, $"{name}={value.Replace('/', '_')}");

    /// <summary>The folder clean models are shared in when <paramref name="name"/> leaves them unchanged, else null.</summary>
    internal static string? SharedModelsDir(string outDir, string name) => AttackOnly.Contains(name) ? Path.Combine(outDir, "shared-models") : null;

    /// <summary>Writes ablation.json, ablation.md and the two plots: per value the summaries, each value's t-MAP paired
    /// against the first value's over the (target, seed) blocks (<paramref name="runs"/>: every value's runs, in order),
    /// and the queries scored on (<paramref name="scoredConfig"/>'s <c>evaluation.queries</c>).</summary>
    internal static void WriteOutputs(string name, IReadOnlyList<AblationPoint> points, IReadOnlyList<(string Value, IReadOnlyList<RunResult> Runs)> runs,
        ExperimentConfig scoredConfig, string outDir, IRunProgress progress)
    {
        var queries = scoredConfig.Evaluation.Queries;
        var comparisons = Statistics.ValueComparison.AgainstFirst(runs);
        string scored = queries == QuerySet.Validation ? "validation" : "test";
        AtomicFile.WriteAllText(Path.Combine(outDir, "ablation.json"), JsonSerializer.Serialize(new { setting = name, queries = scored, points, comparisons }, RunRecord.Json));
        AtomicFile.WriteAllText(Path.Combine(outDir, "ablation.md"), AblationMarkdown.Render(name, points, comparisons, queries));
        // error bars: ± one sample standard deviation over the (target, seed) blocks
        string spread = $"{scored} queries, ± sd over blocks";
        AtomicFile.WriteAllBytes(Path.Combine(outDir, "ablation_tmap.png"), AblationPlot.Render(name, points, "tMAP", $"t-MAP@{scoredConfig.Evaluation.TopK} against {name} ({spread})", width: 820));
        AtomicFile.WriteAllBytes(Path.Combine(outDir, "ablation_map.png"), AblationPlot.Render(name, points, "mAP", $"clean mAP@{scoredConfig.Evaluation.TopK} against {name} ({spread})", width: 820));
        progress.Info($"ablation table and plots: {Path.Combine(outDir, "ablation.md")}, ablation_tmap.png, ablation_map.png");
    }

    private static int Int(string v, string name) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : throw new UsageException($"vary {name}: '{v}' is not an integer");

    private static double Num(string v, string name) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : throw new UsageException($"vary {name}: '{v}' is not a number");

    /// <summary>eps as "8/255" (grey levels) or a fraction such as 0.0314, read by the config's own parser
    /// (<see cref="PixelBudget"/>).</summary>
    public static double Eps(string v) => PixelBudget.Parse(v, "vary eps");
}
