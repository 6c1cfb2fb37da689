using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Losses;

/// <summary>A deep hashing training loss over one batch.</summary>
public interface IHashLoss
{
    /// <summary>Short name used in configs and reports ("pairwise", "dpsh", "hashnet", "csq").</summary>
    string Name { get; }

    /// <summary>Loss of a batch. <paramref name="z"/>: hash layer pre-activations [B, K]; <paramref name="labels"/>:
    /// multi-hot [B, C] float; <paramref name="step"/>: global optimisation step (for continuation schedules).</summary>
    Tensor Compute(Tensor z, Tensor labels, long step);
}

/// <summary>Similarity helpers shared by the pairwise losses.</summary>
public static class PairSimilarity
{
    /// <summary>s_ij = 1 when images i and j share at least one label, else 0 ([B, B], float).</summary>
    public static Tensor Shared(Tensor labels)
    {
        using var inner = labels.matmul(labels.t());
        return inner.gt(0).to_type(labels.dtype);
    }
}
