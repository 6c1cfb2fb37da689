using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// Encodes image tensors as PNG bytes for reports: a plain image, a signed perturbation amplified to the full grey
/// range, or a grid of images. Every PNG is written by the toolkit's one encoder, <see cref="TensorPng"/>. Values are mapped to bytes as <c>round(255 x)</c> after clamping to 0..1
/// (NaN shows as black); enlargement is nearest-neighbour, so each source pixel becomes a <c>scale x scale</c> block.
/// One-channel tensors give a greyscale PNG, three-channel tensors an opaque RGB PNG.
/// </summary>
internal static class ImagePng
{
    /// <summary>Largest side, in pixels, of an encoded image (after enlargement).</summary>
    public const int MaxSide = TensorPng.MaxSide;

    /// <summary>
    /// Encodes a <c>[C, H, W]</c> tensor with values in 0..1 (C = 1 grey or 3 RGB; any dtype and device) as PNG,
    /// enlarged <paramref name="scale"/> times by nearest neighbour.
    /// </summary>
    /// <param name="chw">The image, <c>[C, H, W]</c>, 0 = black and 1 = white; values outside 0..1 are clamped.</param>
    /// <param name="scale">Integer enlargement factor, at least 1.</param>
    /// <returns>The PNG file's bytes, <c>W*scale</c> by <c>H*scale</c> pixels.</returns>
    /// <exception cref="ArgumentException">The tensor is not <c>[1|3, H, W]</c>, or the scale is out of range.</exception>
    public static byte[] FromTensor(Tensor chw, int scale = 1) => TensorPng.Encode(chw, scale);

    /// <summary>
    /// Encodes a signed perturbation <c>[C, H, W]</c> (C = 1 or 3) amplified to the full range: each value is shown as
    /// <c>0.5 + delta / (2 eps)</c>, clamped to 0..1, so <c>-eps</c> is black (0), 0 is mid-grey (128) and
    /// <c>+eps</c> is white (255).
    /// </summary>
    /// <param name="delta">The perturbation (poisoned minus original image).</param>
    /// <param name="eps">The perturbation budget (L-infinity radius), greater than 0.</param>
    /// <param name="scale">Integer enlargement factor, at least 1.</param>
    public static byte[] Perturbation(Tensor delta, double eps, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(delta);
        if (!(eps > 0) || double.IsInfinity(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "the perturbation budget must be a finite number greater than 0");
        CheckShape(delta, nameof(delta));
        using var scope = torch.NewDisposeScope();
        var d = delta.detach().to(CPU).to_type(ScalarType.Float64);
        var shown = d.div(2.0 * eps).add(0.5).clamp(0.0, 1.0);
        return FromTensor(shown, scale);
    }

    /// <summary>
    /// Encodes several images of the same height and width as one PNG grid, row by row, <paramref name="columns"/>
    /// per row, separated and surrounded by <paramref name="pad"/> white pixels (counted before enlargement).
    /// Grey images are shown as RGB when any image is RGB.
    /// </summary>
    /// <param name="images">The images, each <c>[C, H, W]</c> in 0..1 with C = 1 or 3.</param>
    /// <param name="columns">Images per row, at least 1.</param>
    /// <param name="scale">Integer enlargement factor of the whole grid, at least 1.</param>
    /// <param name="pad">White border between and around images, in source pixels (0 or more).</param>
    public static byte[] Grid(IReadOnlyList<Tensor> images, int columns, int scale = 1, int pad = 1)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("no images", nameof(images));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "must be at least 1");
        if (pad < 0) throw new ArgumentOutOfRangeException(nameof(pad), pad, "must be 0 or more");
        var (_, h, w) = CheckShape(images[0], nameof(images));
        long channels = 1;
        foreach (var image in images)
        {
            var (ci, hi, wi) = CheckShape(image, nameof(images));
            if (hi != h || wi != w)
                throw new ArgumentException($"images differ in size: {w}x{h} and {wi}x{hi}", nameof(images));
            channels = Math.Max(channels, ci);
        }
        int cols = Math.Min(columns, images.Count);
        int rows = (images.Count + cols - 1) / cols;
        long gh = rows * h + (rows + 1L) * pad, gw = cols * w + (cols + 1L) * pad;
        if (gh > MaxSide || gw > MaxSide)
            throw new ArgumentException($"grid of {gw}x{gh} pixels exceeds {MaxSide} pixels per side", nameof(images));
        using var scope = torch.NewDisposeScope();
        var canvas = torch.ones(new long[] { channels, gh, gw }, ScalarType.Float32);
        for (int i = 0; i < images.Count; i++)
        {
            long top = pad + (i / cols) * (h + pad), left = pad + (i % cols) * (w + pad);
            var src = images[i].detach().to(CPU).to_type(ScalarType.Float32);
            if (src.shape[0] != channels) src = src.expand(channels, h, w);
            canvas.narrow(1, top, h).narrow(2, left, w).copy_(src);
        }
        return FromTensor(canvas, scale);
    }

    /// <summary>Width and height of a PNG from its header, without decoding it; null when the bytes are not a PNG.</summary>
    public static (int Width, int Height)? Size(byte[] png)
    {
        ArgumentNullException.ThrowIfNull(png);
        ReadOnlySpan<byte> signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (png.Length < 24 || !png.AsSpan(0, 8).SequenceEqual(signature) || png[12] != 'I' || png[13] != 'H' || png[14] != 'D' || png[15] != 'R')
            return null;
        int width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4));
        int height = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4));
        return width > 0 && height > 0 ? (width, height) : null;
    }

    static (long C, long H, long W) CheckShape(Tensor t, string name) => TensorPng.CheckShape(t, name);
}
