using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Data;

/// <summary>
/// Decodes image files (PNG, JPEG, BMP; anything SkiaSharp reads) into float32 tensors in 0..1.
/// Images are decoded to premultiplied RGBA, so transparency is composited onto black; resized with high-quality
/// sampling when their size differs from the target (halving with bilinear filtering while the image is at least
/// twice the target, then a Mitchell cubic filter); and for 1 channel reduced to luminance
/// Y = 0.299 R + 0.587 G + 0.114 B. Files are read once: the same bytes are decoded and hashed (SHA-256).
/// </summary>
public static class ImageFileDecoder
{
    /// <summary>Images decoded per chunk (bounds the temporary byte buffer).</summary>
    const int ChunkBytes = 64 << 20;

    /// <summary>Width and height of an image file, read from its header without decoding the pixels.</summary>
    public static (int Width, int Height) ProbeSize(string path)
    {
        byte[] bytes = SourceFile.ReadAll(path, int.MaxValue / 2, "image file");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null) throw new DataException(path, "cannot decode image: not a PNG, JPEG, BMP or other supported image");
        var info = codec.Info;
        CheckSide(path, info.Width, info.Height);
        return (info.Width, info.Height);
    }

    /// <summary>Decodes one image file to <c>[C, H, W]</c> float32 in 0..1.</summary>
    public static Tensor Load(string path, ImageLoadOptions? options = null)
    {
        using var batch = LoadMany(new[] { path }, options);
        using var row = batch[0];
        return row.clone();
    }

    /// <summary>
    /// Decodes image files to one <c>[N, C, H, W]</c> float32 tensor in 0..1, all resized to the target size
    /// (default: the first file's size). Files are decoded in parallel; when several fail, the error of the first
    /// failing file (in list order) is thrown.
    /// </summary>
    /// <param name="paths">Image files.</param>
    /// <param name="options">Target size and channels.</param>
    /// <param name="sha256">When not null, receives the SHA-256 of each file (same order as <paramref name="paths"/>).</param>
    /// <param name="context">When not null, gives a note added to a file's error message (e.g. "listed on a.txt line 4").</param>
    public static Tensor LoadMany(IReadOnlyList<string> paths, ImageLoadOptions? options = null, string[]? sha256 = null,
        Func<int, string>? context = null)
    {
        options ??= new ImageLoadOptions();
        options.Validate();
        if (paths.Count == 0) throw new ArgumentException("no image files", nameof(paths));
        int w, h;
        if (options.Width is null || options.Height is null)
        {
            if (options.Width is { } ow) { w = ow; h = ow; }
            else if (options.Height is { } oh) { w = oh; h = oh; }
            else
            {
                try { (w, h) = ProbeSize(paths[0]); }
                catch (DataException e) when (context != null) { throw Annotate(e, context(0)); }
            }
        }
        else { w = options.Width.Value; h = options.Height.Value; }

        int c = options.Channels;
        long n = paths.Count;
        long perImage = 4L * w * h;
        var result = torch.empty(new long[] { n, c, h, w }, ScalarType.Float32);
        try
        {
            int chunk = (int)Math.Max(1, Math.Min(n, ChunkBytes / perImage));
            byte[] buf = new byte[chunk * perImage];
            for (int start = 0; start < n; start += chunk)
            {
                int count = (int)Math.Min(chunk, n - start);
                var errors = new Exception?[count];
                Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
                {
                    int k = start + i;
                    try
                    {
                        string? sha = DecodeInto(paths[k], w, h, buf.AsSpan((int)(i * perImage), (int)perImage));
                        if (sha256 != null) sha256[k] = sha;
                    }
                    catch (Exception e) { errors[i] = e; }
                });
                for (int i = 0; i < count; i++)
                {
                    if (errors[i] is null) continue;
                    var e = errors[i]!;
                    if (e is DataException de) throw context is null ? de : Annotate(de, context(start + i));
                    throw new DataException(paths[start + i], $"cannot decode image: {SourceFile.OneLine(e.Message)}", e);
                }
                using var raw = torch.tensor(buf, new long[] { chunk, h, w, 4 });
                using var part = raw.narrow(0, 0, count);
                using var rgb = part.narrow(3, 0, 3).permute(0, 3, 1, 2);
                using var f = rgb.to_type(ScalarType.Float32).div_(255f);
                using var dst = result.narrow(0, start, count);
                if (c == 3) dst.copy_(f);
                else
                {
                    using var wts = torch.tensor(new float[] { 0.299f, 0.587f, 0.114f }).reshape(1, 3, 1, 1);
                    using var y = (f * wts).sum(1, keepdim: true).clamp_(0f, 1f);
                    dst.copy_(y);
                }
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    static DataException Annotate(DataException e, string note) =>
        new(e.Path, $"{e.Problem} ({note})", e.InnerException);

    static void CheckSide(string path, int w, int h)
    {
        if (w < 1 || h < 1 || w > ImageLoadOptions.MaxSide || h > ImageLoadOptions.MaxSide)
            throw new DataException(path, $"image size {w}x{h} is outside 1..{ImageLoadOptions.MaxSide} pixels per side");
    }

    /// <summary>Decodes, resizes and writes premultiplied RGBA bytes into <paramref name="dest"/> (w*h*4);
    /// returns the file's SHA-256.</summary>
    static string DecodeInto(string path, int w, int h, Span<byte> dest)
    {
        byte[] bytes = SourceFile.ReadAll(path, int.MaxValue / 2, "image file");
        string sha = DatasetChecksum.OfBytes(bytes);
        if (bytes.Length == 0) throw new DataException(path, "cannot decode image: the file is empty");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null) throw new DataException(path, "cannot decode image: not a PNG, JPEG, BMP or other supported image");
        var ci = codec.Info;
        CheckSide(path, ci.Width, ci.Height);
        var info = new SKImageInfo(ci.Width, ci.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var src = new SKBitmap(info);
        try
        {
            var r = codec.GetPixels(info, src.GetPixels());
            if (r != SKCodecResult.Success)
                throw new DataException(path, $"cannot decode image: {(r == SKCodecResult.IncompleteInput ? "truncated or incomplete data" : r.ToString())}");
            // Halve while at least twice the target (bilinear at exact halves = 2x2 box filter), then cubic.
            while (src.Width >= 2 * w && src.Height >= 2 * h)
            {
                var half = Resize(path, src, src.Width / 2, src.Height / 2, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
                src.Dispose();
                src = half;
            }
            if (src.Width != w || src.Height != h)
            {
                var fin = Resize(path, src, w, h, new SKSamplingOptions(SKCubicResampler.Mitchell));
                src.Dispose();
                src = fin;
            }
            var span = src.GetPixelSpan();
            int rowBytes = src.RowBytes;
            if (rowBytes == w * 4) span[..dest.Length].CopyTo(dest);
            else for (int y = 0; y < h; y++) span.Slice(y * rowBytes, w * 4).CopyTo(dest.Slice(y * w * 4, w * 4));
            return sha;
        }
        finally { src.Dispose(); }
    }

    static SKBitmap Resize(string path, SKBitmap src, int w, int h, SKSamplingOptions sampling)
    {
        var dst = src.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul), sampling);
        return dst ?? throw new DataException(path, $"cannot resize image from {src.Width}x{src.Height} to {w}x{h}");
    }
}
