using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Losses;

/// <summary>
/// HashNet (Cao et al., ICCV 2017): weighted pairwise likelihood on u = tanh(beta z) with continuation
/// beta = sqrt(1 + 0.005 * step). theta_ij = alpha u_i^T u_j (alpha = 0.1); per pair
/// l_ij = log(1 + exp(theta_ij)) - s_ij theta_ij; pairs are weighted to balance similar and dissimilar ones: a similar pair
/// weighs P / P_sim, a dissimilar pair P / P_dis (P = number of pairs), and the loss is sum(w l) / sum(w).
/// </summary>
public sealed class HashNetLoss : IHashLoss
{
    public HashNetLoss(double alpha = 0.1, double continuationRate = 0.005)
    {
        Alpha = alpha;
        ContinuationRate = continuationRate;
    }

    public double Alpha { get; }
    public double ContinuationRate { get; }
    public string Name => "hashnet";

    /// <summary>The tanh temperature at a step.</summary>
    public double Beta(long step) => Math.Sqrt(1.0 + ContinuationRate * step);

    public Tensor Compute(Tensor z, Tensor labels, long step)
    {
        using var scope = NewDisposeScope();
        var u = z.mul(Beta(step)).tanh();
        var s = PairSimilarity.Shared(labels);
        var theta = u.matmul(u.t()).mul(Alpha);
        var l = nn.functional.softplus(theta).sub(s.mul(theta));
        double pairs = s.numel();
        var nSim = s.sum().clamp_min(1);
        var nDis = s.neg().add(1).sum().clamp_min(1);
        var w = s.mul(nSim.reciprocal().mul(pairs)).add(s.neg().add(1).mul(nDis.reciprocal().mul(pairs)));
        return w.mul(l).sum().div(w.sum()).MoveToOuterDisposeScope();
    }
}
