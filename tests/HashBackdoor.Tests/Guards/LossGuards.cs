using HashBackdoor.Hashing.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// The hashing losses checked beyond one hand value each: CSQ on a second hand-worked batch (multi-label centres with
/// ties, the -H rows, a visible quantization weight), CSQ's pull toward the class centre (a property of the gradient),
/// its centres against the closed form of the Sylvester matrix, and every loss against a plain managed computation of its
/// formula on random batches.
/// </summary>
public class LossGuards
{
    private static Tensor Z(float[] u, int b, int k) => tensor(u, new long[] { b, k }).atanh();

    private static Tensor Labels(int b, int c, params int[][] sets)
    {
        var y = new float[b * c];
        for (int i = 0; i < b; i++) foreach (int l in sets[i]) y[i * c + l] = 1;
        return tensor(y, new long[] { b, c });
    }

    private static double Value(IHashLoss loss, Tensor z, Tensor y, long step = 0)
    {
        using var l = loss.Compute(z, y, step);
        return l.item<float>();
    }

    [Fact]
    public void CsqSecondHandCaseWithMultiLabelCentresTiesAndTheNegatedHadamardRows()
    {
        // K = 4, C = 6 <= 2K: centres are rows 0-3 of H4 then rows 0-1 of -H4:
        // c0 = [1,1,1,1], c1 = [1,-1,1,-1], c2 = [1,1,-1,-1], c3 = [1,-1,-1,1], c4 = [-1,-1,-1,-1], c5 = [-1,1,-1,1].
        // Image 1 is {2, 3}: c2 + c3 = [2,0,-2,0] -> centre [1,1,-1,1] (ties +1); u1 = [.5,-.5,-.5,0].
        // Image 2 is {1, 5}: c1 + c5 = [0,0,0,0] -> centre [1,1,1,1] (all ties); u2 = [.5,.5,-.5,.5].
        // p = (u + 1) / 2; BCE terms: image 1: -log .75, -log .25, -log(1 - .25), -log .5;
        //                             image 2: -log .75, -log .75, -log .25, -log .75.
        // Quantization (|u| - 1)^2: image 1: .25, .25, .25, 1; image 2: .25 x 4; mean 2.75 / 8.
        using var z = Z(new[] { .5f, -.5f, -.5f, 0f, .5f, .5f, -.5f, .5f }, 2, 4);
        using var y = Labels(2, 6, new[] { 2, 3 }, new[] { 1, 5 });
        double bce = (5 * -Math.Log(.75) + 2 * -Math.Log(.25) + -Math.Log(.5)) / 8;
        double expected = bce + 0.5 * 2.75 / 8;
        Assert.Equal(expected, Value(new CsqLoss(6, 4, lambda: 0.5), z, y), 5);
    }

    [Fact]
    public void CsqPullsEachCodeTowardItsClassCentre()
    {
        var loss = new CsqLoss(3, 8, lambda: 1e-4);
        using var centres = loss.Centers;
        using var y = Labels(3, 3, new[] { 0 }, new[] { 1 }, new[] { 2 });
        using var toward = centres.mul(2);                 // z pointing at the centre
        using var away = centres.mul(-2);
        using var zero = zeros(3, 8);
        double at = Value(loss, toward, y), mid = Value(loss, zero, y), off = Value(loss, away, y);
        Assert.True(at < mid && mid < off, $"toward {at}, zero {mid}, away {off}");
        // The gradient at z = 0 points away from the centre on every bit: a descent step moves toward it.
        using var z = zeros(3, 8).requires_grad_(true);
        using var l = loss.Compute(z, y, 0);
        var grad = torch.autograd.grad(new[] { l }, new[] { z })[0];
        using var agree = grad.sign().mul(centres).eq(-1);
        Assert.True(agree.all().item<bool>(), "a bit's gradient does not point away from its centre");
    }

    [Theory]
    [InlineData(8, 12)]   // 2K >= C: H8 rows then -H8 rows 0-3
    [InlineData(16, 5)]
    public void HadamardCentresMatchTheClosedFormOfTheSylvesterMatrix(int bits, int classes)
    {
        // Sylvester: H[i, j] = (-1)^popcount(i AND j).
        using var centres = CsqLoss.HashCenters(classes, bits, seed: 0);
        float[] got = AttackTestsValues(centres);
        for (int c = 0; c < classes; c++)
        for (int j = 0; j < bits; j++)
        {
            int i = c % bits;
            float h = System.Numerics.BitOperations.PopCount((uint)(i & j)) % 2 == 0 ? 1f : -1f;
            Assert.Equal(c < bits ? h : -h, got[c * bits + j]);
        }
    }

