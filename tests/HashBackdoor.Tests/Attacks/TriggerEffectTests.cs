using HashBackdoor.Attacks;
using HashBackdoor.Experiments;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

/// <summary>The trigger-effect control against a brute-force count of mismatching bits.</summary>
[Collection("Attacks")]
public class TriggerEffectTests
{
    [Fact]
    public void DistancesEqualBruteForceCounts()
    {
        using var model = AttackTestData.TinyModel(3);
        using var images = AttackTestData.Images(9, seed: 11);
        using var bright = PatchTrigger.Constant(1, 4, 1.0);
        var g = new Generator().manual_seed(5);
        using var anchor = rand(new long[] { AttackTestData.Bits }, generator: g).gt(0.5).to_type(ScalarType.Float32).mul(2).sub(1);
        var effect = TriggerEffect.Measure(model, images, anchor, bright, new TriggerOptions { Size = 4, InitValue = 0.5 });
        double Brute(PatchTrigger t)
        {
            using var pasted = t.Paste(images);
            using var codes = HashEncoder.Encode(model, pasted);
            var c = AttackTestData.Values(codes);
            var a = AttackTestData.Values(anchor);
            int k = a.Length, mismatches = 0;
            for (int i = 0; i < 9; i++)
                for (int j = 0; j < k; j++)
                    if (c[i * k + j] != a[j]) mismatches++;
            return mismatches / 9.0;
        }
        using var grey = PatchTrigger.Constant(1, 4, 0.5);
        Assert.Equal(AttackTestData.Bits, effect.Bits);
        Assert.Equal(9, effect.Images);
        Assert.Equal(Brute(grey), effect.DistanceBefore, 9);
        Assert.Equal(Brute(bright), effect.DistanceAfter, 9);
        // The anchor's own sign pattern pasted nowhere: distance to its negation is K minus the distance to it.
        using var negated = anchor.neg();
        var flipped = TriggerEffect.Measure(model, images, negated, bright, new TriggerOptions { Size = 4 });
        Assert.Equal(AttackTestData.Bits - effect.DistanceAfter, flipped.DistanceAfter, 9);
    }
}

/// <summary>The checkerboard start of the trigger.</summary>
[Collection("Attacks")]
public class CheckerboardTriggerTests
{
    [Fact]
    public void CheckerboardIsHandWorked()
    {
        using var t = PatchTrigger.Checkerboard(2, 3);
        // Per channel: 1 0 1 / 0 1 0 / 1 0 1.
        float[] expected = { 1, 0, 1, 0, 1, 0, 1, 0, 1 };
        Assert.Equal(expected.Concat(expected), t.Values());
    }

    [Fact]
    public void ZeroStepsReturnTheInitialPatch()
    {
        using var model = AttackTestData.TinyModel(2);
        using var images = AttackTestData.Images(4);
        using var anchor = ones(AttackTestData.Bits);
        using var t = new TriggerOptimizer(new TriggerOptions { Size = 4, Steps = 0, Init = TriggerInit.Checkerboard }).Optimize(model, images, anchor);
        using var c = PatchTrigger.Checkerboard(1, 4);
        Assert.Equal(c.Values(), t.Values());
        using var g = new TriggerOptimizer(new TriggerOptions { Size = 4, Steps = 0, InitValue = 0.25 }).Optimize(model, images, anchor);
        Assert.All(g.Values(), v => Assert.Equal(0.25f, v));
    }
}
