using System.Buffers.Binary;
using HashBackdoor.Attacks;
using HashBackdoor.Hashing;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

/// <summary>
/// Boundaries, error paths and bookkeeping of the Attacks folder that the behaviour tests do not reach (found by
/// mutation testing, docs/testing.md): every limit is tried on both sides, every malformed input must fail with the
/// exception and the words the docs promise, models come back in the mode they were given in, and the optimisers'
/// loops are checked against one explicit step.
/// </summary>
[Collection("Attacks")]
public class AttackEdgeTests
{
    private static PatchTrigger Trigger(int size = 4) =>
        new(tensor(Enumerable.Range(0, size * size).Select(i => i / (float)(size * size - 1)).ToArray(), new long[] { 1, size, size }));

    [Fact]
    public void ValidationLimitsHoldOnBothSides()
    {
        AttackValidation.TriggerFits(12, 1, 1, 12, 12);                     // as large as the image: fits
        Assert.Contains("trigger.size 13", Assert.Throws<UsageException>(() => AttackValidation.TriggerFits(13, 1, 1, 12, 20)).Message);
        Assert.Contains("trigger.size 13", Assert.Throws<UsageException>(() => AttackValidation.TriggerFits(13, 1, 1, 20, 12)).Message);
        Assert.Contains("3 channel(s) but the images have 1", Assert.Throws<UsageException>(() => AttackValidation.TriggerFits(4, 3, 1, 12, 12)).Message);
        AttackValidation.TriggerSize(1);
        Assert.Contains("trigger.size 0", Assert.Throws<UsageException>(() => AttackValidation.TriggerSize(0)).Message);
        AttackValidation.Epsilon(0);
        AttackValidation.Epsilon(1);
        var eps = Assert.Throws<UsageException>(() => AttackValidation.Epsilon(1.01));
        Assert.Contains("8/255 = 0.03137", eps.Message);
        Assert.Throws<UsageException>(() => AttackValidation.Epsilon(-0.01));
        Assert.Throws<UsageException>(() => AttackValidation.Epsilon(double.NaN));
        AttackValidation.TargetClass(2, 3);
        AttackValidation.TargetClass(0, 3);
        Assert.Equal("targets 3: unknown class (the dataset has 3 classes, 0..2)", Assert.Throws<UsageException>(() => AttackValidation.TargetClass(3, 3)).Message);
        Assert.Throws<UsageException>(() => AttackValidation.TargetClass(-1, 3));
        AttackValidation.PoisonCount(1, 0, 1);
        AttackValidation.PoisonCount(8, 0, 8);
        Assert.Equal("poison.count 0: must be at least 1", Assert.Throws<UsageException>(() => AttackValidation.PoisonCount(0, 0, 8)).Message);
        using var labels = tensor(new float[] { 1, 0, 0, 1 }, new long[] { 2, 2 });
        Assert.Contains("targets 2", Assert.Throws<UsageException>(() => AttackValidation.TargetRows(labels, 2)).Message);
        using var train = AttackTestData.Dataset(perClass: 2);
        Assert.Contains("targets 5", Assert.Throws<UsageException>(() => AttackValidation.TargetIndices(train, 5)).Message);
        Assert.Equal(new long[] { 1, 4 }, AttackValidation.TargetIndices(train, 1));
    }

