using HashBackdoor.Attacks;
using HashBackdoor.Hashing;
using HashBackdoor.Tests.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// Guards of the perturbation budget (method.md section 5): |delta|_inf &lt;= eps and images in 0..1, checked with steps
/// that OVERSHOOT the budget (rounds x step = 18/255 &gt; eps = 4/255), so the clamps are reached on most pixels and must
/// hold there. Every other perturbation test keeps rounds x step below eps, where a missing clamp goes unnoticed.
/// </summary>
[Collection("Attacks")]
public class PerturbationBudgetGuards
{
    private const double Tolerance = 1e-6;

    /// <summary>Images [n, 1, 12, 12] away from 0 and 1 (in 0.2..0.8), so only the eps clamp can bind.</summary>
    private static Tensor InteriorImages(int n, long seed)
    {
        var gen = new Generator().manual_seed(seed);
        return rand(new long[] { n, 1, 12, 12 }, generator: gen).mul(0.6).add(0.2);
    }

    /// <summary>Images [n, 1, 12, 12] of which about 40% of the pixels are exactly 0 or 1.</summary>
    private static Tensor SaturatedImages(int n, long seed)
    {
        var gen = new Generator().manual_seed(seed);
        return rand(new long[] { n, 1, 12, 12 }, generator: gen).mul(1.8).sub(0.4).clamp(0, 1);
    }

    [Theory]
    [InlineData(0.8)]
    [InlineData(0.0)]
    public void OvershootingStepsReachTheBudgetAndNeverExceedIt(double lambda)
    {
        using var model = AttackTestData.TinyModel(4);
        using var x = InteriorImages(6, 41);
        var o = GuardData.Overshooting with { Lambda = lambda };
        Assert.True(o.Rounds * o.StepSize > 3 * o.Epsilon);                 // the setting overshoots by far
        using var p = new ConfusingPerturbation(o).Perturb(model, x);
        using var delta = p.sub(x).abs();
        double max = delta.max().item<float>();
        Assert.True(max <= o.Epsilon + Tolerance, $"max |delta| {max * 255:F3}/255 exceeds eps {o.Epsilon * 255:F3}/255");
        Assert.True(max >= o.Epsilon - Tolerance, $"max |delta| {max * 255:F3}/255 never reaches eps");
        // Most pixels keep a steady gradient sign and sit exactly on the budget.
        double onBudget = delta.ge(o.Epsilon - Tolerance).to_type(ScalarType.Float32).mean().item<float>();
        Assert.True(onBudget > 0.5, $"only {onBudget:P0} of the pixels reached eps");
    }

    [Theory]
    [InlineData("tri+noise")]
    [InlineData("tri+adv")]
    [InlineData("ciba")]
    public void PoisonedImagesRespectTheBudgetAndTheRangeThroughTheAttacks(string attack)
    {
        using var train = AttackTestData.Dataset(perClass: 8);       // has pixels exactly at 0 and 1
        using var surrogate = AttackTestData.TinyModel(2);
        using var trigger = GuardData.AsymmetricTrigger();
        var options = new PoisonOptions { TargetClass = 2, Count = 6, Seed = 3, Perturbation = GuardData.Overshooting };
        using var set = PoisoningAttacks.Create(attack).Poison(train, new PoisonContext(options, trigger, surrogate));
        double eps = GuardData.Overshooting.Epsilon;

        using var delta = set.Perturbations.abs();
        double max = delta.max().item<float>();
        Assert.True(max <= eps + Tolerance, $"{attack}: max |delta| {max * 255:F3}/255 exceeds eps {eps * 255:F3}/255");
        Assert.True(max >= 0.9 * eps, $"{attack}: max |delta| {max * 255:F3}/255 is far below eps (the budget is not used)");
        // The stored poisoned rows are the perturbed originals with the trigger pasted: outside the corner, within eps of
        // the originals.
        using var outside = set.PoisonedImages.sub(set.Originals).abs().narrow(2, 0, 8);
        Assert.True(outside.max().item<float>() <= eps + Tolerance);
        Assert.All(AttackTestData.Values(set.PoisonedImages), v => Assert.InRange(v, 0f, 1f));
        Assert.All(AttackTestData.Values(set.Dataset.Images), v => Assert.InRange(v, 0f, 1f));
    }

    [Theory]
    [InlineData(0.8, 2)]
    [InlineData(0.0, 3)]
    public void SaturatedPixelsStayInRangeAndTheStepsMatchAPlainReferenceLoop(double lambda, int groupSize)
    {
        using var model = AttackTestData.TinyModel(6);
        using var x = SaturatedImages(5, 43);
        var o = GuardData.Overshooting with { Lambda = lambda, GroupSize = groupSize };
        using var batched = new ConfusingPerturbation(o).Perturb(model, x);
        using var reference = ReferenceLoop(model, x, o);
        Assert.All(AttackTestData.Values(batched), v => Assert.InRange(v, 0f, 1f));
        var a = AttackTestData.Values(batched);
        var b = AttackTestData.Values(reference);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6, $"pixel {i}: batched {a[i]} vs reference {b[i]}");
        // The range clamp bit: some saturated pixels were pushed against their bound.
        using var atBound = x.eq(0).logical_or(x.eq(1)).logical_and(batched.eq(x));
        Assert.True(atBound.sum().item<long>() > 0);
    }

    /// <summary>
    /// Method.md section 5 written out one image at a time: per round and group a no-gradient snapshot of the group's
    /// perturbed outputs; per image the loss (1 - lambda) L_adv + lambda L_disp, its gradient with respect to delta_j, one
    /// signed ascent step, then x + delta clamped to [0, 1] and delta clamped to [-eps, eps], in that order.
    /// </summary>
    private static Tensor ReferenceLoop(HashModel model, Tensor x, PerturbationOptions o)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0];
        var delta = zeros_like(x);
        Tensor clean;
        using (no_grad()) clean = model.Continuous(x);
        for (int round = 0; round < o.Rounds; round++)
        {
            for (long g0 = 0; g0 < n; g0 += o.GroupSize)
            {
                long size = Math.Min(o.GroupSize, n - g0);
                Tensor snap;
                using (no_grad()) snap = model.Continuous(x.narrow(0, g0, size) + delta.narrow(0, g0, size));
                for (long j = g0; j < g0 + size; j++)
                {
                    var d = delta.narrow(0, j, 1).detach().clone().requires_grad_(true);
                    var xj = x.narrow(0, j, 1);
                    var f = model.Continuous(xj + d)[0];
                    double k = f.shape[0];
                    var lossAdv = -(f * clean[j]).sum() / k;
                    var loss = lossAdv * (1 - o.Lambda);
                    if (size > 1)
                    {
                        var others = (snap.matmul(f)).sum();
                        var lossDisp = (-others + (f * f).sum()) / (k * (size - 1));
                        loss = loss + lossDisp * o.Lambda;
                    }
                    var grad = torch.autograd.grad(new[] { loss }, new[] { d })[0];
                    var next = d.detach() + grad.sign() * o.StepSize;
                    next = (xj + next).clamp(0, 1) - xj;
                    next = next.clamp(-o.Epsilon, o.Epsilon);
                    delta.narrow(0, j, 1).copy_(next);
                }
            }
        }
        return (x + delta).clamp(0, 1).MoveToOuterDisposeScope();
    }
}
