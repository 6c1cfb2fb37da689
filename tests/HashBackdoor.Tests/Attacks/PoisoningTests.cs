using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

[Collection("Attacks")]
public class PoisoningTests
{
    private static readonly PerturbationOptions FastPerturbation = new() { Rounds = 3, GroupSize = 2 };

    private static PoisonContext Context(PatchTrigger trigger, HashModel? surrogate, int count = 3, long seed = 5, int target = 1) =>
        new(new PoisonOptions { TargetClass = target, Count = count, Seed = seed, Perturbation = FastPerturbation }, trigger, surrogate);

    private static PatchTrigger Trigger() =>
        new(tensor(Enumerable.Range(0, 16).Select(i => i / 15f).ToArray(), new long[] { 1, 4, 4 }));

    private static bool RowsEqual(Tensor a, Tensor b, long i)
    {
        using var x = a[i];
        using var y = b[i];
        return AttackTestData.Same(x, y);
    }

    [Fact]
    public void RegistryKnowsTheFourAttacks()
    {
        Assert.Equal(new[] { "tri", "tri+noise", "tri+adv", "ciba" }, PoisoningAttacks.Names.Take(4));
        Assert.IsType<TriggerOnlyAttack>(PoisoningAttacks.Create("tri"));
        Assert.IsType<TriggerNoiseAttack>(PoisoningAttacks.Create("tri+noise"));
        Assert.IsType<TriggerAdversarialAttack>(PoisoningAttacks.Create("tri+adv"));
        Assert.IsType<CibaAttack>(PoisoningAttacks.Create("CIBA"));
        var e = Assert.Throws<UsageException>(() => PoisoningAttacks.Create("badnets"));
        Assert.Contains("methods badnets", e.Message);
        Assert.Contains("ciba", e.Message);
    }

    [Fact]
    public void ChoosesSeededDistinctTargetClassImages()
    {
        using var train = AttackTestData.Dataset(perClass: 8);        // class 1 at indices 1, 4, 7, ..., 22; index 24 is {0,1}
        using var trigger = Trigger();
        long[] a = Context(trigger, null, count: 5, seed: 9).ChooseIndices(train);
        long[] b = Context(trigger, null, count: 5, seed: 9).ChooseIndices(train);
        Assert.Equal(a, b);
        Assert.Equal(5, a.Distinct().Count());
        Assert.Equal(a.OrderBy(i => i), a);
        Assert.All(a, i => Assert.Equal(1, i % 3));
        Assert.DoesNotContain(24L, a);
        var seeds = Enumerable.Range(0, 6).Select(s => string.Join(",", Context(trigger, null, count: 5, seed: s).ChooseIndices(train)));
        Assert.True(seeds.Distinct().Count() > 1);
        long[] all = Context(trigger, null, count: 8).ChooseIndices(train);
        Assert.Equal(new long[] { 1, 4, 7, 10, 13, 16, 19, 22 }, all);
    }

    [Fact]
    public void PoisonCountAndTargetAreValidated()
    {
        using var train = AttackTestData.Dataset(perClass: 8);
        using var trigger = Trigger();
        var tooMany = Assert.Throws<UsageException>(() => Context(trigger, null, count: 9, target: 2).ChooseIndices(train));
        Assert.Equal("poison.count 9: the target class 2 has only 8 training images", tooMany.Message);
        Assert.Contains("poison.count 0", Assert.Throws<UsageException>(() => Context(trigger, null, count: 0).ChooseIndices(train)).Message);
        Assert.Contains("targets 3", Assert.Throws<UsageException>(() => Context(trigger, null, target: 3).ChooseIndices(train)).Message);
        var ctx = new PoisonContext(new PoisonOptions { TargetClass = 1, Indices = new long[] { 4, 2 } }, trigger);
        Assert.Contains("poison indices: image 2 ", Assert.Throws<UsageException>(() => ctx.ChooseIndices(train)).Message);
        var given = new PoisonContext(new PoisonOptions { TargetClass = 1, Indices = new long[] { 7, 4 } }, trigger);
        Assert.Equal(new long[] { 7, 4 }, given.ChooseIndices(train));
        // eps is checked by the attacks that use it (the noise attack here; the confusing perturbation for adv and ciba).
        var badEps = new PoisonContext(new PoisonOptions { TargetClass = 1, Count = 3, Perturbation = new PerturbationOptions { Epsilon = 1.2 } }, trigger);
        Assert.Contains("perturbation.epsilon 1.2", Assert.Throws<UsageException>(() => new TriggerNoiseAttack().Poison(train, badEps)).Message);
        using var big = PatchTrigger.Constant(1, 13);
        Assert.Contains("trigger.size 13", Assert.Throws<UsageException>(() =>
            new TriggerNoiseAttack().Poison(train, Context(big, null))).Message);
        Assert.Contains("surrogate", Assert.Throws<UsageException>(() =>
            new CibaAttack().Poison(train, Context(trigger, null))).Message);
    }

