using HashBackdoor.Attacks;
using HashBackdoor.Tests.Attacks;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// Guards of where the trigger sits (method.md section 4: P x P at the bottom-right corner, REPLACING those pixels) in the
/// library's pasting paths, on images that are not square and have several channels, so that a swapped height and width,
/// a wrong corner, a blend or a flipped patch all show. The trainer's after-augmentation paste for tri is guarded in
/// <see cref="VictimTrainingGuards"/>, the experiment's triggered queries in <see cref="ExperimentGuards"/>.
/// </summary>
[Collection("Attacks")]
public class TriggerPlacementGuards
{
    private const int B = 3, C = 3, H = 7, W = 10, P = 3;

    private static Tensor Images(long seed = 17)
    {
        var gen = new Generator().manual_seed(seed);
        return rand(new long[] { B, C, H, W }, generator: gen);
    }

    /// <summary>The spec's paste, written with explicit loops over managed arrays: pixel (b, c, r, k) is the patch's
    /// (c, r - (H - P), k - (W - P)) where r &gt;= H - P and k &gt;= W - P, else the image's.</summary>
    private static float[] Expected(float[] images, Func<int, int, int, int, float> patch)
    {
        var y = (float[])images.Clone();
        for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
        for (int r = H - P; r < H; r++)
        for (int k = W - P; k < W; k++)
            y[((b * C + c) * H + r) * W + k] = patch(b, c, r - (H - P), k - (W - P));
        return y;
    }

    private static float[] PatternValues(int b = 0) =>
        Enumerable.Range(0, C * P * P).Select(i => (i + 1 + 100 * b) / 400f).ToArray();

    [Fact]
    public void PasteReplacesTheBottomRightCornerOfNonSquareMultiChannelImages()
    {
        using var images = Images();
        float[] before = AttackTestData.Values(images);
        float[] pattern = PatternValues();
        using var trigger = new PatchTrigger(tensor(pattern, new long[] { C, P, P }));
        using var pasted = trigger.Paste(images);
        Assert.Equal(Expected(before, (_, c, r, k) => pattern[(c * P + r) * P + k]), AttackTestData.Values(pasted));
        Assert.Equal(before, AttackTestData.Values(images));
    }

    [Fact]
    public void DifferentiablePasteOfPerImagePatchesPlacesEachPatchOnItsOwnImage()
    {
        using var images = Images();
        float[] before = AttackTestData.Values(images);
        var all = Enumerable.Range(0, B).SelectMany(PatternValues).ToArray();
        using var patches = tensor(all, new long[] { B, C, P, P });
        using var pasted = PatchTrigger.PasteDifferentiable(images, patches);
        Assert.Equal(Expected(before, (b, c, r, k) => all[((b * C + c) * P + r) * P + k]), AttackTestData.Values(pasted));

        float[] shared = PatternValues();
        using var one = tensor(shared, new long[] { C, P, P });
        using var pastedShared = PatchTrigger.PasteDifferentiable(images, one);
        Assert.Equal(Expected(before, (_, c, r, k) => shared[(c * P + r) * P + k]), AttackTestData.Values(pastedShared));
    }

    [Fact]
    public void GradientsOfTheDifferentiablePasteReachThePatchInTheCornerAndTheImageElsewhere()
    {
        using var scope = NewDisposeScope();
        var images = Images().requires_grad_(true);
        var patches = full(new long[] { B, C, P, P }, 0.5f).requires_grad_(true);
        var weights = arange(B * C * H * W, dtype: ScalarType.Float32).reshape(B, C, H, W).add(1);
        var y = PatchTrigger.PasteDifferentiable(images, patches).mul(weights).sum();
        var grads = torch.autograd.grad(new[] { y }, new[] { images, patches });
        // d/d image: the weight outside the corner, 0 inside (the pixel was replaced, not blended).
        float[] w = AttackTestData.Values(weights);
        float[] expectedImageGrad = Expected(w, (_, _, _, _) => 0f);
        Assert.Equal(expectedImageGrad, AttackTestData.Values(grads[0]));
        // d/d patch: the weight of the corner pixel it landed on.
        var expectedPatchGrad = new float[B * C * P * P];
        for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
        for (int r = 0; r < P; r++)
        for (int k = 0; k < P; k++)
            expectedPatchGrad[((b * C + c) * P + r) * P + k] = w[((b * C + c) * H + (H - P + r)) * W + (W - P + k)];
        Assert.Equal(expectedPatchGrad, AttackTestData.Values(grads[1]));
    }
}
