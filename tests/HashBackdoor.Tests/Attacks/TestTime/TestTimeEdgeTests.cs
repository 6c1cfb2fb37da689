using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks.TestTime;

/// <summary>
/// Limits, error paths and the loss trace of the test-time attacks (found by mutation testing, docs/testing.md): every
/// limit on both sides, the trace's first and last values against the loss computed directly, the model's mode restored.
/// </summary>
[Collection("Attacks")]
public class TestTimeEdgeTests
{
    private static readonly TestTimeAttackOptions Short = new() { Epsilon = 8.0 / 255, Steps = 2 };

    [Fact]
    public void OptionLimitsHoldOnBothSides()
    {
        new TestTimeAttackOptions { Epsilon = 1, Steps = 1, StepSize = 1000, BatchSize = 1, BetaSchedule = new[] { 0.5 } }.Validate();
        Assert.Contains("8/255 = 0.03137", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { Epsilon = 1.001 }.Validate()).Message);
        Assert.Equal("testTimeAttack.steps 0: must be at least 1", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { Steps = 0 }.Validate()).Message);
        Assert.StartsWith("testTimeAttack.stepSize 1001", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { StepSize = 1001 }.Validate()).Message);
        Assert.Equal("batch size 0: must be at least 1", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { BatchSize = 0 }.Validate()).Message);
        Assert.Equal("beta schedule : needs one or more positive values", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { BetaSchedule = Array.Empty<double>() }.Validate()).Message);
        Assert.StartsWith("beta schedule", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { BetaSchedule = null! }.Validate()).Message);
        Assert.Equal("beta schedule 1,0: needs one or more positive values", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { BetaSchedule = new[] { 1.0, 0 } }.Validate()).Message);
        Assert.StartsWith("beta schedule", Assert.Throws<UsageException>(() => new TestTimeAttackOptions { BetaSchedule = new[] { double.PositiveInfinity } }.Validate()).Message);
        var o = new TestTimeAttackOptions { Steps = 10, BetaSchedule = new[] { 0.1, 0.4, 0.9 } };
        Assert.Equal(new[] { 0.1, 0.1, 0.1, 0.1, 0.1, 0.4, 0.4, 0.4, 0.9, 0.9, 0.9 }, Enumerable.Range(0, 11).Select(o.BetaAt));
        Assert.Equal(0.5, new TestTimeAttackOptions { BetaSchedule = new[] { 0.5 } }.BetaAt(40));
    }

    [Fact]
    public void TheLossTraceStartsAndEndsWithTheLossComputedDirectly()
    {
        using var model = AttackTestData.TinyModel(5);
        using var x = AttackTestData.Images(5, 61);
        using var h = tensor(Enumerable.Range(0, 5 * AttackTestData.Bits).Select(i => i % 3 == 0 ? 1f : -1f).ToArray(), new long[] { 5, AttackTestData.Bits });
        var o = new TestTimeAttackOptions { Epsilon = 16.0 / 255, Steps = 3, BatchSize = 2, BetaSchedule = new[] { 0.5, 1.0 } };
        var calls = new List<(long, int)>();
        model.train();
        var (adv, trace) = new TargetedPerturbation(o).Run(model, x, h, (done, step) => calls.Add((done, step)));
        using var _ = adv;
        Assert.True(model.training, "training mode restored");
        model.eval();
        Assert.Equal(o.Steps + 1, trace.Count);
        using (no_grad())
        {
            using var zero = zeros_like(x);
            using var first = TargetedPerturbation.PerQueryLoss(model, x, zero, h, o.BetaAt(0));
            Assert.Equal(first.mean().item<float>(), trace[0], 5);
            using var delta = adv.sub(x);
            using var last = TargetedPerturbation.PerQueryLoss(model, x, delta, h, o.BetaAt(o.Steps - 1));
            Assert.Equal(last.mean().item<float>(), trace[^1], 4);
        }
        // Batches of 2, 2, 1 queries, three steps each: (first query of the batch, step).
        Assert.Equal(new[] { (0L, 1), (0L, 2), (0L, 3), (2L, 1), (2L, 2), (2L, 3), (4L, 1), (4L, 2), (4L, 3) }, calls);
        // In train mode the result is the same as in eval mode (the attack runs in eval mode).
        model.train();
        var (again, _) = new TargetedPerturbation(o).Run(model, x, h);
        using var __ = again;
        Assert.True(AttackTestData.Same(adv, again));
    }

    [Fact]
    public void MalformedInputsNonFiniteLossesEmptyBatchesAndCancellation()
    {
        using var model = AttackTestData.TinyModel(5);
        using var x = AttackTestData.Images(3, 62);
        using var h = ones(3, AttackTestData.Bits);
        var attack = new TargetedPerturbation(Short);
        Assert.Contains("[N,C,H,W]", Assert.Throws<ArgumentException>(() => attack.Run(model, x[0], h)).Message);
        using var h2 = ones(2, AttackTestData.Bits);
        Assert.Contains("with N=3", Assert.Throws<ArgumentException>(() => attack.Run(model, x, h2)).Message);
        using var h1 = ones(AttackTestData.Bits);
        Assert.Throws<ArgumentException>(() => attack.Run(model, x, h1));
        using var none = x.narrow(0, 0, 0);
        using var hNone = h.narrow(0, 0, 0);
        var (empty, trace) = attack.Run(model, none, hNone);
        using (empty) Assert.Equal(new long[] { 0, 1, 12, 12 }, empty.shape);
        Assert.All(trace, t => Assert.Equal(0, t));
        var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => attack.Run(model, x, h, cancel: cts.Token));
        using (no_grad()) foreach (var p in model.parameters()) p.fill_(float.NaN);
        Assert.Contains("at step 1", Assert.Throws<NumericalException>(() => attack.Run(model, x, h)).Message);
    }

    [Fact]
    public void ContextsAreCheckedBeforeAnythingIsComputed()
    {
        using var model = AttackTestData.TinyModel();
        using var train = AttackTestData.Dataset(perClass: 4);
        using var codes = AttackTestData.Codes(model, train.Images);
        using var queries = AttackTestData.Images(2);
        using var fewer = codes.narrow(0, 0, 5);
        Assert.Contains("must have the same N", Assert.Throws<ArgumentException>(() => new TestTimeAttackContext(model, fewer, train.Labels, 0, Short).Validate()).Message);
        using var flat = codes.reshape(-1);
        Assert.Throws<ArgumentException>(() => new TestTimeAttackContext(model, flat, train.Labels, 0, Short).Validate());
        using var flatLabels = train.Labels.reshape(-1);
        Assert.Throws<ArgumentException>(() => new TestTimeAttackContext(model, codes, flatLabels, 0, Short).Validate());
        Assert.Contains("targets -1", Assert.Throws<UsageException>(() => new TestTimeAttackContext(model, codes, train.Labels, -1, Short).Validate()).Message);
        foreach (ITestTimeAttack attack in new ITestTimeAttack[] { new P2pAttack(), new DhtaAttack() })
        {
            Assert.StartsWith("testTimeAttack.steps 0", Assert.Throws<UsageException>(() => attack.Attack(queries, new TestTimeAttackContext(model, codes, train.Labels, 0, Short with { Steps = 0 }))).Message);
            Assert.Contains("must have the same N", Assert.Throws<ArgumentException>(() => attack.Attack(queries, new TestTimeAttackContext(model, fewer, train.Labels, 0, Short))).Message);
        }
        // Only the multi-label row has class 0 together with 1: a target with no single-label row.
        using var labels = tensor(new float[] { 1, 1, 0, 0, 1, 0 }, new long[] { 2, 3 });
        using var two = codes.narrow(0, 0, 2);
        Assert.Contains("target 0: no training image is labelled with class 0 alone", Assert.Throws<UsageException>(() =>
            new P2pAttack().Attack(queries, new TestTimeAttackContext(model, two, labels, 0, Short))).Message);
        Assert.Throws<UsageException>(() => new DhtaAttack().Attack(queries, new TestTimeAttackContext(model, two, labels, 0, Short)));
        Assert.Throws<ArgumentException>(() => P2pAttack.ChooseRows(Array.Empty<long>(), 3, 0));
        Assert.Equal(new long[] { 7, 7, 7 }, P2pAttack.ChooseRows(new long[] { 7 }, 3, 11));
    }

    [Fact]
    public void TheRegistryRefusesNamelessOrNullAttacks()
    {
        Assert.Throws<ArgumentException>(() => TestTimeAttacks.Register("", () => new DhtaAttack()));
        Assert.Throws<ArgumentException>(() => TestTimeAttacks.Register(null!, () => new DhtaAttack()));
        Assert.Throws<ArgumentNullException>(() => TestTimeAttacks.Register("y", null!));
        Assert.DoesNotContain("y", TestTimeAttacks.Names);
        Assert.Throws<UsageException>(() => TestTimeAttacks.Create(null!));
    }
}
