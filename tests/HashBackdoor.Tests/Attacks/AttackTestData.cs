using HashBackdoor.Data;
using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

/// <summary>All Attacks tests share one sequential collection: native-heavy tests on 2 cores.</summary>
[CollectionDefinition("Attacks", DisableParallelization = true)]
public sealed class AttacksCollection { }

/// <summary>Tiny models and data sets for the Attacks tests, deterministic without touching torch's global seed.</summary>
internal static class AttackTestData
{
    public const int Bits = 16;
    public const int Side = 12;
    public const int Classes = 3;

    /// <summary>An untrained small CNN (1x12x12 input, 16 bits) whose weights come from a generator seeded by
    /// <paramref name="seed"/>, biases zero so that the codes depend on the input (BatchNorm keeps its default ones/zeros
    /// and running statistics). Eval mode.</summary>
    public static HashModel TinyModel(long seed = 1)
    {
        var model = new HashModel(new HashModelSpec("small-cnn-wide", Bits, 1, Side, Side, Classes));
        var gen = new Generator().manual_seed(seed);
        using (no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.Contains("bn")) continue;
                if (name.EndsWith("bias")) { p.zero_(); continue; }
                double bound = p.dim() >= 2 ? Math.Sqrt(3.0 / (p.numel() / p.shape[0])) : 0.1;
                using var v = rand(p.shape, generator: gen).mul(2 * bound).sub(bound);
                p.copy_(v);
            }
        }
        model.eval();
        return model;
    }

    /// <summary>Random images [n, 1, 12, 12] in 0..1 from a seeded generator; some pixels exactly 0 and 1.</summary>
    public static Tensor Images(int n, long seed = 7)
    {
        var gen = new Generator().manual_seed(seed);
        return rand(new long[] { n, 1, Side, Side }, generator: gen).mul(1.2).sub(0.1).clamp(0, 1);
    }

    /// <summary>
    /// A dataset of <paramref name="perClass"/> single-label images per class (3 classes, labels cycling 0,1,2,...) plus
    /// one multi-label image labelled {0, 1} at the end.
    /// </summary>
    public static ImageDataset Dataset(int perClass = 8, long seed = 7)
    {
        int n = perClass * Classes + 1;
        var labels = new float[n * Classes];
        for (int i = 0; i < n - 1; i++) labels[i * Classes + i % Classes] = 1;
        labels[(n - 1) * Classes + 0] = 1;
        labels[(n - 1) * Classes + 1] = 1;
        return new ImageDataset("tiny", Images(n, seed), tensor(labels, new long[] { n, Classes }), new[] { "a", "b", "c" });
    }

    /// <summary>Same shape and exactly the same values.</summary>
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && Values(a).SequenceEqual(Values(b));

    public static float[] Values(Tensor t)
    {
        using var c = t.detach().cpu().contiguous().to_type(ScalarType.Float32);
        return c.data<float>().ToArray();
    }

    /// <summary>Mean Hamming distance over all pairs of rows of sign codes [n, K].</summary>
    public static double MeanPairwiseHamming(Tensor codes)
    {
        using var scope = NewDisposeScope();
        long n = codes.shape[0], k = codes.shape[1];
        var inner = codes.matmul(codes.t());                 // K - 2 d for +-1 codes
        var d = inner.neg().add(k).div(2);
        return d.sum().item<float>() / (n * (n - 1));
    }

    public static Tensor Codes(HashModel model, Tensor images) => HashEncoder.Encode(model, images);
}
