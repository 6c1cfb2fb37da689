using System.Text.Json.Nodes;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Hashing.Losses;
using HashBackdoor.Defenses;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Attacks;

/// <summary>
/// An extension's settings end to end: the top-level config section named after an attack, test-time attack or defense
/// (<see cref="ExperimentConfig.ExtensionSettings"/>) is bound to its settings record when the config loads, reaches the
/// instance the experiment runs, and is written back to config.resolved.json; the attack x defense matrix lays a
/// defense's section over <see cref="DefenseMatrixRunner.MatrixDefaults"/>; the <c>defenseSettings</c> keys that held
/// two defenses' settings in earlier versions still load, moved to those sections. The "Attacks" collection runs alone
/// (no other test in parallel), so registering the test extension in the shared registry cannot disturb other tests.
/// </summary>
[Collection("Attacks")]
public sealed class ExtensionSettingsConfigTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private string Write(string name, string text)
    {
        File.WriteAllText(tmp[name], text);
        return tmp[name];
    }

    private static string LoadFails(string path)
    {
        var e = Assert.Throws<UsageException>(() => ExperimentConfig.Load(path));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    /// <summary>The tiny experiment as YAML lines (JSON flow values are YAML), with <paramref name="extra"/> appended.</summary>
    private static string TinyYaml(string methods, string extra)
    {
        var node = JsonNode.Parse(ConfigFile.ToJson(Tiny.Experiment))!.AsObject();
        node.Remove("methods");
        foreach (var line in extra.Split('\n'))
            if (line.Length > 0 && !char.IsWhiteSpace(line[0])) node.Remove(line.Split(':')[0]);
        var lines = node.Select(kv => $"{kv.Key}: {kv.Value?.ToJsonString() ?? "null"}");
        return string.Join('\n', lines) + $"\nmethods: {methods}\n" + extra;
    }

    [Fact]
    public void AnAttacksSectionReachesTheRunAndTheResolvedConfig()
    {
        PoisoningAttacks.Registry.Register<LouderTriggerSettings>("louder-tri", s => new LouderTriggerAttack(s));
        try
        {
            string path = Write("louder.yaml", TinyYaml("[tri, louder-tri]", "louder-tri:\n  repeats: 3\n  note: from yaml\n"));
            var config = ExperimentConfig.Load(path);
            Assert.Equal("""{"repeats":3,"note":"from yaml"}""", config.SettingsOf("LOUDER-TRI")!.ToJsonString());
            Assert.Null(config.SettingsOf("tri"));

            while (LouderTriggerAttack.Poisoned.TryDequeue(out _)) { }
            string run = tmp["run"];
            new ExperimentRunner(config, run, RunProgress.None).Run(resume: false);
            Assert.Equal(new[] { new LouderTriggerSettings { Repeats = 3, Note = "from yaml" } }, LouderTriggerAttack.Poisoned.ToArray());
            Assert.True(File.Exists(Path.Combine(run, "seed-0", "target-0", "louder-tri", "result.json")));

            // The section is part of the run's resolved config: the folder redoes the same run.
            var resolved = ExperimentConfig.Load(Path.Combine(run, "config.resolved.json"));
            Assert.Equal(config.SettingsOf("louder-tri")!.ToJsonString(), resolved.SettingsOf("louder-tri")!.ToJsonString());

            // Bad settings fail at load, naming the file and the key.
            Assert.Equal($"{tmp["zero.yaml"]}: louder-tri.repeats 0: must be at least 1",
                LoadFails(Write("zero.yaml", TinyYaml("[louder-tri]", "louder-tri:\n  repeats: 0\n"))));
            Assert.Equal($"{tmp["typo.yaml"]}: louder-tri.repaets: unknown key 'repaets' (known: repeats, note)",
                LoadFails(Write("typo.yaml", TinyYaml("[louder-tri]", "louder-tri:\n  repaets: 2\n"))));
            Assert.Equal($"{tmp["unused.yaml"]}: louder-tri: settings for an attack this config does not run (add it to methods or remove the section)",
                LoadFails(Write("unused.yaml", TinyYaml("[tri]", "louder-tri:\n  repeats: 2\n"))));
        }
        finally
        {
            PoisoningAttacks.Registry.Remove("louder-tri");
        }
        Assert.Equal(new[] { "tri", "tri+noise", "tri+adv", "ciba" }, PoisoningAttacks.Names);
    }

    [Fact]
    public void UnknownTopLevelKeysAndSettingsForExtensionsWithoutSettingsAreRefused()
    {
        string bogus = Write("bogus.yaml", TinyYaml("[tri]", "bogus: 1\n"));
        Assert.Equal($"{bogus}: invalid config at bogus: unknown key 'bogus'", LoadFails(bogus));
        string tri = Write("tri.yaml", TinyYaml("[tri]", "tri:\n  size: 2\n"));
        Assert.Equal($"{tri}: tri: the attack takes no settings", LoadFails(tri));
        string spectral = Write("spectral.yaml", TinyYaml("[tri]", "defenses: [spectral]\nspectral:\n  k: 2\n"));
        Assert.Equal($"{spectral}: spectral: the defense takes no settings", LoadFails(spectral));
    }

    [Fact]
    public void TheMatrixLaysADefensesSectionOverItsDefaults()
    {
        // No section: the matrix's defaults over the defense's own (STRIP 16 blends; a single defend: 32).
        var none = ExperimentConfig.Load(Write("none.yaml", TinyYaml("[tri]", "defenses: [strip, fine-pruning, neural-cleanse]\n")));
        var strip = Assert.IsType<StripDefense>(DefenseMatrixRunner.Create("strip", none));
        Assert.Equal((16, 1.0, 500), (strip.Blends, strip.Alpha, strip.CalibrationImages));
        Assert.Equal(32, new StripDefense().Blends);
        var fp = Assert.IsType<FinePruningDefense>(DefenseMatrixRunner.Create("fine-pruning", none));
        Assert.False(fp.EvaluateCurve);
        Assert.Equal(new FinePruningDefense().Ratios, fp.Ratios);
        Assert.Equal(300, Assert.IsType<NeuralCleanseDefense>(DefenseMatrixRunner.Create("neural-cleanse", none)).Steps);

        // A section: its keys win, the others keep the matrix's and the defense's defaults.
        var given = ExperimentConfig.Load(Write("given.yaml", TinyYaml("[tri]",
            "defenses: [all]\nstrip:\n  alpha: 0.5\nfine-pruning:\n  ratios: [0, 0.5]\n  evaluateCurve: true\nneural-cleanse:\n  steps: 40\n")));
        strip = Assert.IsType<StripDefense>(DefenseMatrixRunner.Create("STRIP", given));
        Assert.Equal((16, 0.5), (strip.Blends, strip.Alpha));
        fp = Assert.IsType<FinePruningDefense>(DefenseMatrixRunner.Create("fine-pruning", given));
        Assert.Equal(new[] { 0.0, 0.5 }, fp.Ratios);
        Assert.Equal((true, 10), (fp.EvaluateCurve, fp.Epochs));
        Assert.Equal(40, Assert.IsType<NeuralCleanseDefense>(DefenseMatrixRunner.Create("neural-cleanse", given)).Steps);

        // A defense's checks run at load.
        string bad = Write("bad.yaml", TinyYaml("[tri]", "defenses: [strip]\nstrip:\n  blends: 1\n"));
        Assert.Equal($"{bad}: strip.blends 1: must be at least 2", LoadFails(bad));
        string name = Write("name.yaml", TinyYaml("[tri]", "defenses: [strip]\nstrip:\n  name: other\n"));
        Assert.Equal($"{name}: strip.name: unknown key 'name' (known: blends, alpha, chunkQueries, calibrationImages, falseRejectionRate)", LoadFails(name));
    }

    [Fact]
    public void EarlierDefenseSettingsKeysMoveToTheirDefensesSections()
    {
        var old = ExperimentConfig.Load(Write("old.yaml", TinyYaml("[tri]",
            "defenses: [strip, fine-pruning]\ndefenseSettings:\n  pruningRatios: [0, 0.4]\n  pruningCurve: true\n  stripBlends: 8\n  retrain: [spectral]\n")));
        Assert.Equal("""{"ratios":[0,0.4],"evaluateCurve":true}""", old.SettingsOf("fine-pruning")!.ToJsonString());
        Assert.Equal("""{"blends":8}""", old.SettingsOf("strip")!.ToJsonString());
        Assert.Equal(8, Assert.IsType<StripDefense>(DefenseMatrixRunner.Create("strip", old)).Blends);
        Assert.Equal(new[] { "spectral" }, old.DefenseSettings.Retrain);

        // Keys for a defense the config does not run had no effect: dropped.
        var unused = ExperimentConfig.Load(Write("unused.yaml", TinyYaml("[tri]", "defenseSettings:\n  stripBlends: 8\n")));
        Assert.Null(unused.ExtensionSettings);

        string both = Write("both.yaml", TinyYaml("[tri]", "defenses: [strip]\ndefenseSettings:\n  stripBlends: 8\nstrip:\n  blends: 12\n"));
        Assert.Equal($"{both}: defenseSettings.stripBlends: also given as strip.blends; keep strip.blends", LoadFails(both));
    }

    [Fact]
    public void LossesAndDatasetsAreRegisteredTheSameWay()
    {
        Assert.Equal(new[] { "pairwise", "pairwise-k", "dpsh", "hashnet", "csq" }, HashLossFactory.Names);
        Assert.Equal("fashion-mnist, mnist:DIR, cifar10:DIR, folder:DIR, list:ROOT:FILE", DatasetCatalog.KnownList);
        HashLossFactory.Registry.Register("dpsh-strong", () => shape => new DpshLoss(eta: 10 * (shape.Quantization + 0.1)));
        DatasetCatalog.Registry.Register("pattern", () => new DatasetCatalog.DatasetKind("pattern", "pattern:N",
            (spec, arg, options) => DatasetCatalog.Load($"synthetic:{arg}:3:12", options)));
        try
        {
            Assert.Equal(1.0, Assert.IsType<DpshLoss>(HashLossFactory.Create("DPSH-STRONG", 3, 8, 0)).Eta, 12);
            Assert.Equal("dpsh-strong", new HashTrainerOptions { Loss = "dpsh-strong" }.Validate().Loss); // a valid training.loss
            Assert.EndsWith(", pattern:N", DatasetCatalog.KnownList);
            using var data = DatasetCatalog.Load("pattern:5");
            Assert.Equal((3, 12), (data.Train.NumClasses, data.Train.Height));
        }
        finally
        {
            HashLossFactory.Registry.Remove("dpsh-strong");
            DatasetCatalog.Registry.Remove("pattern");
        }
        Assert.Equal("training.loss dpsh-strong: unknown loss (known: pairwise, pairwise-k, dpsh, hashnet, csq)",
            Assert.Throws<UsageException>(() => HashLossFactory.Create("dpsh-strong", 3, 8, 0)).Message);
        Assert.Equal("dataset pattern:5: unknown dataset (known: fashion-mnist, mnist:DIR, cifar10:DIR, folder:DIR, list:ROOT:FILE)",
            Assert.Throws<UsageException>(() => DatasetCatalog.Load("pattern:5")).Message);
    }
}