    [Theory]
    [InlineData(6, 4)]    // K not a power of two
    [InlineData(4, 10)]   // C > 2K
    public void RandomCentresAreSeededSignVectors(int bits, int classes)
    {
        using var a = CsqLoss.HashCenters(classes, bits, seed: 3);
        using var b = CsqLoss.HashCenters(classes, bits, seed: 3);
        using var c = CsqLoss.HashCenters(classes, bits, seed: 4);
        Assert.Equal(new long[] { classes, bits }, a.shape);
        Assert.All(AttackTestsValues(a), v => Assert.True(v is 1f or -1f));
        Assert.Equal(AttackTestsValues(a), AttackTestsValues(b));
        Assert.NotEqual(AttackTestsValues(a), AttackTestsValues(c));
    }

    /// <summary>Random batch: z [b, k] in about -2..2, multi-hot labels [b, c] with one to three labels per row.</summary>
    private static (float[] Z, float[] Y) RandomBatch(int b, int k, int c, int seed)
    {
        var rng = new Random(seed);
        var z = new float[b * k];
        for (int i = 0; i < z.Length; i++) z[i] = (float)(rng.NextDouble() * 4 - 2);
        var y = new float[b * c];
        for (int i = 0; i < b; i++)
        {
            int n = 1 + rng.Next(3);
            for (int m = 0; m < n; m++) y[i * c + rng.Next(c)] = 1;
        }
        return (z, y);
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static double Softplus(double x) => x > 30 ? x : Math.Log(1 + Math.Exp(x));

    private static double[][] Rows(float[] v, int b, int k, Func<double, double> f) =>
        Enumerable.Range(0, b).Select(i => Enumerable.Range(0, k).Select(j => f(v[i * k + j])).ToArray()).ToArray();

    private static bool Share(float[] y, int c, int i, int j) => Enumerable.Range(0, c).Any(l => y[i * c + l] > 0 && y[j * c + l] > 0);

    [Theory]
    [InlineData(7, 6, 4, 1)]
    [InlineData(9, 16, 5, 2)]
    public void EveryLossMatchesAPlainComputationOfItsFormula(int b, int k, int c, int seed)
    {
        var (zv, yv) = RandomBatch(b, k, c, seed);
        using var z = tensor(zv, new long[] { b, k });
        using var y = tensor(yv, new long[] { b, c });
        var u = Rows(zv, b, k, Math.Tanh);

        // Pairwise (divisor B or K) with quantization q: sum_ij (u_i.u_j / d - S_ij)^2 / B^2 + q sum_i |sign(u_i) - u_i|^2 / B.
        foreach (var (divisor, d) in new[] { (PairwiseDivisor.BatchSize, (double)b), (PairwiseDivisor.Bits, (double)k) })
        {
            double sum = 0, quant = 0;
            for (int i = 0; i < b; i++)
            {
                for (int j = 0; j < b; j++)
                {
                    double s = Share(yv, c, i, j) ? 1 : -1;
                    sum += Math.Pow(Dot(u[i], u[j]) / d - s, 2);
                }
                quant += u[i].Sum(x => Math.Pow(Math.Sign(x) - x, 2));
            }
            double expected = sum / (b * b) + 0.3 * quant / b;
            Assert.Equal(expected, Value(new PairwiseLoss(divisor, 0.3), z, y), 4);
        }

        // DPSH: mean_ij [softplus(theta) - s theta], theta = u_i.u_j / 2, + eta mean (u - sign u)^2.
        {
            double like = 0, quant = 0;
            for (int i = 0; i < b; i++)
            for (int j = 0; j < b; j++)
            {
                double theta = Dot(u[i], u[j]) / 2, s = Share(yv, c, i, j) ? 1 : 0;
                like += Softplus(theta) - s * theta;
            }
            for (int i = 0; i < b; i++) quant += u[i].Sum(x => Math.Pow(x - Math.Sign(x), 2));
            double expected = like / (b * b) + 0.1 * quant / (b * k);
            Assert.Equal(expected, Value(new DpshLoss(), z, y), 4);
        }

        // HashNet at step 300: u = tanh(beta z), beta = sqrt(1 + 0.005 * 300); theta = 0.1 u_i.u_j; similar pairs weigh
        // P / P_sim, dissimilar ones P / P_dis; loss = sum w l / sum w.
        {
            double beta = Math.Sqrt(1 + 0.005 * 300);
            var ub = Rows(zv, b, k, x => Math.Tanh(beta * x));
            int pairs = b * b, sim = 0;
            for (int i = 0; i < b; i++) for (int j = 0; j < b; j++) if (Share(yv, c, i, j)) sim++;
            int dis = pairs - sim;
            double num = 0, den = 0;
            for (int i = 0; i < b; i++)
            for (int j = 0; j < b; j++)
            {
                bool s = Share(yv, c, i, j);
                double theta = 0.1 * Dot(ub[i], ub[j]);
                double l = Softplus(theta) - (s ? theta : 0);
                double w = s ? (double)pairs / Math.Max(1, sim) : (double)pairs / Math.Max(1, dis);
                num += w * l;
                den += w;
            }
            Assert.Equal(num / den, Value(new HashNetLoss(), z, y, step: 300), 4);
        }

        // CSQ: per image the centre sign(sum of its labels' centres) (ties +1), BCE((u+1)/2 clamped, (c+1)/2) averaged,
        // + lambda mean (|u| - 1)^2.
        {
            var loss = new CsqLoss(c, k, lambda: 0.25, seed: 9);
            using var centres = loss.Centers;
            float[] cv = AttackTestsValues(centres);
            double bce = 0, quant = 0;
            for (int i = 0; i < b; i++)
            for (int j = 0; j < k; j++)
            {
                double sum = 0;
                for (int l = 0; l < c; l++) sum += yv[i * c + l] * cv[l * k + j];
                double t = sum >= 0 ? 1 : 0;
                double p = Math.Clamp((u[i][j] + 1) / 2, 1e-7, 1 - 1e-7);
                bce += -(t * Math.Log(p) + (1 - t) * Math.Log(1 - p));
                quant += Math.Pow(Math.Abs(u[i][j]) - 1, 2);
            }
            double expected = bce / (b * k) + 0.25 * quant / (b * k);
            Assert.Equal(expected, Value(loss, z, y), 4);
        }
    }

    [Fact]
    public void HashNetWithOnlySimilarPairsIsThePlainMeanOfThePairLosses()
    {
        // Every image has label 0: no dissimilar pair (its count is clamped to 1, its weight unused).
        var (zv, _) = RandomBatch(4, 8, 2, 5);
        using var z = tensor(zv, new long[] { 4, 8 });
        using var y = Labels(4, 2, new[] { 0 }, new[] { 0 }, new[] { 0 }, new[] { 0 });
        var u = Rows(zv, 4, 8, Math.Tanh);
        double mean = 0;
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) { double t = 0.1 * Dot(u[i], u[j]); mean += Softplus(t) - t; }
        Assert.Equal(mean / 16, Value(new HashNetLoss(), z, y), 5);
    }

