using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Hashing;

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
        Assert.Equal("config file /no/such/config.yaml: not found", LoadFails("/no/such/config.yaml"));
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
        Assert.Equal($"{json}: model.bits 12: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096", LoadFails(json));
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
        Assert.Equal($"{m}: methods: at least one method is needed (or a test-time attack under testTime)", LoadFails(m));
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
    public void OtherValuesNameTheirKey()
    {
        Assert.Equal("trigger.size 0: must be at least 1 pixel", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Trigger = Tiny.Experiment.Trigger with { Size = 0 } }).Validate()).Message);
        Assert.Equal("poison.count 0: must be at least 1", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Poison = new PoisonConfig { Count = 0 } }).Validate()).Message);
        Assert.Equal("training.epochs 0: must be at least 1", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Training = Tiny.Trainer(epochs: 0) }).Validate()).Message);
        Assert.Equal("training.loss nope: unknown loss (known: pairwise, pairwise-k, dpsh, hashnet, csq)", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Training = Tiny.Experiment.Training with { Loss = "nope" } }).Validate()).Message);
        Assert.Equal("model.architecture alexnet: unknown backbone (known: small-cnn, small-cnn-wide, vgg11, resnet18)", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Model = new ModelConfig { Architecture = "alexnet" } }).Validate()).Message);
        Assert.Equal("device tpu: unknown device (expected cpu, cuda or cuda:N)", Assert.Throws<UsageException>(() =>
            (Tiny.Experiment with { Device = "tpu" }).Validate()).Message);
    }

    [Theory]
    [InlineData("evaluation:\n  queryRule: half\n", "evaluation.queryRule: 'half' is unknown (known: skip, zero)")]
    [InlineData("surrogate: other\n", "surrogate.kind: 'other' is unknown (known: twin, independent)")]
    [InlineData("surrogate:\n  kind: other\n", "surrogate.kind: 'other' is unknown (known: twin, independent)")]
    [InlineData("surrogate:\n  colour: red\n", "surrogate.colour: unknown key 'colour'")]
    [InlineData("trigger:\n  init: stripes\n", "trigger.init: 'stripes' is unknown (known: uniform, checkerboard)")]
    [InlineData("training:\n  optimizer: rmsprop\n", "training.optimizer: 'rmsprop' is unknown (known: adam, sgd)")]
    [InlineData("training:\n  schedule: 1\n", "training.schedule: expected one of none, cosine")]
    [InlineData("training:\n  augmentation: flipshift\n", "training.augmentation: 'flipshift' is unknown (known: none, flip, flip-shift)")]
    [InlineData("perturbation:\n  epsilon: 8/0\n", "perturbation.epsilon: '8/0' is not a pixel amount (0.0314 or 8/255)")]
    public void ClosedSetsAndBudgetsAreCheckedByName(string yaml, string message)
    {
        string path = Write("closed.yaml", "name: x\n" + yaml);
        Assert.Equal($"{path}: invalid config at {message}", LoadFails(path));
    }

    [Theory]
    [InlineData("surrogate:\n  loss: csq\n", "surrogate.loss: a twin surrogate is the clean model itself; use kind: independent for a surrogate of another loss or architecture")]
    [InlineData("surrogate:\n  kind: independent\n  loss: l1\n", "surrogate.loss l1: unknown loss (known: pairwise, pairwise-k, dpsh, hashnet, csq)")]
    [InlineData("surrogate:\n  kind: independent\n  architecture: vit\n", "surrogate.architecture vit: unknown backbone")]
    public void SurrogateThreatModelIsChecked(string yaml, string message)
    {
        string path = Write("surrogate.yaml", "name: x\n" + yaml);
        Assert.Contains(message, LoadFails(path));
    }

    [Fact]
    public void PretrainedBackboneKeysReachTheModelSpec()
    {
        string path = Write("pretrained.yaml", "name: x\nmodel:\n  architecture: resnet18\n  pretrained: imagenet-resnet18\n  inputSize: 64\ntraining:\n  freezeStages: 2\n  backboneLrScale: 0.1\n");
        var c = ExperimentConfig.Load(path);
        var spec = c.Model.Spec(1, 28, 28, 10);
        Assert.Equal("imagenet-resnet18", spec.Pretrained);
        Assert.Equal(64, spec.InputSize);
        Assert.Equal("cntk", spec.Layout);                       // implied by the pretrained source
        var o = c.Training.ToTrainerOptions(0);
        Assert.Equal(2, o.FreezeStages);
        Assert.Equal(0.1, o.BackboneLrScale);
        Assert.Contains("training.freezeStages -1", LoadFails(Write("freeze.yaml", "name: x\ntraining:\n  freezeStages: -1\n")));
    }

    [Fact]
    public void TransferSurrogateAndCheckerboardTriggerLoad()
    {
        string path = Write("transfer.yaml", "name: x\nsurrogate:\n  kind: independent\n  loss: hashnet\n  architecture: small-cnn-wide\ntrigger:\n  init: checkerboard\n");
        var c = ExperimentConfig.Load(path);
        Assert.Equal(SurrogateKind.Independent, c.Surrogate.Kind);
        Assert.Equal("hashnet", c.Surrogate.Loss);
        Assert.Equal("small-cnn-wide", c.Surrogate.Architecture);
        Assert.True(c.Surrogate.IsTransfer);
        Assert.Equal(HashBackdoor.Attacks.TriggerInit.Checkerboard, c.Trigger.Init);
        Assert.Equal(HashBackdoor.Attacks.TriggerInit.Checkerboard, c.Trigger.ToOptions(3).Init);
        Assert.Equal("independent, transfer: surrogate hashnet / small-cnn-wide, victim csq / small-cnn", c.Surrogate.Describe("csq", "small-cnn"));
        Assert.StartsWith("twin", SurrogateConfig.Twin.Describe("csq", "small-cnn"));
    }

    [Fact]
    public void EnumsAndBudgetsReadTheSameFromYamlAndJson()
    {
        string yaml = Write("typed.yaml", "name: x\nsurrogate: clean\ntraining:\n  optimizer: sgd\n  schedule: none\n  augmentation: flip-shift\n"
            + "evaluation:\n  queryRule: zero\nperturbation:\n  epsilon: 8/255\n  stepSize: '0.5/255'\ntrigger:\n  alpha: 12/255\n");
        var c = ExperimentConfig.Load(yaml);
        Assert.Equal(SurrogateKind.Twin, c.Surrogate.Kind);
        Assert.Equal(OptimizerKind.Sgd, c.Training.Optimizer);
        Assert.Equal(LearningRateSchedule.None, c.Training.Schedule);
        Assert.Equal(AugmentationKind.FlipShift, c.Training.Augmentation);
        Assert.Equal(HashBackdoor.Retrieval.QueryRule.Zero, c.Evaluation.QueryRule);
        Assert.Equal(8 / 255.0, c.Perturbation.Epsilon);
        Assert.Equal(0.5 / 255.0, c.Perturbation.StepSize);
        Assert.Equal(12 / 255.0, c.Trigger.Alpha);
        string json = Write("typed.json", "{\"name\": \"x\", \"surrogate\": {\"kind\": \"independent\"}, \"perturbation\": {\"epsilon\": \"8/255\"}}");
        var j = ExperimentConfig.Load(json);
        Assert.Equal(SurrogateKind.Independent, j.Surrogate.Kind);
        Assert.Equal(8 / 255.0, j.Perturbation.Epsilon);
        // Written back with canonical names and numbers; the twin surrogate as its new name.
        string written = ConfigFile.ToJson(c);
        Assert.Contains("\"kind\": \"twin\"", written);
        Assert.Contains("\"augmentation\": \"flip-shift\"", written);
        Assert.Contains("\"queryRule\": \"zero\"", written);
        Assert.Equal(ConfigFile.ToJson(c), ConfigFile.ToJson(ExperimentConfig.Load(Write("again.json", written))));
    }

    [Fact]
    public void TheShippedConfigsLoadWithTheirBudgets()
    {
        string dir = AppContext.BaseDirectory;
        while (!Directory.Exists(Path.Combine(dir, "configs"))) dir = Path.GetDirectoryName(dir) ?? throw new DirectoryNotFoundException("configs/");
        var s = ExperimentConfig.Load(Path.Combine(dir, "configs", "strong.yaml"));
        Assert.Equal(32 / 255.0, s.Perturbation.Epsilon);
        Assert.Equal(0.012549019607843137, s.Perturbation.StepSize);
        Assert.Equal(12 / 255.0, s.Trigger.Alpha);
        Assert.Equal(SurrogateKind.Twin, s.Surrogate.Kind);
        Assert.Equal(TrainingConfig.Recommended with { Epochs = 10 }, s.Training);
        // The paper preset and its default subset: the paper's budgets and an independent surrogate.
        var p = ExperimentConfig.Load(Path.Combine(dir, "configs", "paper.yaml"));
        var d = ExperimentConfig.Load(Path.Combine(dir, "configs", "default.yaml"));
        foreach (var c in new[] { p, d })
        {
            Assert.Equal(8 / 255.0, c.Perturbation.Epsilon);
            Assert.Equal(0.003, c.Perturbation.StepSize);
            Assert.Equal(20, c.Perturbation.Rounds);
            Assert.Equal(0.8, c.Perturbation.Lambda);
            Assert.Equal(4, c.Trigger.Size);
            Assert.Equal(HashBackdoor.Attacks.TriggerInit.Checkerboard, c.Trigger.Init);
            Assert.Equal(0, c.Trigger.Steps);
            Assert.Equal(SurrogateKind.Independent, c.Surrogate.Kind);
            Assert.Equal(200, c.Poison.Count);
            Assert.Equal(100, c.Protocol.ValidationPerClass);
            Assert.Equal(TrainingConfig.Recommended with { Epochs = 10 }, c.Training);
        }
        Assert.Equal(Enumerable.Range(0, 10), p.Targets);
        Assert.Equal(new long[] { 0, 1, 2 }, p.Seeds);
        Assert.Equal(ConfigFile.ToJson(p with { Name = d.Name, Targets = d.Targets, Seeds = d.Seeds }), ConfigFile.ToJson(d));
        var q = ExperimentConfig.Load(Path.Combine(dir, "configs", "quick.yaml"));
        Assert.Equal(32 / 255.0, q.Perturbation.Epsilon);
        Assert.Equal(8, q.Training.Epochs);
    }

    [Fact]
    public void TheAblationConfigsAreTheDefaultWithOnlyTheirStatedDifferences()
    {
        string dir = AppContext.BaseDirectory;
        while (!Directory.Exists(Path.Combine(dir, "configs"))) dir = Path.GetDirectoryName(dir) ?? throw new DirectoryNotFoundException("configs/");
        var d = ExperimentConfig.Load(Path.Combine(dir, "configs", "default.yaml"));
        ExperimentConfig Load(string name) => ExperimentConfig.Load(Path.Combine(dir, "configs", "ablations", name + ".yaml"));
        var three = new[] { "tri", "tri+adv", "ciba" };
        var onValidation = d.Evaluation with { Queries = QuerySet.Validation };
        var expected = new Dictionary<string, ExperimentConfig>
        {
            ["lambda-csq"] = d with { Name = "lambda-csq", Methods = new[] { "ciba" } },
            ["lambda-hashnet"] = d with { Name = "lambda-hashnet", Methods = new[] { "ciba" }, Training = d.Training with { Loss = "hashnet" } },
            ["twin-surrogate"] = d with { Name = "twin-surrogate", Methods = three, Surrogate = d.Surrogate with { Kind = SurrogateKind.Twin }, Evaluation = onValidation },
            ["independent-validation"] = d with { Name = "independent-validation", Methods = new[] { "tri+adv", "ciba" }, Evaluation = onValidation },
        };
        foreach (var (name, want) in expected)
            Assert.Equal(ConfigFile.ToJson(want), ConfigFile.ToJson(Load(name)));
        Assert.Equal(expected.Keys.OrderBy(k => k), Directory.GetFiles(Path.Combine(dir, "configs", "ablations"), "*.yaml").Select(Path.GetFileNameWithoutExtension).OrderBy(k => k));
    }

    [Theory]
    [InlineData("training:\n  seed: 4\n", "training.seed: set by the run for each of seeds (clean model and victims: the seed itself; surrogate: seed + 1000003); remove it")]
    [InlineData("trigger:\n  seed: 4\n", "trigger.seed: set by the run for each seed and target (seed * 1000 + target); remove it")]
    public void KeysTheRunSetsAreRefused(string yaml, string message)
    {
        string path = Write("owned.yaml", "name: x\n" + yaml);
        Assert.Equal($"{path}: {message}", LoadFails(path));
    }

    [Fact]
    public void AnOlderRunFoldersResolvedConfigWithSeedsStillLoads()
    {
        // Run folders written before the typed config recorded training.seed and trigger.seed (always overwritten).
        string path = Write("config.resolved.json", "{\"config\": {\"name\": \"old\", \"surrogate\": \"clean\", \"training\": {\"loss\": \"csq\", \"seed\": 0},"
            + " \"trigger\": {\"size\": 6, \"seed\": 0}, \"evaluation\": {\"queryRule\": \"skip\"}}, \"toolkitVersion\": \"0.1.0\"}");
        var c = ExperimentConfig.Load(path);
        Assert.Equal("old", c.Name);
        Assert.Equal(6, c.Trigger.Size);
        Assert.Equal(SurrogateKind.Twin, c.Surrogate.Kind);
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
        Assert.Equal("targets 99: unknown class (the dataset has 3 classes, 0..2)", RunFails(config, tmp["target"]));
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