    [Fact]
    public void OptionLimitsHoldOnBothSides()
    {
        new PerturbationOptions { StepSize = 1, Rounds = 0, Lambda = 1, GroupSize = 1, Epsilon = 0 }.Validate();
        Assert.Contains("perturbation.stepSize", Assert.Throws<UsageException>(() => new PerturbationOptions { StepSize = 1.001 }.Validate()).Message);
        Assert.Equal("perturbation.rounds -1: must be at least 0", Assert.Throws<UsageException>(() => new PerturbationOptions { Rounds = -1 }.Validate()).Message);
        Assert.Contains("perturbation.lambda", Assert.Throws<UsageException>(() => new PerturbationOptions { Lambda = -0.1 }.Validate()).Message);

        new TriggerOptions { Steps = 0, BatchSize = 1, InitValue = 0, BetaSchedule = new[] { 0.5 } }.Validate();
        new TriggerOptions { InitValue = 1 }.Validate();
        Assert.Equal(12.0 / 255, new TriggerOptions().Alpha, 12);
        Assert.Equal("trigger.steps -1: must be at least 0", Assert.Throws<UsageException>(() => new TriggerOptions { Steps = -1 }.Validate()).Message);
        Assert.Contains("trigger.batchSize 0", Assert.Throws<UsageException>(() => new TriggerOptions { BatchSize = 0 }.Validate()).Message);
        Assert.Contains("12/255 = 0.04706", Assert.Throws<UsageException>(() => new TriggerOptions { Alpha = 0 }.Validate()).Message);
        Assert.Contains("trigger.initValue", Assert.Throws<UsageException>(() => new TriggerOptions { InitValue = 1.01 }.Validate()).Message);
        Assert.Contains("trigger.initValue", Assert.Throws<UsageException>(() => new TriggerOptions { InitValue = -0.01 }.Validate()).Message);
        Assert.Equal("trigger.betaSchedule : needs one or more positive values", Assert.Throws<UsageException>(() => new TriggerOptions { BetaSchedule = Array.Empty<double>() }.Validate()).Message);
        Assert.Contains("trigger.betaSchedule", Assert.Throws<UsageException>(() => new TriggerOptions { BetaSchedule = null! }.Validate()).Message);
        Assert.Equal("trigger.betaSchedule 0.5,0: needs one or more positive values", Assert.Throws<UsageException>(() => new TriggerOptions { BetaSchedule = new[] { 0.5, 0 } }.Validate()).Message);
        Assert.Contains("trigger.betaSchedule", Assert.Throws<UsageException>(() => new TriggerOptions { BetaSchedule = new[] { 0.5, double.PositiveInfinity } }.Validate()).Message);
        // Beta over 10 steps with 1 + 2 values: 0.1 for steps 0-4, then two slices of the second half.
        var o = new TriggerOptions { Steps = 10, BetaSchedule = new[] { 0.1, 0.4, 0.9 } };
        Assert.Equal(new[] { 0.1, 0.1, 0.1, 0.1, 0.1, 0.4, 0.4, 0.4, 0.9, 0.9, 0.9 }, Enumerable.Range(0, 11).Select(o.BetaAt));

        new PoisonOptions { Count = 0, Indices = new long[] { 3 } }.Validate();
        Assert.Equal("poison.count 0: must be at least 1", Assert.Throws<UsageException>(() => new PoisonOptions { Count = 0 }.Validate()).Message);
        Assert.Contains("the list is empty", Assert.Throws<UsageException>(() => new PoisonOptions { Indices = Array.Empty<long>() }.Validate()).Message);
    }

    [Fact]
    public void GivenPoisonIndicesAreCheckedOneByOne()
    {
        using var train = AttackTestData.Dataset(perClass: 4);             // 13 images; class 1 at 1, 4, 7, 10
        using var trigger = Trigger();
        PoisonContext Given(params long[] idx) => new(new PoisonOptions { TargetClass = 1, Indices = idx }, trigger);
        Assert.Equal(new long[] { 10, 1 }, Given(10, 1).ChooseIndices(train));
        Assert.Contains("poison indices: 13 is out of range (the training set has 13 images)", Assert.Throws<UsageException>(() => Given(1, 13).ChooseIndices(train)).Message);
        Assert.Contains("poison indices: -1 is out of range", Assert.Throws<UsageException>(() => Given(-1).ChooseIndices(train)).Message);
        Assert.Contains("poison indices: 4 is given twice", Assert.Throws<UsageException>(() => Given(4, 1, 4).ChooseIndices(train)).Message);
        Assert.Contains("the list is empty", Assert.Throws<UsageException>(() => Given().ChooseIndices(train)).Message);
    }

