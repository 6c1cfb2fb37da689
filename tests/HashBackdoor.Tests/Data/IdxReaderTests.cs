using System.Buffers.Binary;
using HashBackdoor.Data;
using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

public class IdxReaderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTripExactPixelsAndLabels(bool gz)
    {
        using var dir = new TempDir();
        // Names without .gz on purpose: compression is detected by the magic bytes.
        var img = dir.Write("imgs", gz ? Gzip(ThreeImages()) : ThreeImages());
        var lab = dir.Write("labs", gz ? Gzip(ThreeLabels()) : ThreeLabels());
        using var d = IdxReader.Load(img, lab, "t");
        Assert.Equal(new long[] { 3, 1, 4, 4 }, d.Images.shape);
        Assert.Equal(new long[] { 3, 10 }, d.Labels.shape);
        var px = d.Images.data<float>().ToArray();
        for (int n = 0; n < 3; n++)
        for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            Assert.Equal(Pixel(n, r, c) / 255f, px[n * 16 + r * 4 + c]);
        Assert.Equal(new[] { 7, 0, 9 }, d.SingleLabels());
        Assert.Equal(3f, d.Labels.sum().item<float>());
    }

    [Fact]
    public void ChecksumsAreOfTheStoredBytes()
    {
        using var dir = new TempDir();
        var gzBytes = Gzip(ThreeImages());
        var img = dir.Write("i.gz", gzBytes);
        var lab = dir.Write("l", ThreeLabels());
        var sums = new Dictionary<string, string>();
        using var d = IdxReader.Load(img, lab, checksums: sums);
        Assert.Equal(DatasetChecksum.OfBytes(gzBytes), sums[Path.GetFullPath(img)]);
        Assert.Equal(DatasetChecksum.OfFile(lab), sums[Path.GetFullPath(lab)]);
    }

    [Fact]
    public void NumClassesIsConfigurable()
    {
        using var dir = new TempDir();
        var img = dir.Write("i", ThreeImages());
        var lab = dir.Write("l", ThreeLabels());
        using var d = IdxReader.Load(img, lab, numClasses: 12);
        Assert.Equal(12, d.NumClasses);
        AssertDataError(() => IdxReader.Load(img, lab, numClasses: 8), lab, "label 9 at index 2", "0..7");
        Assert.Throws<UsageException>(() => IdxReader.Load(img, lab, numClasses: 0));
    }

    static byte[] WithInt(byte[] file, int offset, int value)
    {
        var b = (byte[])file.Clone();
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(offset), value);
        return b;
    }

    public static IEnumerable<object[]> DamagedImages()
    {
        var ok = ThreeImages();
        yield return new object[] { "truncated-payload", ok[..^5], "truncated: header says 3 x 4 x 4 = 48 bytes but only 43" };
        yield return new object[] { "truncated-header", ok[..9], "truncated IDX header" };
        yield return new object[] { "empty", Array.Empty<byte>(), "truncated IDX header: 0 bytes" };
        yield return new object[] { "trailing", ok.Concat(new byte[] { 1, 2 }).ToArray(), "trailing data: 2 bytes" };
        yield return new object[] { "wrong-magic", WithInt(ok, 0, 0x12340803), "not an IDX file: magic 0x12340803" };
        yield return new object[] { "labels-as-images", ThreeLabels(), "must have 3 dimension(s), header says 1" };
        yield return new object[] { "float-type", Idx(new[] { 3, 4, 4 }, new byte[48], 0x0D), "data type 0x0d is not unsigned byte" };
        yield return new object[] { "zero-dim", WithInt(ok, 4, 0), "sizes must be > 0" };
        yield return new object[] { "negative-dim", WithInt(ok, 8, -4), "sizes must be > 0" };
        // Huge sizes on a tiny file: rejected from the header, never allocated.
        yield return new object[] { "huge-dims", WithInt(WithInt(WithInt(ok, 4, int.MaxValue), 8, int.MaxValue), 12, int.MaxValue), "exceed 100000000 elements" };
        yield return new object[] { "big-but-allowed-dims", WithInt(ok, 4, 6_000_000), "truncated: header says 6000000 x 4 x 4 = 96000000 bytes but" };
    }

    [Theory]
    [MemberData(nameof(DamagedImages))]
    public void DamagedImagesFileIsDataError(string name, byte[] content, string expected)
    {
        using var dir = new TempDir();
        var lab = dir.Write("labels", ThreeLabels());
        foreach (bool gz in new[] { false, true })
        {
            var img = dir.Write($"{name}{(gz ? ".gz" : "")}", gz ? Gzip(content) : content);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = AssertDataError(() => IdxReader.Load(img, lab), img, expected);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 8 << 20, $"{name} (gz={gz}) allocated {allocated} bytes before failing: {e.Message}");
        }
    }

    [Fact]
    public void GzipSizesTheFileCannotHoldAreRefusedBeforeInflating()
    {
        using var dir = new TempDir();
        var lab = dir.Write("labels", ThreeLabels());
        var big = ThreeImages();
        BinaryPrimitives.WriteInt32BigEndian(big.AsSpan(4), 1_000_000);
        var img = dir.Write("big.gz", Gzip(big));
        AssertDataError(() => IdxReader.Load(img, lab), img, "truncated: header says 1000000 x 4 x 4 = 16000000 bytes but a", "gzip file inflates to at most");
    }

    [Fact]
    public void CorruptGzipIsDataError()
    {
        using var dir = new TempDir();
        var gz = Gzip(ThreeImages());
        for (int i = 10; i < gz.Length - 8; i++) gz[i] ^= 0x5a;
        var img = dir.Write("c.gz", gz);
        var lab = dir.Write("l", ThreeLabels());
        AssertDataError(() => IdxReader.Load(img, lab), img, "corrupt gzip data");
    }

    [Fact]
    public void CountMismatchAndBadLabelsAreDataErrors()
    {
        using var dir = new TempDir();
        var img = dir.Write("i", ThreeImages());
        var two = dir.Write("two-labels", Idx(new[] { 2 }, new byte[] { 1, 2 }));
        AssertDataError(() => IdxReader.Load(img, two), two, "has 2 labels", "has 3 images");
        var bad = dir.Write("bad-labels", Idx(new[] { 3 }, new byte[] { 1, 10, 2 }));
        AssertDataError(() => IdxReader.Load(img, bad), bad, "label 10 at index 1 is out of range (expected 0..9)");
        var imagesAsLabels = dir.Write("img-as-labels", ThreeImages());
        AssertDataError(() => IdxReader.Load(img, imagesAsLabels), imagesAsLabels, "must have 1 dimension(s), header says 3");
    }

    [Fact]
    public void MissingFileIsDataError()
    {
        using var dir = new TempDir();
        var lab = dir.Write("l", ThreeLabels());
        AssertDataError(() => IdxReader.Load(dir.File("nope.gz"), lab), "nope.gz", "not found");
        AssertDataError(() => IdxReader.Load(dir.Path, lab), dir.Path, "is a directory");
    }
}
