using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace HashBackdoor.Tests.Data;

/// <summary>A temporary directory removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hashbd-data-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, byte[] bytes)
    {
        string p = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        System.IO.File.WriteAllBytes(p, bytes);
        return p;
    }

    public string WriteText(string name, string text) => Write(name, System.Text.Encoding.UTF8.GetBytes(text));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch { /* best effort */ }
    }
}

/// <summary>Builders of small test files, written byte by byte.</summary>
public static class DataTestFiles
{
    /// <summary>An IDX file: magic 00 00 08 NDIMS, big-endian sizes, then the data.</summary>
    public static byte[] Idx(int[] dims, byte[] data, byte type = 0x08)
    {
        var b = new byte[4 + 4 * dims.Length + data.Length];
        b[2] = type;
        b[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(b, 4 + 4 * dims.Length);
        return b;
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    /// <summary>Pixel value of image n, row r, column c of the 3-image 4x4 test file.</summary>
    public static byte Pixel(int n, int r, int c) => (byte)((n * 16 + r * 4 + c) * 5 + 1);

    public static byte[] ThreeImages()
    {
        var d = new byte[3 * 16];
        for (int n = 0; n < 3; n++)
        for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) d[n * 16 + r * 4 + c] = Pixel(n, r, c);
        return Idx(new[] { 3, 4, 4 }, d);
    }

    public static readonly byte[] ThreeLabelValues = { 7, 0, 9 };

    public static byte[] ThreeLabels() => Idx(new[] { 3 }, ThreeLabelValues);

    /// <summary>CIFAR pixel of record n, channel ch, row r, column c.</summary>
    public static byte CifarPixel(int n, int ch, int r, int c) => (byte)(n * 101 + ch * 37 + r * 7 + c * 3);

    /// <summary>A CIFAR-10 batch of records with the given labels and <see cref="CifarPixel"/> pixels.</summary>
    public static byte[] Cifar(params byte[] labels)
    {
        var b = new byte[labels.Length * 3073];
        for (int n = 0; n < labels.Length; n++)
        {
            b[n * 3073] = labels[n];
            for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < 32; r++)
            for (int c = 0; c < 32; c++) b[n * 3073 + 1 + ch * 1024 + r * 32 + c] = CifarPixel(n, ch, r, c);
        }
        return b;
    }

    /// <summary>Writes a PNG of w x h pixels, all of one opaque colour, through SkiaSharp.</summary>
    public static void Png(string path, int w, int h, SKColor color) => Png(path, w, h, (_, _) => color);

    /// <summary>Writes a PNG whose pixel (x, y) is <paramref name="pixel"/>(x, y).</summary>
    public static void Png(string path, int w, int h, Func<int, int, SKColor> pixel)
    {
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) bmp.SetPixel(x, y, pixel(x, y));
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Png, 100);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>True when two tensors have the same shape and elements.</summary>
    public static bool Same(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    /// <summary>Asserts that <paramref name="act"/> throws a DataException whose message names <paramref name="file"/>
    /// (its file name) and contains every one of <paramref name="words"/>; returns it.</summary>
    public static DataException AssertDataError(Action act, string file, params string[] words)
    {
        var e = Assert.Throws<DataException>(act);
        Assert.Contains(System.IO.Path.GetFileName(file.TrimEnd('/')), e.Message);
        Assert.DoesNotContain('\n', e.Message);
        foreach (var w in words) Assert.Contains(w, e.Message);
        return e;
    }
}
