using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// How visible a change to images is: L-inf (largest pixel change), mean per-image L2 norm, mean PSNR and mean SSIM of
/// changed images against their originals, all on the 0..1 pixel scale. PSNR per image is 10 log10(1 / MSE) dB (an
/// unchanged image has infinite PSNR and is left out of the mean; <see cref="Identical"/> counts them; with none changed
/// the mean is null). SSIM is the
/// standard one of Wang et al. (2004): 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, dynamic range 1, computed
/// per channel on the valid region (no padding) and averaged over positions, channels and images.
/// </summary>
public sealed record Perceptibility
{
    /// <summary>Images compared.</summary>
    public int Images { get; init; }
    /// <summary>Largest absolute pixel change over all images (0..1 scale).</summary>
    public double LInf { get; init; }
    /// <summary>Mean over images of the L2 norm of the change (0..1 scale, all channels).</summary>
    public double MeanL2 { get; init; }
    /// <summary>Mean PSNR in dB over images that changed; null when none changed (infinite PSNR).</summary>
    public double? MeanPsnr { get; init; }
    /// <summary>Mean SSIM over images (1 = identical).</summary>
    public double MeanSsim { get; init; }
    /// <summary>Images left unchanged (excluded from the PSNR mean).</summary>
    public int Identical { get; init; }

    /// <summary>Compares <paramref name="changed"/> with <paramref name="original"/>, both float [N, C, H, W] in 0..1.</summary>
    public static Perceptibility Measure(Tensor changed, Tensor original)
    {
        if (changed.dim() != 4 || !changed.shape.SequenceEqual(original.shape))
            throw new ArgumentException($"images must be two [N,C,H,W] tensors of one shape, got [{string.Join(",", changed.shape)}] and [{string.Join(",", original.shape)}]");
        int n = (int)changed.shape[0];
        if (n == 0) return new Perceptibility { MeanPsnr = null, MeanSsim = 1 };
        using var scope = NewDisposeScope();
        var a = changed.to_type(ScalarType.Float64);
        var b = original.to_type(ScalarType.Float64).to(a.device);
        var diff = a - b;
        var flat = diff.reshape(n, -1);
        double linf = flat.abs().max().item<double>();
        double meanL2 = flat.pow(2).sum(1).sqrt().mean().item<double>();
        var mse = flat.pow(2).mean(new long[] { 1 });
        var changedRows = mse.gt(0);
        int identical = n - (int)changedRows.sum().item<long>();
        double? psnr = identical == n ? null
            : mse.masked_select(changedRows).reciprocal().log10().mul(10).mean().item<double>();
        return new Perceptibility
        {
            Images = n, LInf = linf, MeanL2 = meanL2, MeanPsnr = psnr, MeanSsim = Ssim(a, b), Identical = identical,
        };
    }

    /// <summary>Mean SSIM of two float [N, C, H, W] batches on the 0..1 scale (see the type's remarks). Images smaller
    /// than the window use a window of their smaller side (odd).</summary>
    public static double Ssim(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var a = x.to_type(ScalarType.Float64);
        var b = y.to_type(ScalarType.Float64).to(a.device);
        long c = a.shape[1];
        int size = (int)Math.Min(11, Math.Min(a.shape[2], a.shape[3]));
        if (size % 2 == 0) size--;
        var window = GaussianWindow(size, 1.5).to(a.device).expand(c, 1, size, size).contiguous();
        Tensor Blur(Tensor t) => nn.functional.conv2d(t, window, groups: c);
        const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
        var muA = Blur(a);
        var muB = Blur(b);
        var varA = Blur(a * a) - muA * muA;
        var varB = Blur(b * b) - muB * muB;
        var cov = Blur(a * b) - muA * muB;
        var map = (2 * muA * muB + c1) * (2 * cov + c2) / ((muA * muA + muB * muB + c1) * (varA + varB + c2));
        return map.mean().item<double>();
    }

    /// <summary>A normalised 2-D Gaussian window [1, 1, size, size] (float64).</summary>
    internal static Tensor GaussianWindow(int size, double sigma)
    {
        var r = arange(size, dtype: ScalarType.Float64) - (size - 1) / 2.0;
        var g = (-(r * r) / (2 * sigma * sigma)).exp();
        g = g / g.sum();
        return g.outer(g).reshape(1, 1, size, size);
    }
}
