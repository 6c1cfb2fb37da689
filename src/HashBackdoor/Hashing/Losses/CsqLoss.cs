using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Losses;

/// <summary>
/// CSQ, central similarity quantization (Yuan et al., CVPR 2020). Each class has a hash center c in {-1,+1}^K: rows of a
/// Sylvester Hadamard matrix H_K and of -H_K when K is a power of two and 2K &gt;= C, otherwise seeded random centers
/// (each bit +-1 with probability 1/2), as the reference implementation does. A multi-label image's center is the sign of
/// the sum of its labels' centers (ties +1). Loss = BCE((u+1)/2, (c+1)/2) averaged over bits and images
/// + lambda * mean((|u| - 1)^2), u = tanh(z), lambda = 1e-4.
/// </summary>
public sealed class CsqLoss : IHashLoss
{
    private readonly Tensor centers; // [C, K] in {-1,+1}

    public CsqLoss(int numClasses, int bits, double lambda = 1e-4, long seed = 0)
    {
        Lambda = lambda;
        centers = HashCenters(numClasses, bits, seed);
    }

    public double Lambda { get; }
    public string Name => "csq";

    /// <summary>The class hash centers [C, K] (copy).</summary>
    public Tensor Centers => centers.clone();

    /// <summary>Hash centers for <paramref name="numClasses"/> classes of <paramref name="bits"/> bits.</summary>
    public static Tensor HashCenters(int numClasses, int bits, long seed)
    {
        bool pow2 = (bits & (bits - 1)) == 0;
        if (pow2 && 2 * bits >= numClasses)
        {
            using var h = Hadamard(bits);
            using var both = cat(new[] { h, h.neg() }, 0);
            return both.narrow(0, 0, numClasses).clone();
        }
        var g = new Generator().manual_seed(seed);
        using var r = rand(new long[] { numClasses, bits }, generator: g);
        return r.gt(0.5).to_type(ScalarType.Float32).mul(2).sub(1);
    }

    /// <summary>Sylvester Hadamard matrix of order n (a power of two), entries +-1.</summary>
    public static Tensor Hadamard(int n)
    {
        var h = ones(1, 1);
        while (h.shape[0] < n)
        {
            var top = cat(new[] { h, h }, 1);
            var bottom = cat(new[] { h, h.neg() }, 1);
            var next = cat(new[] { top, bottom }, 0);
            top.Dispose(); bottom.Dispose(); h.Dispose();
            h = next;
        }
        return h;
    }

    public Tensor Compute(Tensor z, Tensor labels, long step)
    {
        using var scope = NewDisposeScope();
        var u = z.tanh();
        var summed = labels.matmul(centers.to(labels.device));
        var c = summed.ge(0).to_type(u.dtype).mul(2).sub(1);
        var target = c.add(1).mul(0.5);
        var prob = u.add(1).mul(0.5).clamp(1e-7, 1 - 1e-7);
        var bce = nn.functional.binary_cross_entropy(prob, target);
        var quant = u.abs().sub(1).pow(2).mean();
        return bce.add(quant.mul(Lambda)).MoveToOuterDisposeScope();
    }
}
