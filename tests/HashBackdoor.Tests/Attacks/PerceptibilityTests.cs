using HashBackdoor.Attacks;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

/// <summary>Perceptibility figures on hand-worked pairs.</summary>
public class PerceptibilityTests
{
    [Fact]
    public void HandWorkedPair()
    {
        // Image 0: 0 -> 0.1 everywhere on 2x2: MSE 0.01, PSNR 10 log10(1/0.01) = 20 dB, L2 sqrt(4 * 0.01) = 0.2.
        // Image 1 unchanged: L2 0, excluded from the PSNR mean.
        using var original = zeros(2, 1, 2, 2);
        using var changed = original.clone();
        changed[0].fill_(0.1);
        var p = Perceptibility.Measure(changed, original);
        Assert.Equal(2, p.Images);
        Assert.Equal(1, p.Identical);
        Assert.Equal(0.1, p.LInf, 6);
        Assert.Equal(0.1, p.MeanL2, 6);   // (0.2 + 0) / 2
        Assert.Equal(20.0, p.MeanPsnr!.Value, 4);
        Assert.Null(Perceptibility.Measure(original, original).MeanPsnr);
    }

    [Fact]
    public void SsimOfConstantImagesFollowsTheFormula()
    {
        // Constant images a and b: variances and covariance vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1);
        // a = 0.5, b = 0.25: 0.2501 / 0.3126 = 0.800064.
        using var a = full(1, 1, 11, 11, 0.5f);
        using var b = full(1, 1, 11, 11, 0.25f);
        Assert.Equal(0.2501 / 0.3126, Perceptibility.Ssim(a, b), 5);
    }

    [Fact]
    public void SsimIsOneForIdenticalSymmetricAndBelowOneForNoise()
    {
        var g = new Generator().manual_seed(3);
        using var x = rand(new long[] { 3, 1, 28, 28 }, generator: g);
        using var noise = rand(new long[] { 3, 1, 28, 28 }, generator: g).sub(0.5).mul(0.2);
        using var y = (x + noise).clamp(0, 1);
        Assert.Equal(1.0, Perceptibility.Ssim(x, x), 9);
        Assert.Equal(Perceptibility.Ssim(x, y), Perceptibility.Ssim(y, x), 9);
        Assert.True(Perceptibility.Ssim(x, y) < 0.99);
        var p = Perceptibility.Measure(y, x);
        Assert.Equal(0, p.Identical);
        Assert.True(p.LInf <= 0.1 + 1e-6);
        Assert.True(p.MeanPsnr > 20 && double.IsFinite(p.MeanPsnr!.Value));
    }

    [Fact]
    public void ShapeMismatchIsRejected()
    {
        using var a = zeros(1, 1, 4, 4);
        using var b = zeros(1, 1, 4, 5);
        Assert.Throws<ArgumentException>(() => Perceptibility.Measure(a, b));
    }
}
