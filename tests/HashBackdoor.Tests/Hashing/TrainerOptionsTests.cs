using System.Text.Json;
using HashBackdoor.Experiments;
using HashBackdoor.Hashing;

namespace HashBackdoor.Tests.Hashing;

/// <summary>One record per setting (issue 22): the trainer's options are the config section <c>training</c>'s, with one
/// set of defaults (the recommended recipe) and one check; the model section is checked by the model spec.</summary>
public sealed class TrainerOptionsTests
{
    [Fact]
    public void TheLibraryDefaultsAreTheRecommendedRecipe()
    {
        Assert.Equal(TrainingConfig.Recommended.ToTrainerOptions(0), new HashTrainerOptions());
        var d = new HashTrainerOptions();
        // The recipe of docs/results.md, spelt out independently of both records.
        Assert.Equal(("csq", 10, 64, OptimizerKind.Adam, 1e-3, 1.0, LearningRateSchedule.Cosine, AugmentationKind.Flip),
            (d.Loss, d.Epochs, d.BatchSize, d.Optimizer, d.LearningRate, d.BackboneLrScale, d.Schedule, d.Augmentation));
        Assert.Equal(TrainingConfig.Recommended, TrainingConfig.From(d));
    }

    [Fact]
    public void RunJsonStillWritesAndReadsTheClosedSetsByName()
    {
        // run.json and the checkpoint state keep the names they had when these were strings.
        string json = JsonSerializer.Serialize(HashTrainerOptions.Reference with { Augmentation = AugmentationKind.FlipShift }, RunRecord.Json);
        Assert.Contains("\"Optimizer\": \"sgd\"", json);
        Assert.Contains("\"Schedule\": \"none\"", json);
        Assert.Contains("\"Augmentation\": \"flip-shift\"", json);
        const string old = "{\"Loss\":\"pairwise-k\",\"Quantization\":0,\"Epochs\":20,\"BatchSize\":64,\"Optimizer\":\"adam\",\"LearningRate\":0.001,"
            + "\"BackboneLrScale\":1,\"Momentum\":0.9,\"WeightDecay\":0,\"Schedule\":\"cosine\",\"Augmentation\":\"flip\",\"Seed\":0}";
        var read = JsonSerializer.Deserialize<HashTrainerOptions>(old, RunRecord.Json)!;
        Assert.Equal(new HashTrainerOptions { Loss = "pairwise-k", Epochs = 20 }, read);
        Assert.Equal(old, JsonSerializer.Serialize(read));
    }

    [Theory]
    [InlineData("training:\n  momentum: -1\n", "training.momentum -1: must be >= 0")]
    [InlineData("training:\n  epochs: 0\n", "training.epochs 0: must be at least 1")]
    public void TheConfigSectionAndTheTrainerShareOneCheck(string yaml, string message)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("hbd-opts-").FullName, "c.yaml");
        File.WriteAllText(path, "name: x\n" + yaml);
        var fromConfig = Assert.Throws<UsageException>(() => ExperimentConfig.Load(path));
        Assert.Contains(message, fromConfig.Message);
        var section = ConfigFile.Load<ExperimentConfig>(path).Training;
        Assert.Equal(message, Assert.Throws<UsageException>(() => section.ToTrainerOptions(0).Validate()).Message);
        Assert.Equal(message, Assert.Throws<UsageException>(() => new HashTrainer(section.ToTrainerOptions(7))).Message);
    }

    [Fact]
    public void TheModelSectionIsCheckedByTheModelSpec()
    {
        // Caught when the config is checked, not only when the model is built (the spec's check, run on the section).
        var e = Assert.Throws<UsageException>(() => new ModelConfig { Architecture = "small-cnn", Pretrained = HashModelSpec.ImageNetResNet18 }.Validate());
        Assert.Equal("model.pretrained imagenet-resnet18: only vgg11 and resnet18 take pretrained weights, not small-cnn", e.Message);
        Assert.Equal("model.bits 12: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096",
            Assert.Throws<UsageException>(() => new ModelConfig { Bits = 12 }.Validate()).Message);
        Assert.Equal("model.inputSize 4: must be between 8 and 1024 pixels",
            Assert.Throws<UsageException>(() => new ModelConfig { Architecture = "resnet18", InputSize = 4 }.Validate()).Message);
    }
}