    [Fact]
    public void PoisonStreamsAreTheSplitMix64ValuesOfTheirFormula()
    {
        // Worked out outside the library (a Python transcription of the formula: SplitMix64's finaliser of
        // seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019, shifted right by one). Every
        // recorded result used these seeds: a change of the formula changes which images are poisoned and the noise.
        using var trigger = Trigger();
        var ctx = new PoisonContext(new PoisonOptions { Seed = 5 }, trigger);
        Assert.Equal(RecordedStream1, ctx.StreamSeed(1));
        Assert.Equal(RecordedStream2, ctx.StreamSeed(2));
        Assert.NotEqual(ctx.StreamSeed(1), new PoisonContext(new PoisonOptions { Seed = 6 }, trigger).StreamSeed(1));
    }

    private const long RecordedStream1 = 8926223674228375608;
    private const long RecordedStream2 = 5856446528277508935;

    [Fact]
    public void AttacksCheckTheirNeedsBeforeChoosingImages()
    {
        using var train = AttackTestData.Dataset(perClass: 4);
        using var big = PatchTrigger.Constant(1, 13);
        using var fits = Trigger();
        using var model = AttackTestData.TinyModel(2);
        PoisonContext Ctx(PatchTrigger t, HashModel? m, PerturbationOptions? p = null) =>
            new(new PoisonOptions { TargetClass = 1, Count = 0, Perturbation = p ?? new PerturbationOptions() }, t, m);
        foreach (var attack in new IPoisoningAttack[] { new TriggerOnlyAttack(), new TriggerNoiseAttack(), new TriggerAdversarialAttack(), new CibaAttack() })
        {
            // Count 0 would fail later, in the choice of images: the trigger check must come first.
            Assert.Contains("trigger.size 13", Assert.Throws<UsageException>(() => attack.Poison(train, Ctx(big, model))).Message);
            if (attack is TriggerAdversarialAttack or CibaAttack)
                Assert.Contains("surrogate", Assert.Throws<UsageException>(() => attack.Poison(train, Ctx(fits, null))).Message);
        }
        var noise = Assert.Throws<UsageException>(() => new TriggerNoiseAttack().Poison(train, Ctx(fits, null, new PerturbationOptions { Rounds = -1 })));
        Assert.Contains("perturbation.rounds", noise.Message);
    }

    [Fact]
    public void NoiseComesFromThePoisoningSeed()
    {
        using var train = AttackTestData.Dataset(perClass: 4);
        using var trigger = Trigger();
        PoisonSet Make(long seed) => new TriggerNoiseAttack().Poison(train,
            new PoisonContext(new PoisonOptions { TargetClass = 1, Indices = new long[] { 1, 4 }, Seed = seed }, trigger));
        using var a = Make(1);
        using var b = Make(1);
        using var c = Make(2);
        Assert.True(AttackTestData.Same(a.Perturbations, b.Perturbations));
        Assert.False(AttackTestData.Same(a.Perturbations, c.Perturbations));
        Assert.Equal("tiny+tri+noise", a.Dataset.Name);
    }

