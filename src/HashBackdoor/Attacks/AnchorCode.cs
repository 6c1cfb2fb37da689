using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// The anchor code of the target label (method.md section 3): a component-wise majority vote of the surrogate's codes of
/// the training images labelled with the target class alone,
/// <c>h_a = sign( sum_{i : y_i = e_t} b_i )</c>. A component whose votes tie is 0.
/// </summary>
public static class AnchorCode
{
    /// <summary>
    /// Computes h_a as float [K] in {-1, 0, +1}.
    /// </summary>
    /// <param name="codes">Surrogate codes of the training images, float [N, K] in {-1, 0, +1} (as
    /// <see cref="Hashing.HashEncoder.Encode"/> returns them).</param>
    /// <param name="labels">Multi-hot labels float [N, C] of the same images.</param>
    /// <param name="target">Target class; only rows equal to its one-hot vote (multi-label rows that contain it do not).</param>
    /// <exception cref="UsageException">Unknown target, or no training image labelled with the target class alone.</exception>
    public static Tensor Compute(Tensor codes, Tensor labels, int target)
    {
        if (codes.dim() != 2) throw new ArgumentException($"codes must be [N,K], got [{string.Join(",", codes.shape)}]");
        if (labels.dim() != 2 || labels.shape[0] != codes.shape[0])
            throw new ArgumentException($"labels must be [N,C] with N={codes.shape[0]}, got [{string.Join(",", labels.shape)}]");
        AttackValidation.TargetClass(target, (int)labels.shape[1]);
        using var scope = NewDisposeScope();
        var rows = TargetRows.Mask(labels, target).to(codes.device);
        long voters = rows.sum().item<long>();
        if (voters == 0)
            throw new UsageException($"targets {target}: no training image is labelled with class {target} alone; the anchor code needs at least one");
        // Masked sum over rows: [N,K] * [N,1] summed over N, then sign (sign(0) = 0 gives the ties).
        var votes = codes.to_type(ScalarType.Float32).mul(rows.unsqueeze(1).to_type(ScalarType.Float32)).sum(new long[] { 0 });
        return votes.sign().MoveToOuterDisposeScope();
    }

    /// <summary>Plain reference version used by tests: loops over rows and components of managed arrays.</summary>
    /// <param name="codes">Codes, row-major [n, k].</param>
    /// <param name="n">Number of images.</param>
    /// <param name="k">Code length.</param>
    /// <param name="labels">Multi-hot labels, row-major [n, c].</param>
    /// <param name="c">Number of classes.</param>
    /// <param name="target">Target class.</param>
    internal static float[] ComputeReference(float[] codes, int n, int k, float[] labels, int c, int target)
    {
        var sum = new double[k];
        for (int i = 0; i < n; i++)
        {
            bool exact = true;
            for (int j = 0; j < c; j++)
                if (labels[i * c + j] != (j == target ? 1f : 0f)) { exact = false; break; }
            if (!exact) continue;
            for (int b = 0; b < k; b++) sum[b] += codes[i * k + b];
        }
        var h = new float[k];
        for (int b = 0; b < k; b++) h[b] = sum[b] > 0 ? 1f : sum[b] < 0 ? -1f : 0f;
        return h;
    }
}
