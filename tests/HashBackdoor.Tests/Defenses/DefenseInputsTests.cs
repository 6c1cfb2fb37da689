using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Defenses;
using HashBackdoor.Hashing;
using HashBackdoor.Tests.Attacks;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Defenses;

/// <summary><see cref="DefenseInputs"/>: the images as the victim saw them, and the training plan of a kept subset for
/// both placements (fixed rows not augmented; Tri's trigger pasted after augmentation on the kept poisoned rows only).</summary>
public class DefenseInputsTests
{
    private static DefenseInputs Make(ImageDataset train, PatchTrigger trigger, PoisonPlacement placement, Tensor poisoned) => new()
    {
        Victim = null!, TargetClass = 0, Train = train, PoisonIndices = new long[] { 1, 4 }, PoisonedImages = poisoned,
        Placement = placement, Trigger = trigger, Query = train, Database = train,
    };

    [Fact]
    public void FixedPlacementKeepsPoisonedRowsOutOfAugmentation()
    {
        using var train = AttackTestData.Dataset(perClass: 2);
        using var trigger = PatchTrigger.Constant(1, 3, 1.0);
        using var poisoned = zeros(2, 1, 12, 12).add(0.25);
        var inputs = Make(train, trigger, PoisonPlacement.Fixed, poisoned);
        using var seen = inputs.SeenTrainingImages();
        Assert.True(AttackTestData.Same(seen[1], poisoned[0]));
        Assert.True(AttackTestData.Same(seen[4], poisoned[1]));
        Assert.True(AttackTestData.Same(seen[0], train.Images[0]));
        var (set, plan) = inputs.TrainingSubset(new long[] { 0, 1, 2, 4 });
        using (set)
        using (plan.Augmentable)
        {
            Assert.Equal(4, set.Count);
            Assert.Equal(new[] { true, false, true, false }, plan.Augmentable!.data<bool>().ToArray());
            Assert.Null(plan.AfterAugmentation);
        }
        Assert.Equal(new[] { false, true, false, false, true, false, false }, inputs.PoisonMask());
    }

    [Fact]
    public void TriPlacementPastesTheTriggerOnKeptPoisonedRowsAfterAugmentation()
    {
        using var train = AttackTestData.Dataset(perClass: 2);
        using var trigger = PatchTrigger.Constant(1, 3, 1.0);
        using var idx = tensor(new long[] { 1, 4 });
        using var originals = train.Images.index_select(0, idx);
        using var poisoned = trigger.Paste(originals);
        var inputs = Make(train, trigger, PoisonPlacement.PastedAfterAugmentation, poisoned);
        var (set, plan) = inputs.TrainingSubset(new long[] { 0, 1, 2, 4 });
        using (set)
        {
            // A batch of subset rows 3, 0, 1 (training rows 4, 0, 1): rows 4 and 1 get the trigger, row 0 does not.
            using var batchIdx = tensor(new long[] { 3, 0, 1 });
            using var batch = set.Images.index_select(0, batchIdx);
            using var outp = plan.AfterAugmentation!(batch, batchIdx);
            Assert.True(AttackTestData.Same(outp[0], trigger.Paste(batch.narrow(0, 0, 1))[0]));
            Assert.True(AttackTestData.Same(outp[1], batch[1]));
            Assert.True(AttackTestData.Same(outp[2], trigger.Paste(batch.narrow(0, 2, 1))[0]));
        }
    }
}
