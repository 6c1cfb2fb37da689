using static TorchSharp.torch;

namespace HashBackdoor.Tests;

/// <summary>Tiny, learnable synthetic image sets for tests: each class lights a different horizontal band of a
/// 1 x size x size image, plus seeded noise; the bottom-right corner stays dark like Fashion-MNIST's.</summary>
internal static class TinyData
{
    public static (Tensor Images, Tensor Labels) Make(int perClass, int classes, int size = 12, long seed = 1)
    {
        var g = new Generator().manual_seed(seed);
        int n = perClass * classes;
        var images = rand(new long[] { n, 1, size, size }, generator: g).mul(0.2f);
        var cls = arange(n).remainder(classes);
        int band = Math.Max(1, (size - 3) / classes);
        for (int c = 0; c < classes; c++)
        {
            using var rows = cls.eq(c).nonzero().squeeze(1);
            using var slice = images.index_select(0, rows);
            slice[TensorIndex.Ellipsis, TensorIndex.Slice(c * band, (c + 1) * band), TensorIndex.Slice(0, size - 3)] += 0.7f;
            images.index_copy_(0, rows, slice);
        }
        images[TensorIndex.Ellipsis, TensorIndex.Slice(size - 3, null), TensorIndex.Slice(size - 3, null)] = 0f;
        var labels = nn.functional.one_hot(cls, classes).to_type(ScalarType.Float32);
        return (images.clamp_(0, 1), labels);
    }
}
