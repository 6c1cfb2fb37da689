using System.Text.Json;
using HashBackdoor.Hashing;
using HashBackdoor.Tests.Hashing;
using HashBackdoor.Tests.Reliability;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Experiments;

/// <summary><c>hashbd train --arch resnet18 --pretrained imagenet-resnet18 ...</c> then <c>hashbd evaluate</c> in-process on
/// the tiny synthetic protocol; bad pretrained flags and files end in one error line with the documented exit code.</summary>
[Collection("torch-training")]
public class PretrainedTrainTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void ImageNetResNet18TrainsAndEvaluatesFromTheCommandLine()
    {
        string run = tmp["run"];
        var r = Hashbd.Run(Tiny.TrainArgs(run, epochs: 1, seed: 0,
            "--arch", "resnet18", "--pretrained", "imagenet-resnet18", "--input-size", "32", "--freeze-stages", "2", "--backbone-lr-scale", "0.1"));
        Assert.True(r.ExitCode == 0, $"train failed ({r.ExitCode}): {r.Err}");
        var meta = ModelFile.ReadMetadata(Path.Combine(run, "model.hbm"));
        Assert.Equal(("imagenet-resnet18", "cntk", "mean-image", 32), (meta.Spec.Pretrained, meta.Spec.Layout, meta.Spec.Normalization, meta.Spec.InputSize));
        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json")));
        Assert.Equal(2, record.RootElement.GetProperty("Trainer").GetProperty("FreezeStages").GetInt32());
        Assert.Equal("imagenet-resnet18", record.RootElement.GetProperty("Model").GetProperty("Pretrained").GetString());

        var e = Hashbd.Run("evaluate", "--model", run, "--out", tmp["eval"], "--topk", "10");
        Assert.True(e.ExitCode == 0, $"evaluate failed ({e.ExitCode}): {e.Err}");
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp["eval"], "metrics.json")));
        // 3 learnable classes: the pretrained features after one epoch rank far above chance (1/3 of the database).
        Assert.InRange(metrics.RootElement.GetProperty("mAP").GetDouble(), 40, 100);
    }

    [Fact]
    public void AMismatchedStateDictIsOneErrorLineWithExitCode3()
    {
        var sd = TorchvisionReference.ResNet18(seed: 2);
        sd["layer1.0.conv1.weight"] = zeros(64, 64, 5, 5);
        string path = tmp["bad.pth"];
        PyTorchPickler.PickleStateDict(path, sd);
        var r = Hashbd.Run(Tiny.TrainArgs(tmp["run-bad"], epochs: 1, seed: 0, "--arch", "resnet18", "--pretrained", path, "--input-size", "32"));
        Assert.Equal(3, r.ExitCode);
        var errors = r.ErrLines.Where(l => l.StartsWith("hashbd:", StringComparison.Ordinal)).ToArray(); // progress lines share stderr
        string line = Assert.Single(errors);
        Assert.Contains("layer1.0.conv1.weight expected [64, 64, 3, 3], found [64, 64, 5, 5]", line);
    }

    [Fact]
    public void PretrainedWeightsForASmallCnnAreAUsageError()
    {
        var r = Hashbd.Run(Tiny.TrainArgs(tmp["run-small"], epochs: 1, seed: 0, "--pretrained", "imagenet-resnet18"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--pretrained imagenet-resnet18: only vgg11 and resnet18", r.SingleErrorLine());
    }
}
