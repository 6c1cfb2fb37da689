using System.Runtime.InteropServices;
using SkiaSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// PNG pictures of attack artefacts for reports: single images, and strips showing a poisoned image next to its original
/// and its perturbation. Enlargement is nearest neighbour (each pixel becomes a scale x scale block), so small images
/// and 4x4 triggers stay crisp.
/// </summary>
public static class AttackImages
{
    /// <summary>PNG of one image float [C, H, W] in 0..1 (C = 1: grey, C = 3: RGB), enlarged <paramref name="scale"/> times.
    /// Values are clamped to 0..1 and rounded to 0..255.</summary>
    public static byte[] Png(Tensor image, int scale = 1)
    {
        if (image.dim() != 3) throw new ArgumentException($"an image must be [C,H,W], got [{string.Join(",", image.shape)}]");
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be at least 1");
        int c = (int)image.shape[0];
        if (c is not (1 or 3)) throw new ArgumentException($"only 1- or 3-channel images can be drawn as PNG, got {c} channels");
        using var scope = NewDisposeScope();
        var img = image.detach().cpu().to_type(ScalarType.Float32).clamp(0, 1).mul(255).round().to_type(ScalarType.Byte);
        if (scale > 1) img = img.repeat_interleave(scale, 1).repeat_interleave(scale, 2);
        int h = (int)img.shape[1], w = (int)img.shape[2];
        var hwc = img.permute(1, 2, 0);
        var colorType = SKColorType.Gray8;
        if (c == 3)
        {
            hwc = cat(new[] { hwc, full(new long[] { h, w, 1 }, 255, dtype: ScalarType.Byte) }, 2);
            colorType = SKColorType.Rgba8888;
        }
        byte[] pixels = hwc.contiguous().data<byte>().ToArray();
        int rowBytes = w * (c == 3 ? 4 : 1);
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, colorType, SKAlphaType.Opaque));
        IntPtr dst = bitmap.GetPixels();
        for (int row = 0; row < h; row++)
            Marshal.Copy(pixels, row * rowBytes, dst + row * bitmap.RowBytes, rowBytes);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

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
