using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;
using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

/// <summary>
/// What the attacks own and free (found by mutation testing, docs/testing.md): every tensor an attack allocates is either
/// handed to the caller or freed, on success and on failure, and disposing a result frees exactly what it owns. Counted
/// with TorchSharp's per-thread count of live tensors, which every tensor creation raises and every dispose lowers.
/// Also: the SSIM of <see cref="Perceptibility"/> against a plain loop over windows, and the flags a poisoned set records.
/// </summary>
[Collection("Attacks")]
public class AttackResourceTests
{
    private static long Live => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    /// <summary>Runs <paramref name="action"/> twice (the first call warms up whatever torch allocates once per
    /// process) and checks that the second leaves no more live tensors than there were before it.</summary>
    private static void LeavesNothingBehind(Action action)
    {
        action();
        long before = Live;
        action();
        Assert.Equal(before, Live);
    }

    private static PatchTrigger Trigger(int size = 4) =>
        new(tensor(Enumerable.Range(0, size * size).Select(i => i / (float)(size * size - 1)).ToArray(), new long[] { 1, size, size }));

    [Theory]
    [InlineData("tri")]
    [InlineData("tri+noise")]
    [InlineData("tri+adv")]
    [InlineData("ciba")]
    public void DisposingAPoisonSetFreesEverythingTheAttackMade(string name)
    {
        using var train = AttackTestData.Dataset(perClass: 4);
        using var trigger = Trigger();
        using var model = AttackTestData.TinyModel(2);
        var context = new PoisonContext(new PoisonOptions
        {
            TargetClass = 1, Count = 2, Seed = 4,
            Perturbation = new PerturbationOptions { Rounds = 2, GroupSize = 2 },
        }, trigger, model);
        PoisoningAttacks.Create(name).Poison(train, context).Dispose();      // warm-up
        long before = Live;
        var set = PoisoningAttacks.Create(name).Poison(train, context);
        Assert.True(Live > before);
        var owned = new List<Tensor> { set.Dataset.Images, set.Dataset.Labels, set.Originals, set.PerturbedImages, set.Perturbations, set.PoisonedImages, set.PoisonMask, set.Trigger.Pattern };
        if (set.Plan.Augmentable is { } aug) owned.Add(aug);
        set.Dispose();
        Assert.All(owned, t => Assert.True(t.IsInvalid));
        Assert.Equal(before, Live);
        // What the set records about itself.
        using var again = PoisoningAttacks.Create(name).Poison(train, context);
        Assert.Equal(name == "tri", again.TriggerAfterAugmentation);
        Assert.Equal(name == "tri", again.Plan.AfterAugmentation is not null);
        Assert.Equal(name != "tri", again.Plan.Augmentable is not null);
        Assert.Equal($"tiny+{name}", again.Dataset.Name);
        Assert.Equal(train.ClassNames, again.Dataset.ClassNames);
        Assert.Equal((name, 1), (again.AttackName, again.TargetClass));
    }

    [Fact]
    public void ConfusingPerturbationFreesItsWorkingTensorsAndItsResult()
    {
        using var model = AttackTestData.TinyModel(3);
        using var x = AttackTestData.Images(5, 71);
        var o = new PerturbationOptions { Rounds = 2, GroupSize = 2 };
        new ConfusingPerturbation(o).Run(model, x).Dispose();               // warm-up
        long before = Live;
        var r = new ConfusingPerturbation(o).Run(model, x);
        var images = r.Images;
        Assert.Equal(before + 1, Live);                                   // only the result is alive
        r.Dispose();
        Assert.True(images.IsInvalid);
        Assert.Throws<ObjectDisposedException>(() => r.Images);
        r.Dispose();                                                      // twice is harmless
        Assert.Equal(before, Live);
        // A failing run frees its working tensors too.
        using var nan = AttackTestData.TinyModel(3);
        using (no_grad()) foreach (var p in nan.parameters()) p.fill_(float.NaN);
        LeavesNothingBehind(() => Assert.Throws<NumericalException>(() => new ConfusingPerturbation(o).Run(nan, x)));
        var cts = new CancellationTokenSource();
        cts.Cancel();
        LeavesNothingBehind(() => Assert.Throws<OperationCanceledException>(() => new ConfusingPerturbation(o).Run(model, x, cancel: cts.Token)));
        LeavesNothingBehind(() => ConfusingPerturbation.Objective(model, x, x, o));
    }

