using HashBackdoor.Experiments;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Experiments;

/// <summary>
/// The pretrained keys of an experiment config (issue 21): the shipped pretrained presets carry the paper's budgets, the
/// optimised patch and the public weights; their validation tries differ from them only in what they say; a bad
/// pretrained key is named by its config key; and an independent surrogate of a pretrained config starts from the same
/// public weights as the clean model, with a hash layer of its own.
/// </summary>
[Collection("torch-training")]
public class PretrainedConfigTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hbd-pretrained-config").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private static string Repo()
    {
        string d = AppContext.BaseDirectory;
        while (!Directory.Exists(Path.Combine(d, "configs"))) d = Path.GetDirectoryName(d) ?? throw new DirectoryNotFoundException("configs/");
        return d;
    }

    [Fact]
    public void ThePretrainedPresetsCarryTheBudgetsThePatchAndThePublicWeights()
    {
        var p = ExperimentConfig.Load(Path.Combine(Repo(), "configs", "pretrained.yaml"));
        Assert.Equal(HashModelSpec.ImageNetResNet18, p.Model.Pretrained);
        Assert.Equal("resnet18", p.Model.Architecture);
        Assert.Equal(8 / 255.0, p.Perturbation.Epsilon);
        Assert.Equal(0.003, p.Perturbation.StepSize);
        Assert.Equal(20, p.Perturbation.Rounds);
        Assert.Equal(0.8, p.Perturbation.Lambda);
        Assert.Equal(200, p.Poison.Count);
        Assert.Equal(2000, p.Trigger.Steps);
        Assert.Equal(HashBackdoor.Attacks.TriggerInit.Uniform, p.Trigger.Init);
        Assert.Equal(0.5, p.Trigger.InitValue);
        Assert.Equal(12 / 255.0, p.Trigger.Alpha);
        Assert.Equal(32, p.Trigger.BatchSize);
        Assert.Equal(SurrogateKind.Independent, p.Surrogate.Kind);
        Assert.Equal(new[] { 1, 7, 8 }, p.Targets);
        Assert.Equal(new long[] { 0 }, p.Seeds);
        Assert.True(p.Training.FreezeStages >= 1);
        Assert.Equal(0.1, p.Training.BackboneLrScale);
        // The spec the run builds: the package's layout and normalisation follow from model.pretrained.
        var spec = p.Model.Spec(1, 28, 28, 10);
        Assert.Equal("cntk", spec.Layout);
        Assert.Equal("mean-image", spec.Normalization);
        Assert.Equal(p.Model.InputSize, spec.InputSize);

        var full = ExperimentConfig.Load(Path.Combine(Repo(), "configs", "pretrained-full.yaml"));
        Assert.Equal(ConfigFile.ToJson(p with { Name = "pretrained-full", Targets = Enumerable.Range(0, 10).ToArray(), Seeds = new long[] { 0, 1, 2 } }), ConfigFile.ToJson(full));

        // The validation tries: pretrained.yaml on validation queries, target 1, tri and ciba, at their freeze depth.
        foreach (var path in Directory.GetFiles(Path.Combine(Repo(), "configs", "pretrained-validation"), "f*.yaml"))
        {
            var v = ExperimentConfig.Load(path);
            int freeze = int.Parse(Path.GetFileNameWithoutExtension(path)[1..]);
            var want = p with
            {
                Name = $"pretrained-validation-f{freeze}", Targets = new[] { 1 }, Methods = new[] { "tri", "ciba" },
                Training = p.Training with { FreezeStages = freeze }, Evaluation = p.Evaluation with { Queries = QuerySet.Validation },
            };
            Assert.Equal(ConfigFile.ToJson(want), ConfigFile.ToJson(v));
        }
        // The checkerboard try: the freeze-4 try with the from-scratch presets' fixed trigger.
        var f4 = ExperimentConfig.Load(Path.Combine(Repo(), "configs", "pretrained-validation", "f4.yaml"));
        var checker = ExperimentConfig.Load(Path.Combine(Repo(), "configs", "pretrained-validation", "checkerboard-f4.yaml"));
        Assert.Equal(ConfigFile.ToJson(f4 with
        {
            Name = "pretrained-validation-checkerboard-f4",
            Trigger = f4.Trigger with { Init = HashBackdoor.Attacks.TriggerInit.Checkerboard, Steps = 0 },
        }), ConfigFile.ToJson(checker));
    }

    [Theory]
    [InlineData("model:\n  architecture: resnet18\n  inputSize: 4\n", "model.inputSize 4: must be between 8 and 1024 pixels")]
    [InlineData("model:\n  architecture: small-cnn\n  pretrained: imagenet-resnet18\n", "model.pretrained imagenet-resnet18: only vgg11 and resnet18 take pretrained weights, not small-cnn")]
    [InlineData("model:\n  architecture: resnet18\n  layout: keras\n", "model.layout keras: unknown (known: torchvision, cntk; omit it for the toolkit's own)")]
    [InlineData("model:\n  architecture: resnet18\n  layout: torchvision\n  normalization: fancy\n", "model.normalization fancy: unknown (known: none, imagenet, mean-image)")]
    [InlineData("training:\n  freezeStages: -1\n", "training.freezeStages -1: must be at least 0")]
    public void ABadPretrainedKeyIsNamedByItsConfigKey(string yaml, string message)
    {
        string path = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(path, "name: x\n" + yaml);
        var e = Assert.Throws<UsageException>(() => ExperimentConfig.Load(path));
        Assert.Equal($"{path}: {message}", e.Message);
    }

    [Fact]
    public void TheIndependentSurrogateStartsFromTheSamePublicWeightsWithItsOwnHashLayer()
    {
        // What TrainPipeline.Train does for the clean model (seed S) and the surrogate (seed S + 1,000,003).
        var spec = new HashModelSpec("resnet18", 16, 1, 28, 28, 10) { Pretrained = HashModelSpec.ImageNetResNet18, InputSize = 32 }.Validate();
        TorchRuntime.Seed(0);
        using var clean = HashModel.Create(spec);
        TorchRuntime.Seed(1_000_003);
        using var surrogate = HashModel.Create(spec);
        var a = clean.state_dict();
        var b = surrogate.state_dict();
        int backbone = 0;
        foreach (var (name, t) in a)
        {
            if (!name.StartsWith("backbone.", StringComparison.Ordinal) && !name.StartsWith("input.", StringComparison.Ordinal)) continue;
            using var eq = t.eq(b[name]);
            Assert.True(eq.all().item<bool>(), $"{name} differs between clean model and surrogate");
            backbone++;
        }
        Assert.True(backbone > 100);
        using var d = a["hash.weight"].sub(b["hash.weight"]).abs().max();
        Assert.True(d.item<float>() > 1e-3, "the surrogate's hash layer is the clean model's");
    }
}
