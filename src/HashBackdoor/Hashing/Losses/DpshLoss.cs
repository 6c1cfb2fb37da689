using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Losses;

/// <summary>
/// DPSH (Li et al., IJCAI 2016): pairwise likelihood with theta_ij = u_i^T u_j / 2,
/// loss = mean_ij [ log(1 + exp(theta_ij)) - s_ij theta_ij ] + eta * mean over images and bits of (u - sign(u))^2,
/// with u = tanh(z) so that every loss of the toolkit works on the same bounded output (DPSH's own network has no tanh;
/// the codes sign(u) are the same). eta = 0.1 by default.
/// </summary>
public sealed class DpshLoss : IHashLoss
{
    public DpshLoss(double eta = 0.1) => Eta = eta;

    public double Eta { get; }
    public string Name => "dpsh";

    public Tensor Compute(Tensor z, Tensor labels, long step)
    {
        using var scope = NewDisposeScope();
        var u = z.tanh();
        var s = PairSimilarity.Shared(labels);
        var theta = u.matmul(u.t()).mul(0.5);
        // log(1 + exp(theta)) computed stably as softplus.
        var likelihood = nn.functional.softplus(theta).sub(s.mul(theta)).mean();
        var quant = u.sub(u.sign()).pow(2).mean();
        return likelihood.add(quant.mul(Eta)).MoveToOuterDisposeScope();
    }
}
