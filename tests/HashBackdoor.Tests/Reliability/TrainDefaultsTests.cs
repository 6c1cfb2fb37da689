using System.Text.Json;
using HashBackdoor.Experiments;

namespace HashBackdoor.Tests.Reliability;

/// <summary><c>hashbd train</c> without recipe flags trains with the recommended recipe the experiments use, says so in
/// --help, and names its flags (not config keys) in errors.</summary>
[Collection("torch-training")]
public class TrainDefaultsTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void HelpExplainsTheDefaults()
    {
        var r = Hashbd.Run("train", "--help");
        Assert.Equal(0, r.ExitCode);
        string help = r.Out.ReplaceLineEndings(" ");
        Assert.Contains("recommended CPU recipe", help);
        Assert.Contains("84% mAP@1000", help);
        Assert.Matches(@"--loss[^\n]*\[default: csq\]", r.Out);
        Assert.Matches(@"--epochs[^\n]*\[default: 10\]", r.Out);
        Assert.Matches(@"--schedule[^\n]*\[default: cosine\]", r.Out);
    }

    [Fact]
    public void WithoutRecipeFlagsTheRunRecordsTheRecommendedRecipe()
    {
        string dir = tmp["train"];
        var r = Hashbd.Run("train", "--dataset", Tiny.Dataset, "--query-per-class", "4", "--train-per-class", "8", "--bits", "16",
            "--epochs", "1", "--batch-size", "8", "--out", dir);
        Assert.True(r.ExitCode == 0, r.Err);
        var trainer = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "run.json"))).RootElement.GetProperty("Trainer");
        var recommended = TrainingConfig.Recommended;
        Assert.Equal("csq", trainer.GetProperty("Loss").GetString());
        Assert.Equal(recommended.Loss, trainer.GetProperty("Loss").GetString());
        Assert.Equal("adam", trainer.GetProperty("Optimizer").GetString());
        Assert.Equal("cosine", trainer.GetProperty("Schedule").GetString());
        Assert.Equal("flip", trainer.GetProperty("Augmentation").GetString());
        Assert.Equal(recommended.LearningRate, trainer.GetProperty("LearningRate").GetDouble());
    }

    [Theory]
    [InlineData(new[] { "--optimizer", "rmsprop" }, "hashbd: error: --optimizer rmsprop: unknown (known: adam, sgd)")]
    [InlineData(new[] { "--augment", "flipshift" }, "hashbd: error: --augment flipshift: unknown (known: none, flip, flip-shift)")]
    [InlineData(new[] { "--epochs", "0" }, "hashbd: error: --epochs 0: must be at least 1")]
    [InlineData(new[] { "--arch", "alexnet" }, "hashbd: error: --arch alexnet: unknown backbone (known: small-cnn, small-cnn-wide, vgg11, resnet18)")]
    public void BadFlagsAreNamedAsFlags(string[] flag, string message)
    {
        var r = Hashbd.Run(new[] { "train", "--dataset", Tiny.Dataset, "--out", tmp["bad"] }.Concat(flag).ToArray());
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(message, r.SingleErrorLine());
        Assert.False(Directory.Exists(tmp["bad"]));
    }
}
