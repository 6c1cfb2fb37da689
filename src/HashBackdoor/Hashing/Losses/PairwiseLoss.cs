using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Losses;

/// <summary>How the reference pairwise loss scales the inner products U U^T.</summary>
public enum PairwiseDivisor
{
    /// <summary>Divide by the batch size B, as the reference code does (method.md section 2). With B &gt; K the products
    /// can never reach +-1.</summary>
    BatchSize,

    /// <summary>Divide by the code length K, so that U U^T / K lies in [-1, 1] like its targets.</summary>
    Bits,
}

/// <summary>
/// The reference pairwise regression loss (method.md section 2): U = tanh(z), S = 2 s - 1 with s_ij = 1 when i and j
/// share a label, Z = U U^T / d, loss = sum_ij (Z_ij - S_ij)^2 / B^2 (diagonal included), plus an optional quantization
/// term lambda * sum_i ||sign(u_i) - u_i||^2 / B (the reference leaves the normaliser open; this is the per-image mean).
/// </summary>
public sealed class PairwiseLoss : IHashLoss
{
    public PairwiseLoss(PairwiseDivisor divisor = PairwiseDivisor.BatchSize, double quantization = 0.0)
    {
        Divisor = divisor;
        Quantization = quantization;
    }

    public PairwiseDivisor Divisor { get; }
    public double Quantization { get; }
    public string Name => "pairwise";

    public Tensor Compute(Tensor z, Tensor labels, long step)
    {
        using var scope = NewDisposeScope();
        long b = z.shape[0], k = z.shape[1];
        var u = z.tanh();
        var s = PairSimilarity.Shared(labels).mul(2).sub(1);
        double d = Divisor == PairwiseDivisor.BatchSize ? b : k;
        var prod = u.matmul(u.t()).div(d);
        var loss = prod.sub(s).pow(2).sum().div((double)b * b);
        if (Quantization > 0)
            loss = loss.add(u.sign().sub(u).pow(2).sum().div((double)b).mul(Quantization));
        return loss.MoveToOuterDisposeScope();
    }
}