    [Fact]
    public void ConfusingPerturbationTraceIsTheObjectiveBeforeEachRoundAndAfterTheLast()
    {
        using var model = AttackTestData.TinyModel(3);
        using var x = AttackTestData.Images(5, 72);                      // groups of 2, 2, 1
        var o = new PerturbationOptions { Rounds = 2, GroupSize = 2, Lambda = 0.6 };
        var calls = new List<(int, double)>();
        using var r = new ConfusingPerturbation(o).Run(model, x, (round, v) => calls.Add((round, v)));
        Assert.Equal(3, r.Objective.Count);
        // Round 1 starts from delta = 0; round 2 from the images after one round; the last entry is the final objective.
        Assert.Equal(ConfusingPerturbation.Objective(model, x, x, o), r.Objective[0], 4);
        using (var one = new ConfusingPerturbation(o with { Rounds = 1 }).Run(model, x))
            Assert.Equal(ConfusingPerturbation.Objective(model, x, one.Images, o), r.Objective[1], 4);
        Assert.Equal(ConfusingPerturbation.Objective(model, x, r.Images, o), r.Objective[2], 4);
        Assert.Equal(new[] { 1, 2 }, calls.Select(c => c.Item1));
        Assert.Equal(r.Objective.Take(2), calls.Select(c => c.Item2));
        // No images: an empty result with the one final value 0.
        using var none = x.narrow(0, 0, 0);
        using var empty = new ConfusingPerturbation(o).Run(model, none);
        Assert.Equal(new long[] { 0, 1, 12, 12 }, empty.Images.shape);
        Assert.Equal(new[] { 0.0, 0.0, 0.0 }, empty.Objective);
    }

    [Fact]
    public void TriggerOptimizerFreesItsPatternsOnFailureAndStartsFromTheInitialPatch()
    {
        using var model = AttackTestData.TinyModel(4);
        using var images = AttackTestData.Images(6, 73);
        using var anchor = ones(AttackTestData.Bits);
        var opt = new TriggerOptimizer(new TriggerOptions { Size = 3, Steps = 3, BatchSize = 4 });
        var trigger = opt.Optimize(model, images, anchor);
        trigger.Dispose();
        Assert.True(trigger.Pattern.IsInvalid);
        using (var initial = new TriggerOptimizer(new TriggerOptions { Size = 3, Steps = 0 }).Optimize(model, images, anchor))
            Assert.All(initial.Values(), v => Assert.Equal(0.5f, v));
        using var pattern = PatchTrigger.Constant(1, 3);
        LeavesNothingBehind(() => TriggerOptimizer.MeanLoss(model, images, pattern.Pattern, anchor, 0.5));
        LeavesNothingBehind(() => opt.Optimize(model, images, anchor).Dispose());
        using var nan = AttackTestData.TinyModel(4);
        using (no_grad()) foreach (var p in nan.parameters()) p.fill_(float.NaN);
        LeavesNothingBehind(() => Assert.Throws<NumericalException>(() => opt.Optimize(nan, images, anchor)));
        var cts = new CancellationTokenSource();
        cts.Cancel();
        LeavesNothingBehind(() => Assert.Throws<OperationCanceledException>(() => opt.Optimize(model, images, anchor, cancel: cts.Token)));
    }

    [Fact]
    public void TestTimeAttacksFreeTheirTargetsOnFailureAndTheirResultOnDispose()
    {
        using var model = AttackTestData.TinyModel();
        using var train = AttackTestData.Dataset(perClass: 4);
        using var codes = AttackTestData.Codes(model, train.Images);
        using var queries = AttackTestData.Images(3, 74);
        var o = new TestTimeAttackOptions { Epsilon = 8.0 / 255, Steps = 2, BatchSize = 2 };
        foreach (ITestTimeAttack attack in new ITestTimeAttack[] { new P2pAttack(), new DhtaAttack() })
        {
            var context = new TestTimeAttackContext(model, codes, train.Labels, 1, o);
            attack.Attack(queries, context).Dispose();                      // warm-up
            long before = Live;
            var result = attack.Attack(queries, context);
            Assert.Equal(before + 2, Live);                               // adversarial images and target codes
            Tensor adv = result.Adversarial, targets = result.TargetCodes;
            result.Dispose();
            Assert.True(adv.IsInvalid && targets.IsInvalid);
            Assert.Equal(before, Live);
            var cts = new CancellationTokenSource();
            cts.Cancel();
            LeavesNothingBehind(() => Assert.Throws<OperationCanceledException>(() => attack.Attack(queries, context, cts.Token)));
        }
        long beforeRun = Live;
        using var h = ones(3, AttackTestData.Bits);
        var (images, _) = new TargetedPerturbation(o).Run(model, queries, h);
        Assert.Equal(beforeRun + 2, Live);                                // h and the adversarial images
        images.Dispose();
        long beforeStep = Live;
        using (var zero = zeros_like(queries))
        using (var next = TargetedPerturbation.Step(model, queries, zero, h, 1.0, 0.01, 0.03, StepRule.Sign))
            Assert.Equal(beforeStep + 2, Live);
        Assert.Equal(beforeStep, Live);
    }

