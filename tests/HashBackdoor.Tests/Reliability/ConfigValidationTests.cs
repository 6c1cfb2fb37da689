using System.Text.Json.Nodes;
using HashBackdoor.Experiments;

namespace HashBackdoor.Tests.Reliability;

/// <summary>
/// Experiment configs (JSON and YAML) are checked before anything runs: a bad key or value is a one-line
/// <see cref="UsageException"/> naming the file and the key or flag; what needs the data (target classes, trigger size,
/// poison count) fails in <see cref="ExperimentRunner.Run"/> after loading the data and before any training.
/// </summary>
[Collection("torch-training")]
public class ConfigValidationTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private string Write(string name, string text)
    {
        string path = tmp[name];
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The tiny experiment as a JSON file, with <paramref name="edit"/> applied to its tree.</summary>
    private string TinyJson(string name, Action<JsonObject>? edit = null)
    {
        var node = JsonNode.Parse(ConfigFile.ToJson(Tiny.Experiment))!.AsObject();
        edit?.Invoke(node);
        return Write(name, node.ToJsonString());
    }

    private static string LoadFails(string path)
    {
        var e = Assert.Throws<UsageException>(() => ExperimentConfig.Load(path));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    private static string RunFails(ExperimentConfig config, string outDir)
    {
        var e = Assert.Throws<UsageException>(() => new ExperimentRunner(config, outDir, RunProgress.None).Run(resume: false));
        Assert.DoesNotContain('\n', e.Message);
        // Failed before any training: no model, checkpoint, trigger or resolved config, not even the folder.
        Assert.False(Directory.Exists(outDir), $"{outDir} was created by a run that failed validation");
        return e.Message;
    }

    [Fact]
    public void TheTinyConfigAndTheShippedConfigsLoad()
    {
        Assert.Equal(ConfigFile.ToJson(Tiny.Experiment), ConfigFile.ToJson(ExperimentConfig.Load(TinyJson("tiny.json"))));
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        foreach (var name in new[] { "default.yaml", "quick.yaml" })
            ExperimentConfig.Load(Path.Combine(root, "configs", name));
    }

    [Fact]
    public void UnknownTopLevelKeyNamesFileAndKey()
    {
        string json = TinyJson("top.json", o => o["bogus"] = 1);
        Assert.Equal($"{json}: invalid config at bogus: unknown key 'bogus'", LoadFails(json));
        string yaml = Write("top.yaml", "name: x\nseeds: [0]\nseedz: [1]\n");
        Assert.Equal($"{yaml}: invalid config at seedz: unknown key 'seedz'", LoadFails(yaml));
    }

    [Fact]
    public void UnknownNestedKeyNamesFileAndKey()
    {
        string yaml = Write("nested.yaml", "name: x\ntrigger:\n  size: 4\n  sise: 4\n");
        string msg = LoadFails(yaml);
        Assert.Equal($"{yaml}: invalid config at trigger.sise: unknown key 'sise'", msg);
        string json = TinyJson("nested.json", o => o["perturbation"]!["epsillon"] = 0.1);
        Assert.Equal($"{json}: invalid config at perturbation.epsillon: unknown key 'epsillon'", LoadFails(json));
    }

    [Fact]
    public void WrongTypeAndBadSyntaxNameFileAndPlace()
    {
        string json = TinyJson("type.json", o => o["model"]!["bits"] = "sixteen");
        Assert.Equal($"{json}: invalid config at model.bits: The JSON value could not be converted to System.Int32.", LoadFails(json));
        string open = Write("open.yaml", "name: x\ntargets: [0, 1\n");
        Assert.Equal($"{open}: invalid YAML at line 3: While parsing a flow sequence, did not find expected ',' or ']'.", LoadFails(open));
        // A list left open before another key makes YamlDotNet throw InvalidOperationException: still a usage error.
        string openThenKey = Write("open2.yaml", "name: x\ntargets: [0, 1\nseeds: [0]\n");
        Assert.StartsWith($"{openThenKey}: invalid YAML (the parser stopped: ", LoadFails(openThenKey));
        string complexKey = Write("key.yaml", "? [a]\n: 1\n");
        Assert.StartsWith($"{complexKey}: invalid YAML (the parser stopped: ", LoadFails(complexKey));
        string dup = Write("dup.yaml", "name: x\nname: y\n");
        Assert.Equal($"{dup}: invalid YAML at line 2: Duplicate key name", LoadFails(dup));
        string empty = Write("empty.yaml", "");
        Assert.Equal($"{empty}: invalid config: the file is empty", LoadFails(empty));
        Assert.Equal("--config /no/such/config.yaml: file not found", LoadFails("/no/such/config.yaml"));
    }

    [Fact]
    public void KeyWithoutValueIsUsageErrorNotACrash()
    {
        // "targets:" with nothing after it is null in YAML; it must not reach the code as a null list.
        string yaml = Write("null.yaml", "name: x\ntargets:\nseeds: [0]\n");
        Assert.Equal($"{yaml}: invalid config at targets: a value is required (the key is empty or null)", LoadFails(yaml));
        string trigger = Write("nulltrigger.yaml", "name: x\ntrigger: ~\n");
        Assert.Equal($"{trigger}: invalid config at trigger: a value is required (the key is empty or null)", LoadFails(trigger));
        string json = TinyJson("nullbeta.json", o => o["trigger"]!["betaSchedule"] = null);
        Assert.Equal($"{json}: invalid config at trigger.betaSchedule: a value is required (the key is empty or null)", LoadFails(json));
    }

    [Fact]
    public void BitsNotMultipleOfEight()
    {
        string json = TinyJson("bits.json", o => o["model"]!["bits"] = 12);
        Assert.Equal($"{json}: --bits 12: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096", LoadFails(json));
    }

    [Theory]
    [InlineData("2", "2")]
    [InlineData("-0.1", "-0.1")]
    public void EpsilonOutsideZeroToOne(string yamlValue, string shown)
    {
        string yaml = Write("eps.yaml", $"name: x\nperturbation:\n  epsilon: {yamlValue}\n");
        Assert.Equal($"{yaml}: perturbation.epsilon {shown}: must lie in [0, 1] (pixel units on a 0..1 scale; 8/255 = 0.03137)", LoadFails(yaml));
    }

    [Fact]
    public void EmptyTargetsSeedsAndMethods()
    {
        string t = Write("targets.yaml", "name: x\ntargets: []\n");
        Assert.Equal($"{t}: targets: at least one target class is needed", LoadFails(t));
        string s = Write("seeds.yaml", "name: x\nseeds: []\n");
        Assert.Equal($"{s}: seeds: at least one seed is needed", LoadFails(s));
        string m = Write("methods.yaml", "name: x\nmethods: []\n");
        Assert.Equal($"{m}: methods: at least one method is needed", LoadFails(m));
        string d = Write("duptargets.yaml", "name: x\ntargets: [1, 1]\n");
        Assert.Equal($"{d}: targets: a class is listed twice", LoadFails(d));
    }

    [Fact]
    public void UnknownMethodListsTheKnownOnes()
    {
        string yaml = Write("method.yaml", "name: x\nmethods: [tri, badnets]\n");
        Assert.Equal($"{yaml}: methods: badnets: unknown attack (known: tri, tri+noise, tri+adv, ciba)", LoadFails(yaml));
        string clean = Write("clean.yaml", "name: x\nmethods: [clean, tri]\n");
        Assert.Equal($"{clean}: methods: 'clean' is always reported; list only attacks", LoadFails(clean));
    }

    [Fact]
    public void OtherValuesNameTheirFlag()
    {
        Assert.Equal("trigger.size 0: must be at least 1 pixel", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Trigger = Tiny.Experiment.Trigger with { Size = 0 } }).Validate()).Message);
        Assert.Equal("poison.count 0: must be at least 1", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Poison = new PoisonConfig { Count = 0 } }).Validate()).Message);
        Assert.Equal("evaluation.queryRule half: expected skip or zero", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Evaluation = new EvaluationConfig { QueryRule = "half" } }).Validate()).Message);
        Assert.Equal("surrogate other: expected clean or independent", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Surrogate = "other" }).Validate()).Message);
        Assert.Equal("--epochs 0: must be at least 1", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Training = Tiny.Trainer(epochs: 0) }).Validate()).Message);
    }

    [Fact]
    public void PoisonCountLargerThanTargetClassFailsBeforeTraining()
    {
        var config = Tiny.Experiment with { Poison = new PoisonConfig { Count = 9 } };
        Assert.Equal("poison.count 9: the target class 0 has only 8 training images", RunFails(config, tmp["poison"]));
        // The same through the command line: exit code 2, one line, nothing written.
        string cfg = TinyJson("poison.json", o => o["poison"]!["count"] = 9);
        var r = Hashbd.Run("experiment", "--config", cfg, "--out", tmp["poison-cli"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: error: poison.count 9: the target class 0 has only 8 training images", r.SingleErrorLine());
        Assert.False(Directory.Exists(tmp["poison-cli"]));
    }

    [Fact]
    public void TriggerLargerThanTheImagesFailsBeforeTraining()
    {
        var config = Tiny.Experiment with { Trigger = Tiny.Experiment.Trigger with { Size = 13 } };
        Assert.Equal("trigger.size 13: the trigger is larger than the 12x12 images", RunFails(config, tmp["trigger"]));
    }

    [Fact]
    public void UnknownTargetClassFailsBeforeTraining()
    {
        var config = Tiny.Experiment with { Targets = new[] { 0, 99 } };
        Assert.Equal("targets: targets 99: unknown class (the dataset has 3 classes, 0..2)", RunFails(config, tmp["target"]));
    }

    [Fact]
    public void ExperimentWithUnknownConfigKeyExitsWithTwoAndWritesNothing()
    {
        string yaml = Write("cli.yaml", "name: x\ntrigger: {sise: 4}\n");
        var r = Hashbd.Run("experiment", "--config", yaml, "--out", tmp["cli-out"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"hashbd: error: {yaml}: invalid config at trigger.sise: unknown key 'sise'", r.SingleErrorLine());
        Assert.False(Directory.Exists(tmp["cli-out"]));
    }
}
