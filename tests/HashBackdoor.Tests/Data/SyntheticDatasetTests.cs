using System.Diagnostics;
using HashBackdoor.Data;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

public class SyntheticDatasetTests(ITestOutputHelper output)
{
    [Fact]
    public void DeterministicShapesRangeAndBlackCorner()
    {
        using var a = DatasetCatalog.Load("synthetic:20:4:16:5");
        using var b = DatasetCatalog.Load("synthetic:20:4:16:5");
        using var c = DatasetCatalog.Load("synthetic:20:4:16:6");
        Assert.Equal("synthetic", a.Name);
        Assert.Equal(new long[] { 80, 1, 16, 16 }, a.Train.Images.shape);
        Assert.Equal(new long[] { 80, 4 }, a.Test!.Labels.shape);
        Assert.True(Same(a.Train.Images, b.Train.Images));
        Assert.True(Same(a.Test.Images, b.Test!.Images));
        Assert.False(Same(a.Train.Images, c.Train.Images));
        Assert.False(Same(a.Train.Images, a.Test.Images));
        Assert.InRange(a.Train.Images.min().item<float>(), 0f, 0f);
        Assert.InRange(a.Train.Images.max().item<float>(), 0.5f, 1f);
        using var corner = a.Train.Images.narrow(2, 12, 4).narrow(3, 12, 4);
        Assert.Equal(0f, corner.abs().max().item<float>());
        Assert.Equal(Enumerable.Range(0, 80).Select(i => i % 4), a.Train.SingleLabels());
        Assert.Empty(a.Checksums);
    }

    [Theory]
    [InlineData("synthetic:1:2")]
    [InlineData("synthetic:x:2:16")]
    [InlineData("synthetic:10:1:16")]
    [InlineData("synthetic:10:4:4")]
    [InlineData("synthetic:10:4:16:seed")]
    [InlineData("synthetic:100000:100:512")]
    public void BadSyntheticSpecsAreUsageErrors(string spec)
    {
        Assert.Throws<UsageException>(() => DatasetCatalog.Load(spec));
    }

    [Fact]
    public void TwoLayerCnnLearnsItQuickly()
    {
        using var data = DatasetCatalog.Load("synthetic:20:10:16:1");
        // One intra-op thread: on a loaded 2-core machine libtorch's 2 OpenMP threads spin against each other and make
        // this tiny model ~20x slower (measured: 10 s CPU with 2 threads vs 0.5 s with 1).
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try { TrainAndCheck(data); }
        finally { torch.set_num_threads(threads); }
    }

    void TrainAndCheck(DatasetSplits data)
    {
        torch.manual_seed(1);
        using var model = Sequential(
            Conv2d(1, 8, 3, padding: 1), ReLU(), MaxPool2d(2),
            Conv2d(8, 16, 3, padding: 1), ReLU(), MaxPool2d(2),
            Flatten(), Linear(16 * 4 * 4, 10));
        using var opt = optim.Adam(model.parameters(), 0.01);
        var x = data.Train.Images;
        using var y = data.Train.Labels.argmax(1);
        var sw = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var rng = new SplitMix64(1);
        var order = Enumerable.Range(0, data.Train.Count).Select(i => (long)i).ToArray();
        for (int epoch = 0; epoch < 8; epoch++)
        {
            rng.Shuffle(order);
            for (int s = 0; s < order.Length; s += 20)
            {
                using var scope = NewDisposeScope();
                var idx = tensor(order[s..Math.Min(order.Length, s + 20)]);
                opt.zero_grad();
                var loss = functional.cross_entropy(model.forward(x.index_select(0, idx)), y.index_select(0, idx));
                loss.backward();
                opt.step();
            }
        }
        using var noGrad = no_grad();
        using var logits = model.forward(data.Test!.Images);
        using var pred = logits.argmax(1);
        using var truth = data.Test.Labels.argmax(1);
        float acc = pred.eq(truth).to_type(ScalarType.Float32).mean().item<float>();
        output.WriteLine($"synthetic:20:10:16:1 test accuracy {acc:F3} after {sw.Elapsed.TotalSeconds:F1} s ({(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s CPU, {torch.get_num_threads()} threads)");
        Assert.True(acc > 0.9f, $"test accuracy {acc:F3} after {sw.Elapsed.TotalSeconds:F1} s");
    }
}