    [Fact]
    public void TriggersFreeTheirPatternsAndConvertedInputs()
    {
        long before = Live;
        var doubles = tensor(new double[] { 0, 0.25, 0.5, 1 }, new long[] { 1, 2, 2 });
        var t = new PatchTrigger(doubles);                                // converted to float: the double input is freed
        Assert.True(doubles.IsInvalid);
        Assert.Equal(ScalarType.Float32, t.Pattern.dtype);
        Assert.Equal(before + 1, Live);
        t.Dispose();
        Assert.Equal(before, Live);
        var original = Trigger();
        var clone = original.Clone();
        Assert.Equal(original.Values(), clone.Values());
        original.Dispose();
        Assert.False(clone.Pattern.IsInvalid);
        clone.Dispose();
        Assert.True(clone.Pattern.IsInvalid);
        using var floats = tensor(new float[] { 0, 1, 1, 0 }, new long[] { 1, 2, 2 });
        using var same = new PatchTrigger(floats);                        // a float pattern is taken as it is
        Assert.Same(floats, same.Pattern);
        Assert.False(floats.IsInvalid);
    }

    [Theory]
    [InlineData(12, 12)]
    [InlineData(8, 10)]
    [InlineData(5, 7)]
    public void SsimEqualsAPlainLoopOverGaussianWindows(int h, int w)
    {
        // Reference: the window is the largest odd size up to 11 that fits, Gaussian sigma 1.5 normalised to sum 1;
        // SSIM map = (2 mu_a mu_b + C1)(2 cov + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2)) at every valid
        // position of every channel, averaged.
        var g = new Generator().manual_seed(h * 31 + w);
        using var a = rand(new long[] { 2, 2, h, w }, generator: g, dtype: ScalarType.Float64);
        using var noise = rand(new long[] { 2, 2, h, w }, generator: g, dtype: ScalarType.Float64);
        using var b = a.mul(0.7).add(noise.mul(0.3));
        double[] av = a.data<double>().ToArray(), bv = b.data<double>().ToArray();
        int size = Math.Min(11, Math.Min(h, w));
        if (size % 2 == 0) size--;
        var g1 = new double[size];
        for (int i = 0; i < size; i++) { double r = i - (size - 1) / 2.0; g1[i] = Math.Exp(-r * r / (2 * 1.5 * 1.5)); }
        double gs = g1.Sum();
        for (int i = 0; i < size; i++) g1[i] /= gs;
        double sum = 0;
        int count = 0;
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 2; c++)
                for (int y = 0; y + size <= h; y++)
                    for (int x = 0; x + size <= w; x++)
                    {
                        double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
                        for (int i = 0; i < size; i++)
                            for (int j = 0; j < size; j++)
                            {
                                double wt = g1[i] * g1[j];
                                int at = ((n * 2 + c) * h + y + i) * w + x + j;
                                ma += wt * av[at]; mb += wt * bv[at];
                                saa += wt * av[at] * av[at]; sbb += wt * bv[at] * bv[at]; sab += wt * av[at] * bv[at];
                            }
                        double va = saa - ma * ma, vb = sbb - mb * mb, cov = sab - ma * mb;
                        const double c1 = 0.0001, c2 = 0.0009;
                        sum += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                        count++;
                    }
        Assert.Equal(sum / count, Perceptibility.Ssim(a, b), 9);
        Assert.Equal(sum / count, Perceptibility.Measure(b, a).MeanSsim, 9);
        using var window = Perceptibility.GaussianWindow(size, 1.5);
        Assert.Equal(new long[] { 1, 1, size, size }, window.shape);
        Assert.Equal(g1[0] * g1[size / 2], window[0, 0, 0, size / 2].item<double>(), 12);
    }

    [Fact]
    public void NoImagesMeasureAsUnchanged()
    {
        using var none = zeros(0, 1, 4, 4);
        var p = Perceptibility.Measure(none, none);
        Assert.Equal((0, 0.0, 0.0, (double?)null, 1.0, 0), (p.Images, p.LInf, p.MeanL2, p.MeanPsnr, p.MeanSsim, p.Identical));
        using var three = zeros(1, 4, 4);
        Assert.Contains("two [N,C,H,W] tensors of one shape, got [1,4,4] and [1,4,4]", Assert.Throws<ArgumentException>(() => Perceptibility.Measure(three, three)).Message);
    }
}