    [Theory]
    [InlineData("tri+noise")]
    [InlineData("tri+adv")]
    [InlineData("ciba")]
    public void FixedPoisonsReplaceOnlyTheChosenRows(string name)
    {
        using var train = AttackTestData.Dataset(perClass: 6);
        using var trigger = Trigger();
        using var model = AttackTestData.TinyModel(2);
        var ctx = Context(trigger, model, count: 3);
        using var set = PoisoningAttacks.Create(name).Poison(train, ctx);
        long[] chosen = ctx.ChooseIndices(train);

        Assert.Equal(name, set.AttackName);
        Assert.Equal(chosen, set.PoisonedIndices);
        Assert.Equal(train.Count, set.Dataset.Count);
        Assert.True(AttackTestData.Same(set.Dataset.Labels, train.Labels));
        for (long i = 0; i < train.Count; i++)
            Assert.Equal(!chosen.Contains(i), RowsEqual(set.Dataset.Images, train.Images, i));

        // Poisoned rows: the trigger in the corner, the perturbation within eps elsewhere, images within 0..1.
        using var corner = set.PoisonedImages.narrow(2, 8, 4).narrow(3, 8, 4);
        using var expectedCorner = trigger.Pattern.unsqueeze(0).expand(3, -1, -1, -1);
        Assert.True(AttackTestData.Same(corner, expectedCorner));
        using var maxDelta = set.Perturbations.abs().max();
        Assert.True(maxDelta.item<float>() <= FastPerturbation.Epsilon + 1e-6);
        Assert.True(maxDelta.item<float>() > 0);
        using var stored = set.Dataset.Images.index_select(0, tensor(chosen));
        Assert.True(AttackTestData.Same(stored, set.PoisonedImages));
        using var recomposed = trigger.Paste(set.Originals.add(set.Perturbations));
        using var gap = recomposed.sub(set.PoisonedImages).abs().max();
        Assert.True(gap.item<float>() <= 1e-6);
        Assert.All(AttackTestData.Values(set.Dataset.Images), v => Assert.InRange(v, 0f, 1f));

        // Plan: the poisoned rows are not augmented, every other row is; no after-augmentation hook.
        Assert.NotNull(set.Plan.Augmentable);
        var augmentable = set.Plan.Augmentable!.data<bool>().ToArray();
        for (int i = 0; i < train.Count; i++) Assert.Equal(!chosen.Contains(i), augmentable[i]);
        Assert.Null(set.Plan.AfterAugmentation);
    }

    [Fact]
    public void TriKeepsCleanImagesAndPastesAfterAugmentation()
    {
        using var train = AttackTestData.Dataset(perClass: 6);
        using var trigger = Trigger();
        var ctx = Context(trigger, null, count: 2);
        using var set = new TriggerOnlyAttack().Poison(train, ctx);
        long[] chosen = ctx.ChooseIndices(train);
        Assert.True(AttackTestData.Same(set.Dataset.Images, train.Images));
        Assert.True(AttackTestData.Same(set.Dataset.Labels, train.Labels));
        Assert.Null(set.Plan.Augmentable);
        Assert.NotNull(set.Plan.AfterAugmentation);
        using var zero = set.Perturbations.abs().max();
        Assert.Equal(0f, zero.item<float>());

        // A batch of rows [chosen[1], 0, chosen[0], 2] (as augmented): only the chosen rows get the trigger.
        long[] rows = { chosen[1], 0, chosen[0], 2 };
        using var idx = tensor(rows);
        using var batch = train.Images.index_select(0, idx).flip(3);      // stands for augmentation
        using var after = set.Plan.AfterAugmentation!(batch, idx);
        using var pasted = trigger.Paste(batch);
        for (int r = 0; r < rows.Length; r++)
            Assert.True(RowsEqual(after, chosen.Contains(rows[r]) ? pasted : batch, r), $"batch row {r}");

        // The trainer accepts the plan (one tiny epoch).
        using var model = new HashModel(new HashModelSpec("small-cnn", AttackTestData.Bits, 1, AttackTestData.Side, AttackTestData.Side, AttackTestData.Classes));
        new HashTrainer(new HashTrainerOptions { Loss = "pairwise-k", Epochs = 1, BatchSize = 8 }).Train(model, set.Dataset.Images, set.Dataset.Labels, set.Plan);
    }

