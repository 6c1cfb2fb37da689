using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// The training rows of a target class in the clean-label sense: rows whose multi-hot label is the target's one-hot
/// vector exactly (the target class alone; multi-label rows that contain it do not count). They vote for the anchor code
/// and are the candidates for poisoning. The target is not checked here: it is validated once where it enters
/// (<see cref="AttackValidation.TargetClass"/>, called by the config, the attack contexts and <see cref="AnchorCode"/>).
/// </summary>
public static class TargetRows
{
    /// <summary>Bool [N]: true where <paramref name="labels"/> [N, C] equals the one-hot of <paramref name="target"/>.</summary>
    public static Tensor Mask(Tensor labels, int target)
    {
        using var scope = NewDisposeScope();
        var onehot = zeros(labels.shape[1], dtype: labels.dtype, device: labels.device);
        onehot[target] = tensor(1f, dtype: labels.dtype, device: labels.device);
        return labels.eq(onehot.unsqueeze(0)).all(1).MoveToOuterDisposeScope();
    }

    /// <summary>Indices (ascending) of the rows of <paramref name="set"/> labelled with <paramref name="target"/> alone.</summary>
    public static long[] Indices(ImageDataset set, int target)
    {
        using var scope = NewDisposeScope();
        var idx = Mask(set.Labels, target).nonzero().view(-1).to_type(ScalarType.Int64).cpu();
        return idx.data<long>().ToArray();
    }

    /// <summary>Indices (ascending) of the rows of <paramref name="set"/> that share no label with <paramref name="target"/>:
    /// the queries a backdoor is scored on (trigger pasted, relevant = the target class).</summary>
    public static long[] WithoutTarget(ImageDataset set, int target)
    {
        using var keep = set.Labels.select(1, target).eq(0).nonzero().squeeze(1);
        return keep.data<long>().ToArray();
    }
}