    [Fact]
    public void FactoryBuildsEachNamedLossWithItsSettings()
    {
        Assert.Equal(new[] { "pairwise", "pairwise-k", "dpsh", "hashnet", "csq" }, HashLossFactory.Names.Take(5));
        var pairwise = Assert.IsType<PairwiseLoss>(HashLossFactory.Create("pairwise", 3, 8, 0, 0.2));
        Assert.Equal(PairwiseDivisor.BatchSize, pairwise.Divisor);
        Assert.Equal(0.2, pairwise.Quantization);
        Assert.Equal(PairwiseDivisor.Bits, Assert.IsType<PairwiseLoss>(HashLossFactory.Create("pairwise-k", 3, 8, 0)).Divisor);
        Assert.Equal("dpsh", HashLossFactory.Create("dpsh", 3, 8, 0).Name);
        Assert.Equal("hashnet", HashLossFactory.Create("hashnet", 3, 8, 0).Name);
        var csq = Assert.IsType<CsqLoss>(HashLossFactory.Create("csq", 10, 6, 7));
        using var centres = csq.Centers;
        using var expected = CsqLoss.HashCenters(10, 6, 7);
        Assert.Equal(AttackTestsValues(expected), AttackTestsValues(centres));
    }

    private static float[] AttackTestsValues(Tensor t) => HashBackdoor.Tests.Attacks.AttackTestData.Values(t);
}
