using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks.TestTime;

/// <summary>The batched test-time optimiser against a plain per-query loop, and its budget constraints.</summary>
[Collection("Attacks")]
public class TargetedPerturbationTests
{
    /// <summary>Random +-1 target codes [n, K] from a seeded generator.</summary>
    private static Tensor RandomCodes(int n, long seed)
    {
        var g = new Generator().manual_seed(seed);
        return rand(new long[] { n, AttackTestData.Bits }, generator: g).gt(0.5).to_type(ScalarType.Float32).mul(2).sub(1);
    }

    /// <summary>A random perturbation inside the eps ball that keeps x + delta in [0, 1].</summary>
    private static Tensor RandomDelta(Tensor x, double eps, long seed)
    {
        var g = new Generator().manual_seed(seed);
        var d = rand(x.shape, generator: g).mul(2 * eps).sub(eps);
        return x.add(d).clamp(0, 1).sub(x);
    }

    /// <summary>
    /// Plain per-query reference: one image at a time, loss written out as -(1/K) sum_k tanh(beta z_k) h_k with
    /// backward(), step and both clamps written with elementwise min/max over managed arrays.
    /// </summary>
    private static (float[] Loss, float[] Delta) ReferenceStep(HashModel model, Tensor x, Tensor delta, Tensor h,
        double beta, double stepSize, double eps, StepRule rule)
    {
        int n = (int)x.shape[0], k = (int)h.shape[1];
        var losses = new float[n];
        var result = new List<float>();
        for (int i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            var leaf = delta.narrow(0, i, 1).detach().clone().requires_grad_(true);
            var z = model.forward(x.narrow(0, i, 1).add(leaf));
            var u = z.mul(beta).tanh();
            var loss = u.mul(h.narrow(0, i, 1)).sum().neg().div(k);
            loss.backward();
            losses[i] = loss.item<float>();
            float[] g = AttackTestData.Values(leaf.grad!);
            float[] d = AttackTestData.Values(leaf);
            float[] xi = AttackTestData.Values(x.narrow(0, i, 1));
            double norm = Math.Sqrt(g.Sum(v => (double)v * v));
            for (int p = 0; p < g.Length; p++)
            {
                double dir = rule == StepRule.Sign ? Math.Sign(g[p]) : (norm > 0 ? g[p] / norm : 0);
                double moved = d[p] - stepSize * dir;
                double img = Math.Min(1, Math.Max(0, xi[p] + moved));
                double back = img - xi[p];
                result.Add((float)Math.Min(eps, Math.Max(-eps, back)));
            }
        }
        return (losses, result.ToArray());
    }

    [Theory]
    [InlineData(StepRule.Sign, 0.7)]
    [InlineData(StepRule.L2, 0.3)]
    public void LossAndOneStepMatchAPerQueryLoop(StepRule rule, double beta)
    {
        using var model = AttackTestData.TinyModel();
        using var x = AttackTestData.Images(6);
        using var h = RandomCodes(6, 3);
        const double eps = 8.0 / 255, step = 2.0 / 255;
        using var delta = RandomDelta(x, eps, 11);
        var (refLoss, refDelta) = ReferenceStep(model, x, delta, h, beta, rule == StepRule.L2 ? 0.05 : step, eps, rule);

        using var loss = TargetedPerturbation.PerQueryLoss(model, x, delta, h, beta);
        using var next = TargetedPerturbation.Step(model, x, delta, h, beta, rule == StepRule.L2 ? 0.05 : step, eps, rule);
        var batchedLoss = AttackTestData.Values(loss);
        var batchedDelta = AttackTestData.Values(next);
        Assert.Equal(refLoss.Length, batchedLoss.Length);
        for (int i = 0; i < refLoss.Length; i++) Assert.Equal(refLoss[i], batchedLoss[i], 1e-5);
        Assert.Equal(refDelta.Length, batchedDelta.Length);
        for (int i = 0; i < refDelta.Length; i++) Assert.Equal(refDelta[i], batchedDelta[i], 1e-5);
        // the step did something: not every pixel kept its perturbation
        Assert.Contains(Enumerable.Range(0, refDelta.Length), i => Math.Abs(refDelta[i] - AttackTestData.Values(delta)[i]) > 1e-4);
    }

    [Fact]
    public void BatchSizeDoesNotChangeTheResult()
    {
        using var model = AttackTestData.TinyModel();
        using var x = AttackTestData.Images(7);
        using var h = RandomCodes(7, 4);
        var o = new TestTimeAttackOptions { Epsilon = 6.0 / 255, Steps = 4 };
        var (a, _) = new TargetedPerturbation(o with { BatchSize = 128 }).Run(model, x, h);
        var (b, _) = new TargetedPerturbation(o with { BatchSize = 3 }).Run(model, x, h);
        using (a)
        using (b)
        {
            var va = AttackTestData.Values(a);
            var vb = AttackTestData.Values(b);
            for (int i = 0; i < va.Length; i++) Assert.Equal(va[i], vb[i], 1e-5);
        }
    }

