using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

public class HashEncoderTests
{
    private static HashModel Model()
    {
        manual_seed(5);
        var model = new HashModel(new HashModelSpec("small-cnn", 24, 1, 12, 12, 3));
        model.eval();
        return model;
    }

    [Fact]
    public void CodesDoNotDependOnTheBatchSizeOrTheCpuSlicing()
    {
        using var model = Model();
        long n = 2 * HashEncoder.CpuForwardBatch + 37; // more than one forward slice per batch
        using var x = rand(new long[] { n, 1, 12, 12 }, generator: new Generator().manual_seed(8));
        Tensor whole;
        using (no_grad())
        using (var z = model.forward(x))
            whole = z.sign();
        using (whole)
        {
            foreach (int bs in new[] { 1000, (int)n, HashEncoder.CpuForwardBatch + 1, 50, 7 })
            {
                using var codes = HashEncoder.Encode(model, x, bs);
                Assert.Equal(new[] { n, 24L }, codes.shape);
                Assert.True(codes.eq(whole).all().item<bool>(), $"batch size {bs}: codes differ from one forward of all images");
            }
        }
    }

    [Fact]
    public void TransformSeesWholeBatchesOfTheRequestedSize()
    {
        using var model = Model();
        long n = HashEncoder.CpuForwardBatch * 3 + 5;
        using var x = rand(new long[] { n, 1, 12, 12 }, generator: new Generator().manual_seed(9));
        var seen = new List<long>();
        using var codes = HashEncoder.Encode(model, x, 300, t => { seen.Add(t.shape[0]); return t.mul(0.5); });
        Assert.Equal(new[] { 300L, n - 300 }, seen);
        using var expected = HashEncoder.Encode(model, x.mul(0.5), 1000);
        Assert.True(codes.eq(expected).all().item<bool>());
    }

    [Fact]
    public void EncodingRestoresTrainingMode()
    {
        using var model = Model();
        model.train();
        using var x = rand(3, 1, 12, 12);
        using var codes = HashEncoder.Encode(model, x);
        Assert.True(model.training);
    }
}