    [Theory]
    [InlineData("tri+noise")]
    [InlineData("ciba")]
    public void SameSeedGivesIdenticalPoison(string name)
    {
        using var train = AttackTestData.Dataset(perClass: 6);
        using var trigger = Trigger();
        using var model = AttackTestData.TinyModel(2);
        var attack = PoisoningAttacks.Create(name);
        using var a = attack.Poison(train, Context(trigger, model, count: 3, seed: 11));
        using var b = attack.Poison(train, Context(trigger, model, count: 3, seed: 11));
        using var c = attack.Poison(train, Context(trigger, model, count: 3, seed: 12));
        Assert.Equal(a.PoisonedIndices, b.PoisonedIndices);
        Assert.True(AttackTestData.Same(a.Dataset.Images, b.Dataset.Images));
        Assert.False(AttackTestData.Same(a.Dataset.Images, c.Dataset.Images));
    }

    [Theory]
    [InlineData("tri+adv")]
    [InlineData("ciba")]
    public void ConfusingPerturbationsStopWhenCancelled(string name)
    {
        using var train = AttackTestData.Dataset(perClass: 6);
        using var trigger = Trigger();
        using var model = AttackTestData.TinyModel(2);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var context = Context(trigger, model) with { Cancellation = cts.Token };
        Assert.ThrowsAny<OperationCanceledException>(() => PoisoningAttacks.Create(name).Poison(train, context));
        // The same context without the cancelled token poisons.
        using var set = PoisoningAttacks.Create(name).Poison(train, context with { Cancellation = default });
        Assert.Equal(3, set.PoisonedIndices.Length);
    }

    [Fact]
    public void PerturbThenPasteAttacksShareOneBase()
    {
        foreach (var name in new[] { "tri+noise", "tri+adv", "ciba" })
            Assert.IsAssignableFrom<PerturbThenPasteAttack>(PoisoningAttacks.Create(name));
        Assert.IsNotAssignableFrom<PerturbThenPasteAttack>(PoisoningAttacks.Create("tri"));
    }

    [Fact]
    public void ReportStripShowsOriginalPerturbationAndPoisonedImage()
    {
        using var train = AttackTestData.Dataset(perClass: 4);
        using var trigger = Trigger();
        using var set = new TriggerNoiseAttack().Poison(train, Context(trigger, null, count: 2));
        using var bitmap = SkiaSharp.SKBitmap.Decode(AttackImages.PoisonStripPng(set, 1, scale: 2));
        Assert.Equal((3 * 12 + 2) * 2, bitmap.Width);
        Assert.Equal(12 * 2, bitmap.Height);
        Assert.Equal(255, bitmap.GetPixel(24, 5).Red);                           // the white gap after the original
        using var poisoned = set.PoisonedImages[1];
        Assert.Equal(255, bitmap.GetPixel(2 * (2 * 13 + 11), 2 * 11).Red);       // trigger's last pixel is 1.0
        Assert.Equal((byte)Math.Round(poisoned[0, 0, 0].item<float>() * 255), bitmap.GetPixel(2 * 26, 0).Red);
    }

    [Fact]
    public void PoisonSetOutlivesTheCallersTrigger()
    {
        using var train = AttackTestData.Dataset(perClass: 4);
        PoisonSet set;
        using (var trigger = Trigger())
            set = new TriggerOnlyAttack().Poison(train, Context(trigger, null, count: 1));
        using (set)
        using (var idx = tensor(set.PoisonedIndices))
        using (var batch = train.Images.index_select(0, idx))
        using (var after = set.Plan.AfterAugmentation!(batch, idx))
        using (var corner = after.narrow(2, 8, 4).narrow(3, 8, 4).reshape(-1))
            Assert.Equal(1f, corner[15].item<float>());
    }
}