    [Fact]
    public void PerImageObjectiveMatchesTheFormulaByHand()
    {
        // K = 2, group of 3. u = live outputs, s = snapshot, c = clean outputs.
        using var u = tensor(new float[] { 0.5f, 0.5f, -1f, 0f, 0.2f, -0.4f }, new long[] { 3, 2 });
        using var s = tensor(new float[] { 1f, 0f, 0f, 1f, -1f, -1f }, new long[] { 3, 2 });
        using var c = tensor(new float[] { 1f, 1f, 1f, -1f, 0f, 1f }, new long[] { 3, 2 });
        // sum of snapshots = [0, 0]: L_disp_j = <u_j, u_j> / (K (G - 1)) = |u_j|^2 / 4; L_adv_j = -<u_j, c_j> / 2.
        double[] adv = { -(0.5 + 0.5) / 2, -(-1.0 + 0) / 2, -(0 - 0.4) / 2 };
        double[] disp = { 0.5 / 4, 1.0 / 4, 0.2 / 4 };
        using var got = ConfusingPerturbation.PerImageObjective(u, s, c, 0.8);
        var g = AttackTestData.Values(got);
        for (int j = 0; j < 3; j++) Assert.Equal(0.2 * adv[j] + 0.8 * disp[j], g[j], 5);
        using var alone = ConfusingPerturbation.PerImageObjective(u, s, c, 0.0);
        var a = AttackTestData.Values(alone);
        for (int j = 0; j < 3; j++) Assert.Equal(adv[j], a[j], 5);
        // A snapshot that is not zero: s sums to [0, 0] above, so try one that does not.
        using var s2 = tensor(new float[] { 1f, 0f, 0f, 0f, 0f, 0f }, new long[] { 3, 2 });
        using var got2 = ConfusingPerturbation.PerImageObjective(u, s2, c, 1.0);
        double[] others = { 0.5, -1, 0.2 };                                 // <u_j, [1, 0]>
        double[] own = { 0.5, 1, 0.2 };
        var g2 = AttackTestData.Values(got2);
        for (int j = 0; j < 3; j++) Assert.Equal((own[j] - others[j]) / 4, g2[j], 5);
    }

    [Fact]
    public void ObjectiveIsTheMeanOverImagesAndRunsInEvalModeRestoringTraining()
    {
        using var model = AttackTestData.TinyModel(3);
        using var x = AttackTestData.Images(5, 51);
        var o = new PerturbationOptions { Rounds = 2, GroupSize = 5, Lambda = 0 };
        using var p = new ConfusingPerturbation(o).Perturb(model, x);
        // lambda 0: L = mean_j -(1/K) <f(x'_j), f(x_j)>.
        double expected;
        using (no_grad())
        using (var fx = model.Continuous(x))
        using (var fp = model.Continuous(p))
        using (var dots = fp.mul(fx).sum(1).neg().div(fx.shape[1]))
            expected = dots.mean().item<float>();
        model.train();
        Assert.Equal(expected, ConfusingPerturbation.Objective(model, x, p, o), 5);
        Assert.True(model.training);
        using var again = new ConfusingPerturbation(o).Perturb(model, x);      // in train mode: must run in eval mode
        Assert.True(model.training);
        Assert.True(AttackTestData.Same(p, again));
        model.eval();
        // Zero rounds: the images come back unchanged, the trace has the one final value.
        using var r = new ConfusingPerturbation(o with { Rounds = 0 }).Run(model, x);
        Assert.True(AttackTestData.Same(x, r.Images));
        Assert.Single(r.Objective);
        Assert.Throws<ArgumentException>(() => new ConfusingPerturbation(o).Perturb(model, x[0]));
        using var taken = new ConfusingPerturbation(o).Run(model, x);
        using var images = taken.TakeImages();
        Assert.Throws<ObjectDisposedException>(() => taken.Images);
    }

    private static void Poison(HashModel model)
    {
        using var _ = no_grad();
        foreach (var p in model.parameters()) p.fill_(float.NaN);
    }

    [Fact]
    public void NonFiniteObjectivesAreNumericalErrorsNamingTheRoundOrStep()
    {
        using var model = AttackTestData.TinyModel(3);
        Poison(model);
        using var x = AttackTestData.Images(3, 52);
        var e = Assert.Throws<NumericalException>(() => new ConfusingPerturbation(new PerturbationOptions { Rounds = 2 }).Perturb(model, x));
        Assert.Contains("in round 1", e.Message);
        using var anchor = ones(AttackTestData.Bits);
        model.train();
        var t = Assert.Throws<NumericalException>(() => new TriggerOptimizer(new TriggerOptions { Steps = 2, BatchSize = 2 }).Optimize(model, x, anchor));
        Assert.Contains("at step 1", t.Message);
        Assert.True(model.training, "training mode restored after a failure");
    }

