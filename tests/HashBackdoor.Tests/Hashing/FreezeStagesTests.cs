using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

/// <summary><c>--freeze-stages N</c>: the first N backbone stages keep their weights and BatchNorm statistics through
/// training and get no gradient; the rest trains; the model is left trainable afterwards.</summary>
[Collection("torch-training")]
public class FreezeStagesTests
{
    private static readonly HashModelSpec Spec = new("resnet18", 16, 1, 12, 12, 3) { Layout = "torchvision", Normalization = "imagenet", InputSize = 32 };

    private static Dictionary<string, Tensor> Snapshot(HashModel m) => m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    private static bool Same(Tensor a, Tensor b) => (a.to_type(ScalarType.Float64) - b.to_type(ScalarType.Float64)).abs().max().item<double>() == 0;

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void FrozenStagesKeepWeightsAndStatistics(int freeze)
    {
        var (x, y) = TinyData.Make(perClass: 8, classes: 3, size: 12);
        manual_seed(7);
        using var model = new HashModel(Spec);
        var before = Snapshot(model);
        var frozenPrefixes = new[] { "backbone.conv1.", "backbone.bn1.", "backbone.layer1.", "backbone.layer2.", "backbone.layer3.", "backbone.layer4." }
            .Take(freeze + 1).ToArray(); // stage 1 (stem) is conv1 + bn1
        new HashTrainer(new HashTrainerOptions { Loss = "csq", Epochs = 1, BatchSize = 8, LearningRate = 1e-2, FreezeStages = freeze, Seed = 1 }).Train(model, x, y);
        var after = model.state_dict();
        int frozen = 0, changed = 0;
        foreach (var (name, t) in after)
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            bool isFrozen = frozenPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
            if (isFrozen) { frozen++; Assert.True(Same(before[name], t), $"{name} changed although its stage is frozen"); }
            else if (!Same(before[name], t)) changed++;
        }
        Assert.True(frozen > 0);
        Assert.True(Same(before["backbone.bn1.running_mean"], after["backbone.bn1.running_mean"]), "frozen BatchNorm statistics moved");
        Assert.False(Same(before["hash.weight"], after["hash.weight"]), "the hash layer did not train");
        if (freeze < 5) Assert.False(Same(before["backbone.layer4.1.conv2.weight"], after["backbone.layer4.1.conv2.weight"]), "an unfrozen stage did not train");
        Assert.True(changed > 0);
        // Frozen parameters never got a gradient, and all are trainable again afterwards.
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.True(p.requires_grad, $"{name} left frozen after training");
            if (name.StartsWith("backbone.conv1.", StringComparison.Ordinal)) Assert.True(p.grad is null || p.grad.abs().max().item<float>() == 0, $"{name} has a gradient");
        }
    }

    [Fact]
    public void FreezingMoreStagesThanTheBackboneHasIsRejected()
    {
        var (x, y) = TinyData.Make(perClass: 2, classes: 3, size: 12);
        using var model = new HashModel(Spec);
        var e = Assert.Throws<UsageException>(() => new HashTrainer(new HashTrainerOptions { Epochs = 1, BatchSize = 4, FreezeStages = 6 }).Train(model, x, y));
        Assert.Equal("training.freezeStages 6: resnet18 has 5 stages (stem, layer1, layer2, layer3, layer4)", e.Message);
        Assert.Throws<UsageException>(() => new HashTrainerOptions { FreezeStages = -1 }.Validate());
    }
}
