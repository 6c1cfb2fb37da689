using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// PNG pictures of attack artefacts for reports: single images, and strips showing a poisoned image next to its original
/// and its perturbation. Enlargement is nearest neighbour (each pixel becomes a scale x scale block), so small images
/// and 4x4 triggers stay crisp.
/// </summary>
public static class AttackImages
{
    /// <summary>PNG of one image float [C, H, W] in 0..1 (C = 1: grey, C = 3: RGB), enlarged <paramref name="scale"/> times
    /// (<see cref="TensorPng.Encode"/>).</summary>
    public static byte[] Png(Tensor image, int scale = 1) => TensorPng.Encode(image, scale);

    /// <summary>
    /// A strip for row <paramref name="row"/> of <paramref name="set"/>: original | perturbation | poisoned image, separated
    /// by white gaps of one pixel (before enlargement). The perturbation is drawn as <c>0.5 + delta / (2 m)</c> with m the
    /// largest |delta| of that image (mid-grey: unchanged pixel; black and white: -m and +m); an all-zero perturbation
    /// (tri) is plain mid-grey.
    /// </summary>
    public static byte[] PoisonStripPng(PoisonSet set, int row, int scale = 4)
    {
        if (row < 0 || row >= set.PoisonedIndices.Length)
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the set has {set.PoisonedIndices.Length} poisoned images");
        using var scope = NewDisposeScope();
        var original = set.Originals[row].cpu();
        var delta = set.Perturbations[row].cpu();
        var poisoned = set.PoisonedImages[row].cpu();
        double m = delta.abs().max().item<float>();
        var shown = m > 0 ? delta.div(2 * m).add(0.5) : full_like(delta, 0.5);
        var gap = ones(original.shape[0], original.shape[1], 1);
        return Png(cat(new[] { original, gap, shown, gap, poisoned }, 2), scale);
    }
}
