using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Data;

/// <summary>
/// A small generated dataset for tests and benchmarks: grey SIZE x SIZE images in which each class is a distinct
/// pattern — a Gaussian blob at a class-specific place on a circle plus stripes at a class-specific angle — with
/// per-image random phase, jitter, contrast and pixel noise. Tiny CNNs learn it in seconds. As in Fashion-MNIST the
/// bottom-right corner (the last quarter of rows and of columns) is black, so a corner trigger patch stands out.
/// </summary>
/// <remarks>
/// Image i of a split has class i mod CLASSES (classes interleaved). Pixel (row r, column c) at
/// u = (c + 0.5)/SIZE, v = (r + 0.5)/SIZE of an image of class k is
/// clamp(a·(0.7·exp(-((u-cx)²+(v-cy)²)/(2·0.09²)) + 0.3·(0.5 + 0.5·cos(6π(u·cos θ + v·sin θ) + φ))) + 0.08·ε, 0, 1),
/// and 0 where u &gt; 0.75 and v &gt; 0.75; with θ = πk/CLASSES, (cx, cy) = (0.4 + 0.22·cos(2πk/CLASSES),
/// 0.4 + 0.22·sin(2πk/CLASSES)) + jitter uniform in ±0.04, φ uniform in [0, 2π), a uniform in [0.8, 1], ε standard
/// normal. Random numbers come from torch generators seeded from SEED (train) and SEED + 1,000,003 (test), so a spec
/// always gives the same tensors with a given libtorch version.
/// </remarks>
public static class SyntheticDataset
{
    /// <summary>Largest number of pixels of one split.</summary>
    public const long MaxElements = 100_000_000;

    /// <summary>
    /// Generates both splits, each with <paramref name="perClass"/> images per class.
    /// </summary>
    /// <param name="perClass">Images per class in each split (1..100000).</param>
    /// <param name="classes">Number of classes (2..100).</param>
    /// <param name="size">Image side in pixels (8..512).</param>
    /// <param name="seed">Seed.</param>
    /// <param name="spec">Spec recorded in the result (default the canonical "synthetic:N:C:S:SEED").</param>
    public static DatasetSplits Create(int perClass, int classes, int size, long seed = 0, string? spec = null)
    {
        if (perClass < 1 || perClass > 100_000) throw new UsageException($"synthetic images per class {perClass}: must be 1..100000");
        if (classes < 2 || classes > 100) throw new UsageException($"synthetic classes {classes}: must be 2..100");
        if (size < 8 || size > 512) throw new UsageException($"synthetic image size {size}: must be 8..512");
        if ((long)perClass * classes * size * size > MaxElements)
            throw new UsageException($"synthetic:{perClass}:{classes}:{size}: {(long)perClass * classes * size * size} pixels per split exceed {MaxElements}");
        var names = Enumerable.Range(0, classes).Select(k => $"pattern{k}").ToArray();
        var train = Generate(perClass, classes, size, seed, "synthetic/train", names);
        var test = Generate(perClass, classes, size, seed + 1_000_003, "synthetic/test", names);
        string desc = $"synthetic patterns (seed {seed}): {train.Count} train / {test.Count} test, {size}x{size} grey, {classes} classes";
        return new DatasetSplits("synthetic", spec ?? $"synthetic:{perClass}:{classes}:{size}:{seed}", desc, train, test);
    }

    /// <summary>Generates one split of <paramref name="perClass"/> x <paramref name="classes"/> images.</summary>
    public static ImageDataset Generate(int perClass, int classes, int size, long seed, string name, IReadOnlyList<string>? classNames = null)
    {
        long n = (long)perClass * classes;
        using var scope = torch.NewDisposeScope();
        using var gen = new torch.Generator(unchecked((ulong)seed));
        var label = torch.arange(n, ScalarType.Int64).remainder(classes);
        var k = label.to_type(ScalarType.Float32).reshape(n, 1, 1, 1);
        var grid = torch.arange(size, ScalarType.Float32).add_(0.5f).div_(size);
        var u = grid.reshape(1, 1, 1, size);
        var v = grid.reshape(1, 1, size, 1);
        var phase = torch.rand(new long[] { n, 1, 1, 1 }, generator: gen).mul_(2 * MathF.PI);
        var jitter = torch.rand(new long[] { n, 2, 1, 1 }, generator: gen).mul_(0.08f).sub_(0.04f);
        var amp = torch.rand(new long[] { n, 1, 1, 1 }, generator: gen).mul_(0.2f).add_(0.8f);
        var noise = torch.randn(new long[] { n, 1, size, size }, generator: gen).mul_(0.08f);

        var alpha = k * (2 * MathF.PI / classes);
        var cx = alpha.cos().mul_(0.22f).add_(0.4f) + jitter.narrow(1, 0, 1);
        var cy = alpha.sin().mul_(0.22f).add_(0.4f) + jitter.narrow(1, 1, 1);
        var d2 = (u - cx).square() + (v - cy).square();
        var blob = d2.div(-2 * 0.09f * 0.09f).exp_();
        var theta = k * (MathF.PI / classes);
        var proj = u * theta.cos() + v * theta.sin();
        var stripes = (proj * (6 * MathF.PI) + phase).cos_().mul_(0.5f).add_(0.5f);
        var img = (blob * 0.7f + stripes * 0.3f).mul_(amp).add_(noise).clamp_(0f, 1f);
        var corner = (u > 0.75f).logical_and(v > 0.75f);
        img = img.masked_fill(corner, 0f);
        var y = torch.nn.functional.one_hot(label, classes).to_type(ScalarType.Float32);
        img.MoveToOuterDisposeScope();
        y.MoveToOuterDisposeScope();
        return new ImageDataset(name, img, y, classNames);
    }
}
