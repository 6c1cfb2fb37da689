using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor;

/// <summary>
/// The toolkit's one PNG writer (SkiaSharp): an image tensor <c>[C, H, W]</c> with values in 0..1 becomes PNG bytes.
/// Values are mapped to bytes as <c>round(255 x)</c> after clamping to 0..1 (NaN shows as black); enlargement is
/// nearest-neighbour, so each source pixel becomes a <c>scale x scale</c> block (small images and 4x4 triggers stay
/// crisp). One-channel tensors give a greyscale PNG, three-channel tensors an opaque RGB PNG. Reports
/// (<c>Experiments.Reports.ImagePng</c>) and attack pictures (<c>Attacks.AttackImages</c>, the trigger) both use it.
/// </summary>
public static class TensorPng
{
    /// <summary>Largest side, in pixels, of an encoded image (after enlargement).</summary>
    public const int MaxSide = 16384;

    /// <summary>
    /// Encodes a <c>[C, H, W]</c> tensor with values in 0..1 (C = 1 grey or 3 RGB; any dtype and device) as PNG,
    /// enlarged <paramref name="scale"/> times by nearest neighbour.
    /// </summary>
    /// <param name="chw">The image, <c>[C, H, W]</c>, 0 = black and 1 = white; values outside 0..1 are clamped.</param>
    /// <param name="scale">Integer enlargement factor, at least 1.</param>
    /// <returns>The PNG file's bytes, <c>W*scale</c> by <c>H*scale</c> pixels.</returns>
    /// <exception cref="ArgumentException">The tensor is not <c>[1|3, H, W]</c>, or the scale is out of range.</exception>
    public static byte[] Encode(Tensor chw, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(chw);
        var (c, h, w) = CheckShape(chw, nameof(chw));
        CheckScale(scale, h, w);
        using var scope = torch.NewDisposeScope();
        var x = chw.detach().to(CPU).to_type(ScalarType.Float32);
        var bytes = x.nan_to_num(0.0, 1.0, 0.0).clamp(0f, 1f).mul(255f).round().to_type(ScalarType.Byte);
        if (scale > 1) bytes = bytes.repeat_interleave(scale, 1).repeat_interleave(scale, 2);
        var hwc = bytes.permute(1, 2, 0);
        SKColorType colorType;
        if (c == 3)
        {
            // Skia has no packed 3-byte format: add an opaque alpha channel.
            var alpha = torch.full(new long[] { h * scale, w * scale, 1 }, (byte)255, ScalarType.Byte);
            hwc = torch.cat(new[] { hwc, alpha }, 2);
            colorType = SKColorType.Rgba8888;
        }
        else colorType = SKColorType.Gray8;
        byte[] pixels = hwc.contiguous().data<byte>().ToArray();
        return EncodePixels(pixels, (int)(w * scale), (int)(h * scale), colorType);
    }

    /// <summary>Checks that <paramref name="t"/> is an image tensor [1 or 3, H, W] and returns its shape.</summary>
    public static (long C, long H, long W) CheckShape(Tensor t, string name)
    {
        if (t.dim() != 3 || (t.shape[0] != 1 && t.shape[0] != 3) || t.shape[1] < 1 || t.shape[2] < 1)
            throw new ArgumentException($"expected an image tensor [1 or 3, H, W], got [{string.Join(", ", t.shape)}]", name);
        return (t.shape[0], t.shape[1], t.shape[2]);
    }

    static void CheckScale(int scale, long h, long w)
    {
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "must be at least 1");
        if (h * scale > MaxSide || w * scale > MaxSide)
            throw new ArgumentOutOfRangeException(nameof(scale), scale,
                $"a {w}x{h} image enlarged {scale} times exceeds {MaxSide} pixels per side");
    }

    /// <summary>Copies tightly packed pixel rows into a bitmap and encodes it as PNG.</summary>
    static byte[] EncodePixels(byte[] pixels, int width, int height, SKColorType colorType)
    {
        var info = new SKImageInfo(width, height, colorType, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        int rowBytes = width * info.BytesPerPixel;
        var dest = bitmap.GetPixelSpan();
        if (bitmap.RowBytes == rowBytes) pixels.AsSpan().CopyTo(dest);
        else
            for (int y = 0; y < height; y++)
                pixels.AsSpan(y * rowBytes, rowBytes).CopyTo(dest.Slice(y * bitmap.RowBytes, rowBytes));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode a {width}x{height} {colorType} PNG");
        return data.ToArray();
    }
}