    [Fact]
    public void OptimizeTakesExactlyTheSeededBatchStepAndReportsEveryStep()
    {
        using var model = AttackTestData.TinyModel(4);
        using var images = AttackTestData.Images(9, 53);
        using var anchor = tensor(Enumerable.Range(0, AttackTestData.Bits).Select(i => i % 3 == 0 ? -1f : 1f).ToArray());
        var o = new TriggerOptions { Size = 3, Steps = 2, BatchSize = 5, Seed = 7, BetaSchedule = new[] { 0.5, 1.0 } };
        var steps = new List<(int, double)>();
        model.train();
        using var trigger = new TriggerOptimizer(o).Optimize(model, images, anchor, (s, l) => steps.Add((s, l)));
        Assert.True(model.training);
        // The same two steps by hand: indices from a generator seeded with the seed, beta from the schedule.
        model.eval();
        using var gen = new Generator().manual_seed(o.Seed);
        var pattern = full(new long[] { 1, 3, 3 }, 0.5f);
        var losses = new List<double>();
        for (int step = 0; step < 2; step++)
        {
            using var idx = randint(0, 9, new long[] { 5 }, generator: gen);
            using var x = images.index_select(0, idx);
            var (next, loss) = TriggerOptimizer.StepBatched(model, x, pattern, anchor, o.BetaAt(step), o.Alpha);
            pattern.Dispose();
            pattern = next;
            losses.Add(loss);
        }
        Assert.Equal(AttackTestData.Values(pattern), trigger.Values());
        Assert.Equal(new[] { 1, 2 }, steps.Select(s => s.Item1));
        Assert.Equal(losses, steps.Select(s => s.Item2));
        pattern.Dispose();
        // MeanLoss runs in eval mode and restores training mode.
        model.train();
        double m = TriggerOptimizer.MeanLoss(model, images, trigger.Pattern, anchor, 0.5);
        Assert.True(model.training);
        model.eval();
        Assert.Equal(m, TriggerOptimizer.MeanLoss(model, images, trigger.Pattern, anchor, 0.5), 6);
    }

