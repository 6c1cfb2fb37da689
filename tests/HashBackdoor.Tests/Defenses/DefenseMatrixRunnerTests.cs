using System.Globalization;
using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Defenses;

/// <summary>The attack x defense matrix of an experiment: the <c>defenses</c> and <c>defenseSettings</c> config keys,
/// the matrix in results.json / results.md / report.html of a tiny experiment (fine-tuning and spectral without retraining, the cheap ones), resume (finished cells kept, missing ones
/// recomputed identically) and <c>hashbd defend --defense LIST</c> rewriting the reports.</summary>
[Collection("torch-training")]
public class DefenseMatrixRunnerTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private string Yaml(string name, string text)
    {
        string path = Path.Combine(tmp.Path, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void DefensesKeyAcceptsRegistryNamesAndAllAndRefusesUnknownOnes()
    {
        var c = ExperimentConfig.Load(Yaml("ok.yaml", "defenses: [strip, Spectral]\ndefenseSettings:\n  retrain: [spectral]\n"));
        Assert.Equal(new[] { "strip", "spectral" }, c.DefenseNames());
        Assert.Equal(new[] { "spectral" }, c.DefenseSettings.Retrain);
        var all = ExperimentConfig.Load(Yaml("all.yaml", "defenses: [all]\n"));
        Assert.Equal(HashBackdoor.Defenses.BackdoorDefenses.Names, all.DefenseNames());
        Assert.Empty(ExperimentConfig.Load(Yaml("none.yaml", "name: x\n")).DefenseNames());

        string bad = Yaml("bad.yaml", "defenses: [strip, nope]\n");
        var e = Assert.Throws<UsageException>(() => ExperimentConfig.Load(bad));
        Assert.StartsWith($"{bad}: defenses: nope: unknown defense", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        string retrain = Yaml("retrain.yaml", "defenses: [spectral]\ndefenseSettings:\n  retrain: [spectrall]\n");
        Assert.Contains("defenseSettings.retrain: spectrall: unknown defense", Assert.Throws<UsageException>(() => ExperimentConfig.Load(retrain)).Message);
        string ratio = Yaml("ratio.yaml", "defenses: [fine-pruning]\nfine-pruning:\n  ratios: [0, 1]\n");
        Assert.Equal($"{ratio}: fine-pruning.ratios: every ratio must lie in [0, 1)", Assert.Throws<UsageException>(() => ExperimentConfig.Load(ratio)).Message);
        Assert.Contains("defenses: a defense is listed twice", Assert.Throws<UsageException>(() => (Tiny.Experiment with { Defenses = new[] { "strip", "STRIP" } }).Validate()).Message);
    }

    [Fact]
    public void ExperimentWithDefensesWritesTheMatrixAndResumeKeepsFinishedCells()
    {
        string run = tmp["exp"];
        var config = Tiny.Experiment with { Defenses = new[] { "fine-tuning", "spectral" }, DefenseSettings = new DefenseSettingsConfig { CleanControl = false } };
        var results = new ExperimentRunner(config, run, RunProgress.None).Run(resume: false);
        var folder = new RunFolder(run);

        // One result per (seed, target, method, defense), in the method folder.
        foreach (var method in config.Methods)
            foreach (var d in new[] { "fine-tuning", "spectral" })
                Assert.True(File.Exists(folder.DefenseResultPath(0, 0, method, d)), $"{method} {d}");
        Assert.Equal(4, results.DefenseRuns.Count);
        Assert.Equal(4, results.DefenseMatrix.Count);

        // The victim's before-figures, from the database codes the experiment saved, equal the experiment's own scores.
        foreach (var method in config.Methods)
        {
            var tuned = JsonNode.Parse(File.ReadAllText(folder.DefenseResultPath(0, 0, method, "fine-tuning")))!["figures"]!;
            var scored = results.Runs.Single(r => r.Method == method);
            Assert.True(Math.Abs(scored.Map - tuned["mapBefore"]!.GetValue<double>()) < 1e-3, $"{method}: mAP {scored.Map} vs {tuned["mapBefore"]}");
            Assert.True(Math.Abs(scored.TMap - tuned["tMapBefore"]!.GetValue<double>()) < 1e-3, $"{method}: t-MAP {scored.TMap} vs {tuned["tMapBefore"]}");
        }

        // Each cell is the figures of its result.json (one target x seed: the value itself, no spread).
        var ciba = JsonNode.Parse(File.ReadAllText(folder.DefenseResultPath(0, 0, "ciba", "fine-tuning")))!["figures"]!;
        var cell = results.DefenseMatrix.Single(c => c.Method == "ciba" && c.Defense == "fine-tuning");
        Assert.Equal(1, cell.Runs);
        Assert.Equal(ciba["mapAfter"]!.GetValue<double>(), cell.MapAfter, 6);
        Assert.Equal(ciba["tMapAfter"]!.GetValue<double>(), cell.TMapAfter, 6);
        Assert.True(double.IsNaN(cell.DetectionAuc));   // a repair detects nothing
        // Spectral without retraining: detection only.
        var spectral = results.DefenseMatrix.Single(c => c.Method == "ciba" && c.Defense == "spectral");
        Assert.True(double.IsNaN(spectral.MapAfter));
        Assert.InRange(spectral.DetectionAuc, 0, 1);

        string Row(DefenseMatrixCell s, DefenseMatrixCell sp) => string.Create(CultureInfo.InvariantCulture,
            $"| {s.Method} | – / – / {sp.DetectionAuc:F3}, removed {sp.Removed:F0} of {sp.TrainingImages:F0} | {s.MapAfter:F1} / {s.TMapAfter:F1} / – |");   // registry order
        // The filter's cost beside its AUC: images removed of the training set, as its result.json records them.
        var spectralFigures = JsonNode.Parse(File.ReadAllText(folder.DefenseResultPath(0, 0, "ciba", "spectral")))!["figures"]!;
        Assert.Equal(spectralFigures["removed"]!.GetValue<double>(), spectral.Removed);
        Assert.Equal(24, spectral.TrainingImages);
        string md = File.ReadAllText(folder.ResultsMarkdownPath);
        Assert.Contains("## Attack x defense matrix", md);
        Assert.True(md.Contains(Row(cell, spectral)), Row(cell, spectral) + "\n" + md);
        var json = JsonNode.Parse(File.ReadAllText(folder.ResultsJsonPath))!;
        Assert.Equal(4, json["defenseMatrix"]!.AsArray().Count);
        Assert.Null(json["defenseMatrix"]!.AsArray().First(c => c!["defense"]!.GetValue<string>() == "spectral")!["mAPAfter"]);
        Assert.Contains("Attack x defense matrix", File.ReadAllText(folder.ReportHtmlPath));

        // Resume: a finished cell is not recomputed (a marked value survives), a missing one is recomputed identically.
        string marked = folder.DefenseResultPath(0, 0, "tri", "fine-tuning");
        var node = JsonNode.Parse(File.ReadAllText(marked))!;
        node["figures"]!["mapAfter"] = 12.5;
        File.WriteAllText(marked, node.ToJsonString());
        string deleted = folder.DefenseResultPath(0, 0, "ciba", "spectral");
        var before = JsonNode.Parse(File.ReadAllText(deleted))!["figures"]!.ToJsonString();
        File.Delete(deleted);
        var (ran, skipped) = DefenseMatrixRunner.Run(folder, folder.ReadResolvedConfig(), new DefenseMatrixRequest { Defenses = new[] { "fine-tuning", "spectral" } }, RunContext.Quiet);
        Assert.Equal((1, 3), (ran, skipped));
        Assert.Equal(before, JsonNode.Parse(File.ReadAllText(deleted))!["figures"]!.ToJsonString());
        Assert.Equal(12.5, DefenseMatrixRunner.Collect(folder, config).Single(r => r.Method == "tri" && r.Defense == "fine-tuning").MapAfter);

        // hashbd defend with a list: nothing left to do for these cells, one more defense for ciba; the reports are
        // rewritten from results.json with the folder's matrix (the marked cell included).
        var cli = Hashbd.Run("defend", "--run", run, "--defense", "fine-tuning,spectral-codes", "--method", "ciba", "--no-retrain");
        Assert.True(cli.ExitCode == 0, cli.Err);
        Assert.True(File.Exists(folder.DefenseResultPath(0, 0, "ciba", "spectral-codes")));
        md = File.ReadAllText(folder.ResultsMarkdownPath);
        Assert.Matches(@"\| tri \| [^\n]*\| 12\.5 / ", md);
        Assert.Contains("spectral-codes", md);
        Assert.Matches(@"\| tri \| [^\n]*\| 12\.5 / ", cli.Out);
        var rewritten = JsonNode.Parse(File.ReadAllText(folder.ResultsJsonPath))!;
        Assert.Equal(json["runs"]!.ToJsonString(), rewritten["runs"]!.ToJsonString());     // attack results untouched
        Assert.Equal(5, rewritten["defenseMatrix"]!.AsArray().Count);

        // Unknown names and --out with a list: one line, exit 2.
        var unknown = Hashbd.Run("defend", "--run", run, "--defense", "fine-tuning,nope");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--defense nope: unknown defense", unknown.SingleErrorLine());
        Assert.Equal(2, Hashbd.Run("defend", "--run", run, "--defense", "all", "--out", tmp["x"]).ExitCode);
        var retrain = Hashbd.Run("defend", "--run", run, "--defense", "all", "--retrain", "spectral,nope");
        Assert.Equal(2, retrain.ExitCode);
        Assert.Contains("--retrain nope: unknown defense", retrain.SingleErrorLine());
    }

    [Fact]
    public void CleanControlRowSharesWorkAcrossTargetsAndTheCostIsRecorded()
    {
        string run = tmp["control"];
        var config = Tiny.Experiment with { Targets = new[] { 0, 1 }, Methods = new[] { "ciba" }, Defenses = new[] { "fine-tuning", "neural-cleanse" } };
        var results = new ExperimentRunner(config, run, RunProgress.None).Run(resume: false);
        var folder = new RunFolder(run);

        // Default settings: the clean-model control row is in the matrix, on every target.
        foreach (var method in new[] { "clean", "ciba" })
            foreach (int target in config.Targets)
                foreach (var d in config.Defenses)
                    Assert.True(File.Exists(folder.DefenseResultPath(0, target, method, d)), $"{method} {target} {d}");
        Assert.Equal(new[] { "clean", "ciba" }, results.DefenseMatrix.Select(c => c.Method).Distinct());

        // The clean model's second target reused the first target's fine-tuned model; a fresh single run gives the same.
        var shared = JsonNode.Parse(File.ReadAllText(folder.DefenseResultPath(0, 1, "clean", "fine-tuning")))!;
        Assert.Equal("fine-tuned model reused from an earlier defense run on this victim", shared["settings"]!["sharedWork"]!.GetValue<string>());
        foreach (var d in config.Defenses)
        {
            var (fresh, _) = DefendPipeline.Run(new DefendRequest
            {
                RunDir = run, Defense = d, OutDir = tmp[$"fresh-{d}"],
                Selection = new DefenseRunSelection { Seed = 0, Target = 1, Method = "clean" },
            }, RunProgress.None);
            var saved = JsonNode.Parse(File.ReadAllText(folder.DefenseResultPath(0, 1, "clean", d)))!["figures"]!.AsObject();
            foreach (var (name, value) in fresh.Figures)
                Assert.True(saved[name] is null ? !double.IsFinite(value) : Math.Abs(saved[name]!.GetValue<double>() - value) < 1e-6, $"{d} {name}: {value} vs {saved[name]}");
        }

        // The cost: the experiment's own seconds and the matrix's, from the same process, and their ratio.
        var protocol = JsonNode.Parse(File.ReadAllText(folder.ResultsJsonPath))!["protocol"]!;
        double experiment = protocol["experimentWallSeconds"]!.GetValue<double>(), matrix = protocol["defenseMatrixWallSeconds"]!.GetValue<double>();
        Assert.True(experiment > 0 && matrix >= 0, $"{experiment} {matrix}");
        Assert.Equal(8, protocol["defenseCellsRun"]!.GetValue<int>());
        Assert.Equal(0, protocol["defenseCellsAlreadyPresent"]!.GetValue<int>());
        Assert.InRange(protocol["defenseMatrixToExperiment"]!.GetValue<double>(), (matrix - 0.05) / (experiment + 0.05) - 0.001, (matrix + 0.05) / (experiment - 0.05) + 0.001);
        Assert.True(protocol["wallSeconds"]!.GetValue<double>() >= Math.Max(experiment, matrix) - 1);
        double experimentCpu = protocol["experimentCpuSeconds"]!.GetValue<double>(), matrixCpu = protocol["defenseMatrixCpuSeconds"]!.GetValue<double>();
        Assert.True(experimentCpu > 0 && matrixCpu >= 0, $"{experimentCpu} {matrixCpu}");
        Assert.InRange(protocol["defenseMatrixToExperimentCpu"]!.GetValue<double>(), (matrixCpu - 0.05) / (experimentCpu + 0.05) - 0.001, (matrixCpu + 0.05) / (experimentCpu - 0.05) + 0.001);
        Assert.Contains("defenseMatrixToExperiment", File.ReadAllText(folder.ResultsMarkdownPath));
    }
}
