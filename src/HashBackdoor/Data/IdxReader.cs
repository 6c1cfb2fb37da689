using System.Buffers.Binary;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Data;

/// <summary>
/// Reader of MNIST-style IDX files (http://yann.lecun.com/exdb/mnist/ format): a big-endian header — magic
/// <c>00 00 TYPE NDIMS</c>, then NDIMS int32 sizes — followed by the data. Only unsigned-byte data (TYPE 0x08) is
/// accepted: images are magic 0x00000803 (<c>[N, rows, cols]</c>), labels 0x00000801 (<c>[N]</c>). Files may be
/// gzip-compressed; compression is detected by the gzip magic bytes 1f 8b, never by the file name.
/// </summary>
/// <remarks>
/// Every check happens before the payload is allocated: the header's sizes must be positive, their product at most
/// <see cref="MaxElements"/>, and (uncompressed files) equal to the bytes that follow the header. Compressed payloads
/// are inflated into a buffer that grows only as real data arrives, up to the size the header announces.
/// A short payload is "truncated"; bytes after the payload are "trailing data"; both are errors.
/// </remarks>
public static class IdxReader
{
    /// <summary>Largest accepted element count of one IDX file (100 million).</summary>
    public const long MaxElements = 100_000_000;

    /// <summary>Deflate's largest possible expansion (a 258-byte match per ~2 bits of input).</summary>
    const long MaxDeflateRatio = 1032;

    /// <summary>Magic number of an unsigned-byte, 3-dimensional (images) IDX file.</summary>
    public const uint ImagesMagic = 0x00000803;

    /// <summary>Magic number of an unsigned-byte, 1-dimensional (labels) IDX file.</summary>
    public const uint LabelsMagic = 0x00000801;

    /// <summary>Reads an images file: raw pixel bytes (row-major <c>[count, rows, columns]</c>) and its sizes.</summary>
    public static IdxImages ReadImages(string path)
    {
        var (data, dims, sha) = Read(path, ImagesMagic, 3, "images");
        return new IdxImages(data, dims[0], dims[1], dims[2], sha);
    }

    /// <summary>Reads a labels file: one byte per item.</summary>
    public static IdxLabels ReadLabels(string path)
    {
        var (data, _, sha) = Read(path, LabelsMagic, 1, "labels");
        return new IdxLabels(data, sha);
    }

    /// <summary>
    /// Loads an (images, labels) pair into a 1-channel <see cref="ImageDataset"/>: images <c>[N,1,rows,cols]</c>
    /// scaled to 0..1, labels one-hot <c>[N, numClasses]</c>.
    /// </summary>
    /// <param name="imagesPath">IDX images file (magic 0x00000803), gzip or raw.</param>
    /// <param name="labelsPath">IDX labels file (magic 0x00000801), gzip or raw; same count as the images.</param>
    /// <param name="name">Dataset name.</param>
    /// <param name="classNames">Class names; when given, their count is the number of classes.</param>
    /// <param name="numClasses">Number of classes when <paramref name="classNames"/> is null (1..256, default 10);
    /// every label must be below it.</param>
    /// <param name="checksums">When not null, receives the SHA-256 of both files keyed by full path.</param>
    public static ImageDataset Load(string imagesPath, string labelsPath, string name = "idx",
        IReadOnlyList<string>? classNames = null, int numClasses = 10, IDictionary<string, string>? checksums = null)
    {
        int c = classNames?.Count ?? numClasses;
        if (c < 1 || c > 256) throw new UsageException($"number of classes {c}: must be 1..256 for IDX byte labels");
        var images = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (labels.Labels.Length != images.Count)
            throw new DataException(labelsPath, $"has {labels.Labels.Length} labels but {Path.GetFileName(imagesPath)} has {images.Count} images");
        CheckLabels(labelsPath, labels.Labels, c);
        if (checksums != null)
        {
            checksums[Path.GetFullPath(imagesPath)] = images.Sha256;
            checksums[Path.GetFullPath(labelsPath)] = labels.Sha256;
        }
        var x = ImageTensors.FromBytes(images.Pixels, images.Count, 1, images.Rows, images.Columns);
        var y = ImageTensors.OneHot(labels.Labels, c);
        return new ImageDataset(name, x, y, classNames);
    }

    /// <summary>Checks every label is below <paramref name="numClasses"/> (vectorised search), naming the first bad one.</summary>
    internal static void CheckLabels(string path, ReadOnlySpan<byte> labels, int numClasses)
    {
        if (numClasses >= 256) return;
        int bad = labels.IndexOfAnyInRange((byte)numClasses, (byte)255);
        if (bad >= 0)
            throw new DataException(path, $"label {labels[bad]} at index {bad} is out of range (expected 0..{numClasses - 1})");
    }

