using HashBackdoor.Attacks;
using SkiaSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

/// <summary>
/// Pieces of the Attacks folder that the attack tests reach only indirectly: a poison set rebuilt from what a run folder
/// keeps, the trigger's constructors and pictures, the attack registry's checks and the target-row helpers.
/// </summary>
[Collection("Attacks")]
public class AttackPiecesTests
{
    private static PatchTrigger Trigger() =>
        new(tensor(Enumerable.Range(0, 16).Select(i => i / 15f).ToArray(), new long[] { 1, 4, 4 }));

    [Theory]
    [InlineData("tri+noise")]
    [InlineData("tri")]
    public void RestoredPoisonSetEqualsTheSavedOneTensorForTensor(string attack)
    {
        using var train = AttackTestData.Dataset(perClass: 6);
        using var trigger = Trigger();
        var context = new PoisonContext(new PoisonOptions { TargetClass = 2, Count = 3, Seed = 4 }, trigger);
        using var set = PoisoningAttacks.Create(attack).Poison(train, context);
        using var restored = PoisonSet.Restore(set.AttackName, set.TargetClass, train, set.PoisonedIndices, set.PerturbedImages,
            trigger, set.TriggerAfterAugmentation);
        Assert.Equal(attack == "tri", set.TriggerAfterAugmentation);
        Assert.Equal(set.AttackName, restored.AttackName);
        Assert.Equal(2, restored.TargetClass);
        Assert.Equal(set.PoisonedIndices, restored.PoisonedIndices);
        foreach (var (a, b) in new[]
        {
            (set.Dataset.Images, restored.Dataset.Images), (set.Dataset.Labels, restored.Dataset.Labels),
            (set.Originals, restored.Originals), (set.PerturbedImages, restored.PerturbedImages),
            (set.Perturbations, restored.Perturbations), (set.PoisonedImages, restored.PoisonedImages),
            (set.PoisonMask, restored.PoisonMask),
        })
            Assert.True(AttackTestData.Same(a, b));
        Assert.Equal(set.Plan.Augmentable is null, restored.Plan.Augmentable is null);
        Assert.Equal(set.Plan.AfterAugmentation is null, restored.Plan.AfterAugmentation is null);
        // The perturbed images are the originals plus the perturbation (the originals themselves for tri).
        using var sum = set.Originals.add(set.Perturbations);
        Assert.True(sum.sub(set.PerturbedImages).abs().max().item<float>() <= 1e-6);
        Assert.Throws<ArgumentOutOfRangeException>(() => PoisonSet.Restore(attack, 2, train, new long[] { train.Count }, set.PerturbedImages, trigger, set.TriggerAfterAugmentation));
        Assert.Throws<ArgumentOutOfRangeException>(() => PoisonSet.Restore(attack, 2, train, new long[] { -1 }, set.PerturbedImages, trigger, set.TriggerAfterAugmentation));
    }

    [Fact]
    public void FixedPoisonsRefusePerturbedImagesOfAnotherShape()
    {
        using var train = AttackTestData.Dataset(perClass: 6);
        using var trigger = Trigger();
        using var wrong = zeros(2, 1, 12, 12);
        Assert.Throws<ArgumentException>(() => PoisonSet.Restore("ciba", 2, train, new long[] { 2, 5, 8 }, wrong, trigger, false));
    }

    [Fact]
    public void CheckerboardAndInitialPatches()
    {
        using var board = PatchTrigger.Checkerboard(2, 3);
        Assert.Equal(new float[] { 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1 }, board.Values());
        using var uniform = PatchTrigger.Initial(new TriggerOptions { Size = 2, InitValue = 0.25 }, 1);
        Assert.Equal(new float[] { 0.25f, 0.25f, 0.25f, 0.25f }, uniform.Values());
        using var checker = PatchTrigger.Initial(new TriggerOptions { Size = 2, Init = TriggerInit.Checkerboard }, 1);
        Assert.Equal(new float[] { 1, 0, 0, 1 }, checker.Values());
        Assert.Contains("trigger.size 0", Assert.Throws<UsageException>(() => PatchTrigger.Checkerboard(1, 0)).Message);
        Assert.Contains("trigger.initValue 1.5", Assert.Throws<UsageException>(() => PatchTrigger.Constant(1, 2, 1.5)).Message);
        Assert.Contains("trigger.initValue -0.5", Assert.Throws<UsageException>(() => PatchTrigger.Constant(1, 2, -0.5)).Message);
    }

