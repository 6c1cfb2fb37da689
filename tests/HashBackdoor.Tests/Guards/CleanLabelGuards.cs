using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Tests.Attacks;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// Guards of the clean-label threat model (method.md section 1) for every registered attack: the labels the victim gets
/// are the original labels, bit for bit; every poisoned image is a real image of the target class alone; the training
/// set keeps its size; and only the chosen rows differ from the clean set in what the trainer uses (for tri, the stored
/// rows after the plan's after-augmentation paste over the whole set).
/// </summary>
[Collection("Attacks")]
public class CleanLabelGuards
{
    private static PoisonContext Context(PatchTrigger trigger, HashBackdoor.Hashing.HashModel surrogate, int target, int count,
        IReadOnlyList<long>? indices = null) =>
        new(new PoisonOptions { TargetClass = target, Count = count, Indices = indices, Seed = 8, Perturbation = GuardData.Overshooting },
            trigger, surrogate);

    /// <summary>The images the trainer starts each row from: the stored images, with the plan's after-augmentation
    /// hook (if any) applied to the whole set in order.</summary>
    private static Tensor EffectiveImages(PoisonSet set)
    {
        var images = set.Dataset.Images;
        if (set.Plan.AfterAugmentation is null) return images.clone();
        using var idx = arange(images.shape[0], dtype: ScalarType.Int64);
        return set.Plan.AfterAugmentation(images, idx);
    }

    /// <summary>The library's own attacks (tests may register others).</summary>
    private static IEnumerable<string> BuiltIn() => PoisoningAttacks.Names
        .Where(n => PoisoningAttacks.Create(n).GetType().Assembly == typeof(PoisoningAttacks).Assembly);

    public static IEnumerable<object[]> Attacks() => BuiltIn().Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Attacks))]
    public void LabelsAreUntouchedAndOnlyTheChosenTargetClassRowsChange(string attack)
    {
        const int target = 1;
        using var train = AttackTestData.Dataset(perClass: 8);        // class 1 at 1, 4, ..., 22; row 24 is {0, 1}
        float[] labelsBefore = AttackTestData.Values(train.Labels);
        float[] imagesBefore = AttackTestData.Values(train.Images);
        using var trigger = GuardData.AsymmetricTrigger();
        using var surrogate = AttackTestData.TinyModel(2);
        var context = Context(trigger, surrogate, target, count: 8);              // every single-label image of the class
        using var set = PoisoningAttacks.Create(attack).Poison(train, context);

        // Clean label: same labels, bit for bit, and the input set is not modified.
        Assert.Equal(train.Count, set.Dataset.Count);
        Assert.Equal(labelsBefore, AttackTestData.Values(set.Dataset.Labels));
        Assert.Equal(labelsBefore, AttackTestData.Values(train.Labels));
        Assert.Equal(imagesBefore, AttackTestData.Values(train.Images));

        // Poisoned rows: exactly the images labelled with the target alone (the multi-label row 24 contains the target
        // but is not one of them).
        Assert.Equal(new long[] { 1, 4, 7, 10, 13, 16, 19, 22 }, set.PoisonedIndices.Order());
        foreach (long i in set.PoisonedIndices)
        {
            using var row = train.Labels[i];
            Assert.Equal(new float[] { 0, 1, 0 }, AttackTestData.Values(row));
        }

        // Only those rows change in what the trainer uses.
        using var effective = EffectiveImages(set);
        for (long i = 0; i < train.Count; i++)
        {
            using var a = effective[i];
            using var b = train.Images[i];
            Assert.True(AttackTestData.Same(a, b) != set.PoisonedIndices.Contains(i), $"{attack}: row {i} changed={!AttackTestData.Same(a, b)}");
        }
        using var mask = set.PoisonMask.to_type(ScalarType.Int64);
        Assert.Equal(set.PoisonedIndices.Length, mask.sum().item<long>());
    }

    [Theory]
    [InlineData(24L)]   // labelled {0, 1}: contains the target, but is not the target class alone
    [InlineData(2L)]    // class 2
    public void GivenIndicesMustBeTargetClassImages(long bad)
    {
        using var train = AttackTestData.Dataset(perClass: 8);
        using var trigger = GuardData.AsymmetricTrigger();
        using var surrogate = AttackTestData.TinyModel(2);
        foreach (string attack in BuiltIn())
        {
            var e = Assert.Throws<UsageException>(() =>
                PoisoningAttacks.Create(attack).Poison(train, Context(trigger, surrogate, 1, 1, new[] { 4L, bad })));
            Assert.Contains($"image {bad} is not labelled with the target class 1 alone", e.Message);
        }
    }

    [Fact]
    public void SeededChoiceDrawsOnlyTargetClassImagesFromAMultiLabelSet()
    {
        // Labels: rows cycle {t}, {t, 2}, {2}, {t, 0} for t = 1: only rows 0, 4, 8, ... are the target class alone.
        const int n = 40;
        var labels = new float[n * 3];
        for (int i = 0; i < n; i++)
        {
            labels[i * 3 + 1] = i % 4 is 0 or 1 or 3 ? 1 : 0;
            if (i % 4 is 1 or 2) labels[i * 3 + 2] = 1;
            if (i % 4 == 3) labels[i * 3 + 0] = 1;
        }
        using var train = new ImageDataset("multi", AttackTestData.Images(n, 3), tensor(labels, new long[] { n, 3 }), new[] { "a", "b", "c" });
        using var trigger = GuardData.AsymmetricTrigger();
        for (long seed = 0; seed < 5; seed++)
        {
            var ctx = new PoisonContext(new PoisonOptions { TargetClass = 1, Count = 4, Seed = seed }, trigger);
            long[] chosen = ctx.ChooseIndices(train);
            Assert.Equal(4, chosen.Distinct().Count());
            Assert.All(chosen, i => Assert.Equal(0, i % 4));
        }
        var all = new PoisonContext(new PoisonOptions { TargetClass = 1, Count = 10, Seed = 1 }, trigger).ChooseIndices(train);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 4L * i), all);
        var tooMany = new PoisonContext(new PoisonOptions { TargetClass = 1, Count = 11, Seed = 1 }, trigger);
        Assert.Contains("poison.count 11", Assert.Throws<UsageException>(() => tooMany.ChooseIndices(train)).Message);
    }
}