    [Fact]
    public void PerturbationNeverLeavesTheBallOrTheImageRangeEvenWhenStepsOvershoot()
    {
        using var model = AttackTestData.TinyModel();
        var rng = new Random(21);
        for (int trial = 0; trial < 6; trial++)
        {
            double eps = 0.005 + rng.NextDouble() * 0.2;
            var rule = trial % 2 == 0 ? StepRule.Sign : StepRule.L2;
            var o = new TestTimeAttackOptions { Epsilon = eps, Steps = 3, StepSize = eps * (2 + rng.NextDouble() * 5), Rule = rule };
            using var x = AttackTestData.Images(5, seed: 100 + trial);        // includes pixels exactly 0 and 1
            using var h = RandomCodes(5, 200 + trial);
            var (adv, trace) = new TargetedPerturbation(o).Run(model, x, h);
            using (adv)
            {
                var xs = AttackTestData.Values(x);
                var advs = AttackTestData.Values(adv);
                double maxMove = 0;
                for (int i = 0; i < xs.Length; i++)
                {
                    Assert.InRange(advs[i], 0f, 1f);
                    double move = Math.Abs(advs[i] - xs[i]);
                    Assert.True(move <= eps + 1e-6, $"trial {trial}: pixel {i} moved {move} > eps {eps}");
                    maxMove = Math.Max(maxMove, move);
                }
                Assert.True(maxMove > eps * 0.99, $"trial {trial}: overshooting steps should reach the ball's edge somewhere");
                Assert.Equal(o.Steps + 1, trace.Count);
            }
        }
    }

    [Fact]
    public void AttackLowersTheLossAndMovesCodesTowardsTheTarget()
    {
        using var model = AttackTestData.TinyModel();
        using var x = AttackTestData.Images(8);
        using var h = RandomCodes(8, 9);
        var o = new TestTimeAttackOptions { Epsilon = 16.0 / 255, Steps = 30, BetaSchedule = new[] { 1.0 } };
        var (adv, trace) = new TargetedPerturbation(o).Run(model, x, h);
        using (adv)
        {
            Assert.True(trace[^1] < trace[0] - 0.01, $"loss {trace[0]} -> {trace[^1]}");
            using var before = AttackTestData.Codes(model, x);
            using var after = AttackTestData.Codes(model, adv);
            double dBefore = before.mul(h).sum().item<float>(), dAfter = after.mul(h).sum().item<float>();
            Assert.True(dAfter > dBefore, $"agreement with the targets {dBefore} -> {dAfter}");
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.01)]
    [InlineData(double.NaN)]
    [InlineData(1.5)]
    public void NonPositiveOrHugeEpsIsAUsageErrorNamingTheKey(double eps)
    {
        var e = Assert.Throws<UsageException>(() => new TestTimeAttackOptions { Epsilon = eps }.Validate());
        Assert.StartsWith("testTimeAttack.epsilon", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void OtherBadOptionsAreUsageErrors()
    {
        Assert.StartsWith("testTimeAttack.steps", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { Steps = 0 }.Validate()).Message);
        Assert.StartsWith("testTimeAttack.stepSize", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { StepSize = 0 }.Validate()).Message);
        Assert.Equal(2.0 / 255, new TestTimeAttackOptions().EffectiveStepSize, 12);
        Assert.Equal(0.01, new TestTimeAttackOptions { StepSize = 0.01 }.EffectiveStepSize);
    }

    [Fact]
    public void TargetCodesOfAnotherLengthThanTheModelAreAUsageError()
    {
        using var model = AttackTestData.TinyModel();
        using var x = AttackTestData.Images(2);
        using var h = ones(2, AttackTestData.Bits + 8);
        var e = Assert.Throws<UsageException>(() => new TargetedPerturbation(new TestTimeAttackOptions()).Run(model, x, h));
        Assert.Contains("24 bits but the model has 16", e.Message);
    }

    [Fact]
    public void BetaScheduleFollowsTheReferenceShape()
    {
        var o = new TestTimeAttackOptions { Steps = 2000 };
        Assert.Equal(0.1, o.BetaAt(0));
        Assert.Equal(0.1, o.BetaAt(999));
        Assert.Equal(0.2, o.BetaAt(1000));
        Assert.Equal(0.3, o.BetaAt(1200));
        Assert.Equal(0.7, o.BetaAt(1799));
        Assert.Equal(1.0, o.BetaAt(1800));
        Assert.Equal(1.0, o.BetaAt(1999));
    }
}
