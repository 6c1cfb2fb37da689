using HashBackdoor.Hashing.Losses;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

/// <summary>
/// The losses at their edges (found by mutation testing, docs/testing.md): saturated outputs against CSQ's probability
/// clamp, batches without similar pairs, images without labels, the Hadamard/random boundary of the CSQ centres, and
/// the settings each loss reports.
/// </summary>
public class LossEdgeTests
{
    private static double Value(IHashLoss loss, float[] z, int b, float[] y, int c, long step = 0)
    {
        using var zt = tensor(z, new long[] { b, z.Length / b });
        using var yt = tensor(y, new long[] { b, c });
        using var l = loss.Compute(zt, yt, step);
        return l.item<float>();
    }

    [Fact]
    public void CsqClampsSaturatedOutputsAwayFromZeroAndOne()
    {
        // K = 4, class 1's centre is H4 row 1 = [1, -1, 1, -1] (targets 1, 0, 1, 0). tanh(+-30) = +-1 exactly, so the
        // probabilities (u + 1) / 2 are 1, 1, 0, 0, clamped to 1 - 1e-7 and 1e-7 (float32): the BCE terms are
        // -log(p_hi) ~ 0, -log(1 - p_hi), -log(p_lo), -log(1 - p_lo) ~ 0; the quantization term is 0.
        double pHi = (float)(1 - 1e-7), pLo = (float)1e-7;
        double expected = (-Math.Log(pHi) - Math.Log((float)(1 - pHi)) - Math.Log(pLo) - Math.Log(1 - pLo)) / 4;
        Assert.Equal(expected, Value(new CsqLoss(2, 4), new float[] { 30, 30, -30, -30 }, 1, new float[] { 0, 1 }, 2), 3);
        Assert.InRange(expected, 7.9, 8.1);
    }

    [Fact]
    public void CsqCentresAreHadamardRowsUpToTwiceTheBitsClassesThenRandom()
    {
        // K = 4, C = 8 = 2K: the rows of H4 then of -H4. C = 9: seeded random signs instead.
        using var h = CsqLoss.HashCenters(8, 4, 0);
        float[] v = HashBackdoor.Tests.Attacks.AttackTestData.Values(h);
        float[] h4 = { 1, 1, 1, 1, 1, -1, 1, -1, 1, 1, -1, -1, 1, -1, -1, 1 };
        Assert.Equal(h4.Concat(h4.Select(x => -x)), v);
        using var r = CsqLoss.HashCenters(9, 4, 0);
        Assert.Equal(new long[] { 9, 4 }, r.shape);
        Assert.All(HashBackdoor.Tests.Attacks.AttackTestData.Values(r), x => Assert.True(x is 1 or -1));
        using var first = r.narrow(0, 0, 8);
        Assert.False(HashBackdoor.Tests.Attacks.AttackTestData.Same(first, h));
        using var one = CsqLoss.Hadamard(1);
        Assert.Equal(new float[] { 1 }, HashBackdoor.Tests.Attacks.AttackTestData.Values(one));
        var loss = new CsqLoss(3, 4, lambda: 0.5);
        Assert.Equal((0.5, "csq"), (loss.Lambda, loss.Name));
        using var c1 = loss.Centers;
        c1.fill_(0);
        using var c2 = loss.Centers;                                     // a copy each time
        Assert.Equal(h4.Take(12), HashBackdoor.Tests.Attacks.AttackTestData.Values(c2));
    }

    [Fact]
    public void ImagesWithoutLabelsShareNothingNotEvenWithThemselves()
    {
        using var labels = tensor(new float[] { 1, 0, 0, 0, 1, 1 }, new long[] { 3, 2 });
        using var s = PairSimilarity.Shared(labels);
        Assert.Equal(new float[] { 1, 0, 1, 0, 0, 0, 1, 0, 1 }, HashBackdoor.Tests.Attacks.AttackTestData.Values(s));
        // HashNet on a batch with no similar pair at all (no labels): every pair weighs the same, the loss is the plain
        // mean of softplus(0.1 u_i.u_j).
        float[] z = { 0.3f, -0.8f, 1.2f, 0.1f, -0.5f, 0.9f };
        var u = z.Select(x => Math.Tanh(x)).ToArray();
        double mean = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
            {
                double t = 0.1 * (u[3 * i] * u[3 * j] + u[3 * i + 1] * u[3 * j + 1] + u[3 * i + 2] * u[3 * j + 2]);
                mean += Math.Log(1 + Math.Exp(t));
            }
        Assert.Equal(mean / 4, Value(new HashNetLoss(), z, 2, new float[] { 0, 0, 0, 0 }, 2), 5);
    }

    [Fact]
    public void EachLossReportsItsSettingsAndAZeroQuantizationAddsNothing()
    {
        Assert.Equal((0.1, 0.005, "hashnet"), (new HashNetLoss().Alpha, new HashNetLoss().ContinuationRate, new HashNetLoss().Name));
        Assert.Equal((0.2, 0.01), (new HashNetLoss(0.2, 0.01).Alpha, new HashNetLoss(0.2, 0.01).ContinuationRate));
        Assert.Equal((0.1, "dpsh"), (new DpshLoss().Eta, new DpshLoss().Name));
        Assert.Equal(0.3, new DpshLoss(0.3).Eta);
        var p = new PairwiseLoss();
        Assert.Equal((PairwiseDivisor.BatchSize, 0.0, "pairwise"), (p.Divisor, p.Quantization, p.Name));
        float[] z = { 0.3f, -0.8f, 1.2f, 0.1f };
        float[] y = { 1, 0, 0, 1 };
        Assert.Equal(Value(new PairwiseLoss(PairwiseDivisor.Bits), z, 2, y, 2), Value(new PairwiseLoss(PairwiseDivisor.Bits, 0.0), z, 2, y, 2));
        // DPSH's eta weighs its quantization term: the difference of two etas is (eta1 - eta2) mean (u - sign u)^2.
        double q = z.Select(x => Math.Tanh(x)).Select(t => Math.Pow(t - Math.Sign(t), 2)).Average();
        Assert.Equal(0.4 * q, Value(new DpshLoss(0.5), z, 2, y, 2) - Value(new DpshLoss(0.1), z, 2, y, 2), 5);
        Assert.Equal("training.loss x: unknown loss (known: pairwise, pairwise-k, dpsh, hashnet, csq)",
            Assert.Throws<UsageException>(() => HashLossFactory.Create("x", 3, 8, 0)).Message);
    }
}