    static (byte[] Data, int[] Dims, string Sha) Read(string path, uint magic, int ndims, string what)
    {
        // The file itself can be at most a header plus MaxElements bytes (compressed data is never much larger).
        byte[] file = SourceFile.ReadAll(path, MaxElements + 4096, $"IDX {what} file");
        string sha = DatasetChecksum.OfBytes(file);
        bool gz = SourceFile.IsGzip(file);
        try
        {
            using var s = SourceFile.OpenContent(file);
            Span<byte> head = stackalloc byte[4 + 4 * 3];
            int headLen = 4 + 4 * ndims;
            int got = s.ReadAtLeast(head[..4], 4, throwOnEndOfStream: false);
            if (got < 4) throw new DataException(path, $"truncated IDX header: {got} bytes, expected {headLen}");
            uint m = BinaryPrimitives.ReadUInt32BigEndian(head);
            if (head[0] != 0 || head[1] != 0)
                throw new DataException(path, $"not an IDX file: magic 0x{m:x8} (expected 0x{magic:x8} for {what})");
            if (head[2] != 0x08)
                throw new DataException(path, $"IDX data type 0x{head[2]:x2} is not unsigned byte (0x08); magic 0x{m:x8}, expected 0x{magic:x8}");
            if (head[3] != ndims)
                throw new DataException(path, $"IDX {what} file must have {ndims} dimension(s), header says {head[3]} (magic 0x{m:x8}, expected 0x{magic:x8})");
            got = s.ReadAtLeast(head[4..headLen], headLen - 4, throwOnEndOfStream: false);
            if (got < headLen - 4) throw new DataException(path, $"truncated IDX header: {4 + got} bytes, expected {headLen}");
            var dims = new int[ndims];
            long total = 1;
            for (int i = 0; i < ndims; i++)
            {
                int d = BinaryPrimitives.ReadInt32BigEndian(head[(4 + 4 * i)..]);
                if (d <= 0) throw new DataException(path, $"IDX size {i} is {d}; sizes must be > 0");
                dims[i] = d;
                total *= d; // at most 3 factors < 2^31 after the check below: no long overflow
                if (total > MaxElements)
                    throw new DataException(path, $"IDX sizes [{string.Join(",", HeaderDims(head, ndims))}] exceed {MaxElements} elements");
            }
            string shape = string.Join(" x ", dims);
            if (!gz)
            {
                long remaining = file.Length - headLen;
                if (remaining < total)
                    throw new DataException(path, $"truncated: header says {shape} = {total} bytes but only {remaining} follow");
                if (remaining > total)
                    throw new DataException(path, $"trailing data: {remaining - total} bytes after the {shape} = {total} bytes of data");
                return (file.AsSpan(headLen).ToArray(), dims, sha);
            }
            // Compressed: deflate expands at most 1032:1, so a payload the file cannot hold is refused before
            // inflating; otherwise the buffer grows with the data actually inflated, capped at the announced size.
            long canHold = MaxDeflateRatio * file.Length;
            if (total + headLen > canHold)
                throw new DataException(path, $"truncated: header says {shape} = {total} bytes but a {file.Length}-byte gzip file inflates to at most {canHold} bytes");
            int want = (int)total;
            int initial = SourceFile.GzipSizeHint(file) == (uint)(headLen + total) ? want : Math.Min(want, 1 << 20);
            byte[] buf = new byte[initial];
            int n = 0;
            while (true)
            {
                if (n == buf.Length)
                {
                    if (n == want) break;
                    Array.Resize(ref buf, (int)Math.Min(want, 2L * buf.Length));
                }
                int r = s.Read(buf, n, buf.Length - n);
                if (r == 0) break;
                n += r;
            }
            if (n < want)
                throw new DataException(path, $"truncated: header says {shape} = {total} bytes but only {n} follow (after decompression)");
            long extra = CountRest(s, 1 << 20);
            if (extra > 0)
                throw new DataException(path, $"trailing data: {(extra >= 1 << 20 ? "at least " : "")}{extra} bytes after the {shape} = {total} bytes of data (after decompression)");
            return (buf, dims, sha);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw new DataException(path, $"corrupt gzip data: {SourceFile.OneLine(e.Message)}", e);
        }
    }

    static IEnumerable<long> HeaderDims(ReadOnlySpan<byte> head, int ndims)
    {
        var r = new long[ndims];
        for (int i = 0; i < ndims; i++) r[i] = BinaryPrimitives.ReadInt32BigEndian(head[(4 + 4 * i)..]);
        return r;
    }

    static long CountRest(Stream s, long cap)
    {
        var tmp = new byte[8192];
        long n = 0;
        int r;
        while (n < cap && (r = s.Read(tmp, 0, tmp.Length)) > 0) n += r;
        return n;
    }
}

/// <summary>Content of an IDX images file: <see cref="Pixels"/> is row-major <c>[Count, Rows, Columns]</c>.</summary>
/// <param name="Pixels">Pixel bytes, 0..255.</param>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Image height.</param>
/// <param name="Columns">Image width.</param>
/// <param name="Sha256">SHA-256 (hex) of the file as stored (compressed if it was).</param>
public sealed record IdxImages(byte[] Pixels, int Count, int Rows, int Columns, string Sha256);

/// <summary>Content of an IDX labels file.</summary>
/// <param name="Labels">One class index per item.</param>
/// <param name="Sha256">SHA-256 (hex) of the file as stored (compressed if it was).</param>
public sealed record IdxLabels(byte[] Labels, string Sha256);
