using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

[Collection("torch-training")]
public class TrainerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hbd-train").FullName;
    private static readonly HashModelSpec Spec = new("small-cnn", 16, 1, 12, 12, 3);

    public void Dispose() => Directory.Delete(dir, true);

    private static HashTrainerOptions Options(int epochs) => new()
    {
        Loss = "pairwise-k", Epochs = epochs, BatchSize = 16, LearningRate = 3e-3, Augmentation = AugmentationKind.FlipShift, Seed = 11,
    };

    private static Tensor TrainAndEncode(HashTrainerOptions o, Tensor x, Tensor y, string? ckpt = null, bool resume = false,
        int stopAfterEpoch = 0)
    {
        manual_seed(42);
        using var model = new HashModel(Spec);
        var cts = new CancellationTokenSource();
        try
        {
            new HashTrainer(o).Train(model, x, y, checkpointDir: ckpt, resume: resume,
                progress: p => { if (p.EpochDone && p.Epoch == stopAfterEpoch) cts.Cancel(); }, cancel: cts.Token);
        }
        catch (OperationCanceledException) { return empty(0); }
        return HashEncoder.Encode(model, x);
    }

    [Fact]
    public void SameSeedGivesBitwiseIdenticalCodes()
    {
        var (x, y) = TinyData.Make(16, 3);
        using var a = TrainAndEncode(Options(2), x, y);
        using var b = TrainAndEncode(Options(2), x, y);
        Assert.True(a.eq(b).all().item<bool>());
    }

    [Fact]
    public void ResumedRunEndsWithTheSameCodesAsAnUninterruptedOne()
    {
        var (x, y) = TinyData.Make(16, 3);
        using var full = TrainAndEncode(Options(4), x, y);
        string ckpt = Path.Combine(dir, "ckpt");
        using var stopped = TrainAndEncode(Options(4), x, y, ckpt, stopAfterEpoch: 2);
        Assert.Equal(0, stopped.numel());
        Assert.True(TrainingCheckpoint.Exists(ckpt));
        using var resumed = TrainAndEncode(Options(4), x, y, ckpt, resume: true);
        Assert.True(full.eq(resumed).all().item<bool>());
    }

    [Fact]
    public void TrainingSeparatesTheClasses()
    {
        var (x, y) = TinyData.Make(24, 3);
        using var codes = TrainAndEncode(Options(6), x, y);
        // Mean Hamming distance within classes must be well below the one across classes.
        using var dist = codes.matmul(codes.t()).neg().add(16).div(2);
        using var same = y.matmul(y.t());
        double within = dist.masked_select(same.gt(0)).mean().item<float>();
        double across = dist.masked_select(same.eq(0)).mean().item<float>();
        Assert.True(within + 3 < across, $"within {within:F2} vs across {across:F2}");
    }

    [Fact]
    public void NonFiniteLossStopsTrainingWithItsStep()
    {
        var (x, y) = TinyData.Make(8, 3);
        x[0, 0, 0, 0] = float.NaN;
        manual_seed(1);
        using var model = new HashModel(Spec);
        var e = Assert.Throws<NumericalException>(() => new HashTrainer(Options(1) with { Augmentation = AugmentationKind.None }).Train(model, x, y));
        Assert.Contains("epoch 1", e.Message);
    }

    [Fact]
    public void AugmentationLeavesProtectedRowsUntouched()
    {
        var (x, _) = TinyData.Make(8, 3);
        var allowed = arange(x.shape[0]).remainder(2).eq(0);
        using var y = BatchAugmentation.Apply(x, AugmentationKind.FlipShift, allowed, new Generator().manual_seed(3));
        using var protectedRows = allowed.logical_not().nonzero().squeeze(1);
        Assert.True(y.index_select(0, protectedRows).eq(x.index_select(0, protectedRows)).all().item<bool>());
        Assert.False(y.eq(x).all().item<bool>());
    }

    [Fact]
    public void ShiftMovesPixelsByWholeOffsets()
    {
        // One image with a single lit pixel: after flip-shift it must still hold exactly one lit pixel (or none if shifted
        // out of view), within 2 pixels of the original or of its mirror image.
        var x = zeros(64, 1, 9, 9);
        x[TensorIndex.Ellipsis, 4, 3] = 1f;
        using var y = BatchAugmentation.Apply(x, AugmentationKind.FlipShift, ones(64, dtype: ScalarType.Bool), new Generator().manual_seed(9));
        using var counts = y.sum(new long[] { 1, 2, 3 });
        Assert.True(counts.eq(1).all().item<bool>());
        using var nz = y.nonzero();
        var cols = nz.select(1, 3).data<long>().ToArray();
        var rows = nz.select(1, 2).data<long>().ToArray();
        Assert.All(rows, r => Assert.InRange(r, 2, 6));
        Assert.All(cols, c => Assert.InRange(c, 1, 7));
    }
}
