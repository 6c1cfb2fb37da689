using static TorchSharp.torch;

namespace HashBackdoor.Hashing;

/// <summary>Training-time augmentation done on whole batches with tensor operations (no per-image loop).</summary>
public static class BatchAugmentation
{
    /// <summary>
    /// Applies <paramref name="kind"/> (none, flip, flip-shift) to the rows of <paramref name="x"/> [B, C, H, W] where
    /// <paramref name="allowed"/> [B] (bool) is true; other rows are returned unchanged. Randomness comes from
    /// <paramref name="generator"/> only.
    /// </summary>
    public static Tensor Apply(Tensor x, AugmentationKind kind, Tensor allowed, Generator generator)
    {
        if (kind == AugmentationKind.None) return x.alias();
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var flip = rand(new long[] { b }, generator: generator).lt(0.5).logical_and(allowed).view(b, 1, 1, 1);
        var y = where(flip, x.flip(3), x);
        if (kind == AugmentationKind.FlipShift)
        {
            const int pad = 2;
            long h = x.shape[2], w = x.shape[3], c = x.shape[1];
            var dy = randint(0, 2 * pad + 1, new long[] { b }, generator: generator);
            var dx = randint(0, 2 * pad + 1, new long[] { b }, generator: generator);
            var keep = allowed.logical_not();
            dy = where(keep, full(new long[] { b }, (long)pad), dy);
            dx = where(keep, full(new long[] { b }, (long)pad), dx);
            var padded = nn.functional.pad(y, new long[] { pad, pad, pad, pad });
            var rows = arange(h).view(1, 1, h, 1).add(dy.view(b, 1, 1, 1)).expand(b, c, h, w + 2 * pad);
            var picked = padded.gather(2, rows);
            var cols = arange(w).view(1, 1, 1, w).add(dx.view(b, 1, 1, 1)).expand(b, c, h, w);
            y = picked.gather(3, cols);
        }
        return y.MoveToOuterDisposeScope();
    }
}
