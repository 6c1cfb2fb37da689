using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

public class HashModelTests
{
    [Theory]
    [InlineData(28)]
    [InlineData(13)]
    public void BottomRightCornerReachesTheCode(int size)
    {
        // Pooling that floors odd sizes would drop the last row/column, where the trigger sits (method.md section 9).
        manual_seed(3);
        using var model = new HashModel(new HashModelSpec("small-cnn", 16, 1, size, size, 10));
        model.eval();
        using var x = rand(2, 1, size, size).requires_grad_(true);
        using var z = model.forward(x);
        using var s = z.sum();
        s.backward();
        using var corner = x.grad![TensorIndex.Ellipsis, size - 1, size - 1].abs().sum();
        Assert.True(corner.item<float>() > 0, "gradient of the code w.r.t. the bottom-right pixel is zero");
    }

    [Theory]
    [InlineData("small-cnn", 1, 28)]
    [InlineData("resnet18", 3, 16)]
    [InlineData("vgg11", 3, 32)]
    public void EveryBackboneProducesKOutputs(string arch, int channels, int size)
    {
        using var model = new HashModel(new HashModelSpec(arch, 24, channels, size, size, 10));
        model.eval();
        using var _ = no_grad();
        using var z = model.forward(rand(2, channels, size, size));
        Assert.Equal(new long[] { 2, 24 }, z.shape);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(0)]
    [InlineData(-8)]
    public void BitsNotAMultipleOfEightAreRejected(int bits)
    {
        var e = Assert.Throws<UsageException>(() => new HashModelSpec("small-cnn", bits, 1, 28, 28, 10).Validate());
        Assert.Contains("model.bits", e.Message);
    }
}