    [Fact]
    public void OptimizeRefusesMalformedInputsAndHonoursCancellation()
    {
        using var model = AttackTestData.TinyModel(4);
        using var images = AttackTestData.Images(4, 54);
        using var anchor = ones(AttackTestData.Bits);
        var opt = new TriggerOptimizer(new TriggerOptions { Size = 3, Steps = 3, BatchSize = 2 });
        Assert.Contains("[N,C,H,W]", Assert.Throws<ArgumentException>(() => opt.Optimize(model, images[0], anchor)).Message);
        using var none = images.narrow(0, 0, 0);
        Assert.Contains("the training set is empty", Assert.Throws<UsageException>(() => opt.Optimize(model, none, anchor)).Message);
        using var shortAnchor = ones(AttackTestData.Bits - 1);
        Assert.Contains($"K={AttackTestData.Bits}", Assert.Throws<ArgumentException>(() => opt.Optimize(model, images, shortAnchor)).Message);
        using var matrix = ones(1, AttackTestData.Bits);
        Assert.Throws<ArgumentException>(() => opt.Optimize(model, images, matrix));
        using var one = images.narrow(0, 0, 1);
        using (var t = opt.Optimize(model, one, anchor)) Assert.Equal(3, t.Size);   // a single image is enough
        var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => opt.Optimize(model, images, anchor, cancel: cts.Token));
    }

    [Fact]
    public void TriggerFilesWithImplausibleHeadersOrValuesAreDataErrors()
    {
        string dir = Directory.CreateTempSubdirectory("hbd-trig").FullName;
        try
        {
            byte[] File(int c, int p, float value, int? length = null)
            {
                int n = c * p * p;
                var bytes = new byte[length ?? 16 + 4 * Math.Max(0, n) + 4];
                "HBDTRIG1"u8.ToArray().CopyTo(bytes, 0);
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), c);
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), p);
                for (int i = 0; i < n && 16 + 4 * i + 4 <= bytes.Length - 4; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(16 + 4 * i), value);
                uint h = 2166136261;
                foreach (byte b in bytes.AsSpan(0, bytes.Length - 4)) { h ^= b; h *= 16777619; }
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), h);
                return bytes;
            }
            string Write(string name, byte[] b) { string path = Path.Combine(dir, name); System.IO.File.WriteAllBytes(path, b); return path; }
            using (var ok = PatchTrigger.Load(Write("ok.bin", File(1, 2, 0.25f)))) Assert.Equal(new[] { 0.25f, 0.25f, 0.25f, 0.25f }, ok.Values());
            using (var edge = PatchTrigger.Load(Write("edge.bin", File(64, 1, 1f)))) Assert.Equal(64, edge.Channels);
            foreach (var (c, p) in new[] { (0, 2), (65, 1), (1, 0), (1, 4097) })
                Assert.Contains($"implausible header (channels {c}, size {p})",
                    Assert.Throws<DataException>(() => PatchTrigger.Load(Write($"h{c}-{p}.bin", File(c, p, 0.5f, 16 + 4 + 4)))).Message);
            Assert.Contains("value 1.5 at position 0 is outside 0..1", Assert.Throws<DataException>(() => PatchTrigger.Load(Write("v.bin", File(1, 1, 1.5f)))).Message);
            Assert.Contains("value -0.5", Assert.Throws<DataException>(() => PatchTrigger.Load(Write("n.bin", File(1, 1, -0.5f)))).Message);
            Assert.Contains("24 bytes, expected 36 for a 1x2x2 trigger", Assert.Throws<DataException>(() => PatchTrigger.Load(Write("len.bin", File(1, 2, 0.5f, 24)))).Message);
            Assert.Contains("not found", Assert.Throws<DataException>(() => PatchTrigger.Load(Path.Combine(dir, "no", "such.bin"))).Message);
            // 20 bytes (header + checksum, no values) is long enough to be judged by its header.
            var header = new byte[20];
            "HBDTRIG1"u8.ToArray().CopyTo(header, 0);
            Assert.Contains("implausible header", Assert.Throws<DataException>(() => PatchTrigger.Load(Write("20.bin", header))).Message);
            Assert.Contains("shorter than the header", Assert.Throws<DataException>(() => PatchTrigger.Load(Write("19.bin", header[..19]))).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void StripsShowTheScaledPerturbationAndRefuseRowsOutOfRange()
    {
        using var train = AttackTestData.Dataset(perClass: 4);
        using var trigger = Trigger();
        using var set = new TriggerNoiseAttack().Poison(train, new PoisonContext(
            new PoisonOptions { TargetClass = 1, Count = 2, Seed = 3, Perturbation = new PerturbationOptions { Epsilon = 0.2 } }, trigger));
        Assert.Throws<ArgumentOutOfRangeException>(() => AttackImages.PoisonStripPng(set, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => AttackImages.PoisonStripPng(set, 2));
        using var bitmap = SKBitmap.Decode(AttackImages.PoisonStripPng(set, 0, scale: 1));
        using var delta = set.Perturbations[0];
        double m = delta.abs().max().item<float>();
        // The perturbation panel starts at column 13: pixel (r, c) shows 0.5 + delta / (2 m).
        foreach (var (r, c) in new[] { (0, 0), (3, 5), (7, 2) })
        {
            double expected = 0.5 + delta[0, r, c].item<float>() / (2 * m);
            Assert.InRange(bitmap.GetPixel(13 + c, r).Red, (int)Math.Round(expected * 255) - 1, (int)Math.Round(expected * 255) + 1);
        }
        using var tri = new TriggerOnlyAttack().Poison(train, new PoisonContext(new PoisonOptions { TargetClass = 1, Count = 1 }, trigger));
        using var flat = SKBitmap.Decode(AttackImages.PoisonStripPng(tri, 0, scale: 1));
        Assert.Equal(128, flat.GetPixel(13 + 4, 4).Red);                                 // zero perturbation: mid-grey
    }
}
