using System.Globalization;
using System.Text.Json;
using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Experiments;

/// <summary>
/// Repeats an experiment for each value of one setting ("poisons=25,50,100,200") and gathers t-MAP and mAP per method
/// against the value, with the spread over targets and seeds. Each value runs in its own sub-folder (resumable); when the
/// varied setting does not change the clean model, all values share the clean models.
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
            ["eps"] = (c, v) => c with { Perturbation = c.Perturbation with { Epsilon = Eps(v) } },
            ["lambda"] = (c, v) => c with { Perturbation = c.Perturbation with { Lambda = Num(v, "lambda") } },
            ["rounds"] = (c, v) => c with { Perturbation = c.Perturbation with { Rounds = Int(v, "rounds") } },
            ["bits"] = (c, v) => c with { Model = c.Model with { Bits = Int(v, "bits") } },
            ["epochs"] = (c, v) => c with { Training = c.Training with { Epochs = Int(v, "epochs") } },
        };

    /// <summary>Settings whose change leaves the clean model as it is.</summary>
    private static readonly HashSet<string> AttackOnly = new() { "poisons", "trigger-size", "trigger-steps", "eps", "lambda", "rounds" };

    /// <summary>Parses "name=v1,v2,..." into the setting and its values.</summary>
    public static (string Name, string[] Values) ParseVary(string vary)
    {
        int eq = vary.IndexOf('=');
        if (eq <= 0) throw new UsageException($"--vary {vary}: expected NAME=V1,V2,... (names: {string.Join(", ", Settings.Keys)})");
        string name = vary[..eq].Trim();
        if (!Settings.ContainsKey(name)) throw new UsageException($"--vary {name}: unknown setting (known: {string.Join(", ", Settings.Keys)})");
        var values = vary[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (values.Length == 0) throw new UsageException($"--vary {vary}: no values given");
        if (values.Distinct().Count() != values.Length) throw new UsageException($"--vary {vary}: a value is listed twice");
        return (name, values);
    }

    /// <summary>Runs every variant (resumable) and writes ablation.json, ablation.md and the two plots.</summary>
    public static IReadOnlyList<AblationPoint> Run(ExperimentConfig baseConfig, string vary, string outDir, bool resume, IRunProgress progress,
        CancellationToken cancel = default)
    {
        var (name, values) = ParseVary(vary);
        // Validate every variant before any training.
        var configs = values.Select(v => (Value: v, Config: Settings[name](baseConfig, v).Validate())).ToList();
        var context = RunContext.For(baseConfig.Device, progress, cancel);
        Directory.CreateDirectory(outDir);
        string? shared = AttackOnly.Contains(name) ? Path.Combine(outDir, "shared-models") : null;
        var points = new List<AblationPoint>();
        foreach (var (value, config) in configs)
        {
            string dir = Path.Combine(outDir, $"{name}={value.Replace('/', '_')}");
            progress.Info($"ablation {name} = {value}");
            var results = new ExperimentRunner(config, new RunFolder(dir, shared), context).Run(resume);
            points.Add(new AblationPoint(value, results.Summary));
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "ablation.json"), JsonSerializer.Serialize(new { setting = name, points }, RunRecord.Json));
        AtomicFile.WriteAllText(Path.Combine(outDir, "ablation.md"), AblationPlot.MarkdownTable(name, points));
        AtomicFile.WriteAllBytes(Path.Combine(outDir, "ablation_tmap.png"), AblationPlot.Render(name, points, "tMAP", $"t-MAP@{baseConfig.Evaluation.TopK} against {name}"));
        AtomicFile.WriteAllBytes(Path.Combine(outDir, "ablation_map.png"), AblationPlot.Render(name, points, "mAP", $"clean mAP@{baseConfig.Evaluation.TopK} against {name}"));
        progress.Info($"ablation table and plots: {Path.Combine(outDir, "ablation.md")}, ablation_tmap.png, ablation_map.png");
        return points;
    }

    private static int Int(string v, string name) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : throw new UsageException($"--vary {name}: '{v}' is not an integer");

    private static double Num(string v, string name) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : throw new UsageException($"--vary {name}: '{v}' is not a number");

    /// <summary>eps as "8/255" (grey levels) or a fraction such as 0.0314, read by the config's own parser
    /// (<see cref="PixelBudget"/>).</summary>
    public static double Eps(string v) => PixelBudget.Parse(v, "--vary eps");
}