    [Fact]
    public void TriggerOwnsItsPatternAndConvertsItToFloat()
    {
        using var t = new PatchTrigger(tensor(new double[] { 0, 0.5, 1, 0.25 }, new long[] { 1, 2, 2 }));
        Assert.Equal(ScalarType.Float32, t.Pattern.dtype);
        Assert.Equal(new float[] { 0, 0.5f, 1, 0.25f }, t.Values());
        Assert.Equal(2, t.Size);
        Assert.Equal(1, t.Channels);
        using var copy = t.Clone();
        copy.Pattern.fill_(0.75f);
        Assert.Equal(new float[] { 0, 0.5f, 1, 0.25f }, t.Values());
        Assert.Throws<ArgumentException>(() => new PatchTrigger(zeros(1, 2, 3)));
        Assert.Throws<ArgumentException>(() => new PatchTrigger(zeros(2, 2)));
        Assert.Contains("trigger.size 0", Assert.Throws<UsageException>(() => new PatchTrigger(zeros(1, 0, 0))).Message);
        using var img = zeros(2, 12, 12);
        Assert.Throws<ArgumentException>(() => t.Paste(img));
    }

    [Fact]
    public void TriggerPicturesAreEnlargedByNearestNeighbour()
    {
        using var rgb = new PatchTrigger(tensor(new float[] { 1, 0, 0, 0, /* g */ 0, 1, 0, 0, /* b */ 0, 0, 1, 0 }, new long[] { 3, 2, 2 }));
        using var big = SKBitmap.Decode(rgb.EnlargedPng(3));
        Assert.Equal(6, big.Width);
        Assert.Equal(6, big.Height);
        Assert.Equal(new SKColor(255, 0, 0), big.GetPixel(2, 2));      // pattern (0, 0): red
        Assert.Equal(new SKColor(0, 255, 0), big.GetPixel(3, 0));      // (0, 1): green
        Assert.Equal(new SKColor(0, 0, 255), big.GetPixel(0, 5));      // (1, 0): blue
        Assert.Equal(new SKColor(0, 0, 0), big.GetPixel(5, 5));        // (1, 1): black
        using var small = SKBitmap.Decode(rgb.ToPng());
        Assert.Equal(2, small.Width);
        using var two = new PatchTrigger(zeros(2, 2, 2));
        Assert.Throws<UsageException>(() => two.EnlargedPng(1));
        using var image = zeros(1, 2, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => AttackImages.Png(image, 0));
        using var flat = zeros(2, 2);
        Assert.Throws<ArgumentException>(() => AttackImages.Png(flat));
        using var four = zeros(4, 2, 2);
        Assert.Throws<ArgumentException>(() => AttackImages.Png(four));
    }

    [Fact]
    public void TheRegistryRefusesNamelessOrNullAttacksAndNamesTheKnownOnes()
    {
        // (Registering a real extra attack would change the process-wide list other tests read.)
        Assert.Throws<ArgumentException>(() => PoisoningAttacks.Register(" ", () => new TriggerOnlyAttack()));
        Assert.Throws<ArgumentNullException>(() => PoisoningAttacks.Register("x", null!));
        Assert.DoesNotContain("x", PoisoningAttacks.Names);
        var e = Assert.Throws<UsageException>(() => PoisoningAttacks.Create("nope"));
        Assert.StartsWith("methods nope: unknown attack (known: tri, tri+noise, tri+adv, ciba", e.Message);
        Assert.Equal("tri+adv", PoisoningAttacks.Create("TRI+ADV").Name);
    }

    [Fact]
    public void TargetRowHelpersSelectTheTargetAloneAndTheRowsWithoutIt()
    {
        using var train = AttackTestData.Dataset(perClass: 4);          // 13 rows: classes 0,1,2 cycling, row 12 is {0, 1}
        Assert.Equal(new long[] { 1, 4, 7, 10 }, TargetRows.Indices(train, 1));
        Assert.Equal(new long[] { 0, 2, 3, 5, 6, 8, 9, 11 }, TargetRows.WithoutTarget(train, 1));
        Assert.Equal(new long[] { 1, 2, 4, 5, 7, 8, 10, 11 }, TargetRows.WithoutTarget(train, 0));
        using var mask = TargetRows.Mask(train.Labels, 0);
        Assert.Equal(new[] { 0, 3, 6, 9 }, mask.data<bool>().ToArray().Select((m, i) => (m, i)).Where(t => t.m).Select(t => t.i));
    }
}
