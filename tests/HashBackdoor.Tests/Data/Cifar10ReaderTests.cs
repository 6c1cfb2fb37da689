using HashBackdoor.Data;
using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

public class Cifar10ReaderTests
{
    [Fact]
    public void TwoRecordsKnownPixelsChw()
    {
        using var dir = new TempDir();
        var f = dir.Write("b.bin", Cifar(3, 9));
        using var d = Cifar10Reader.LoadBatches(new[] { f });
        Assert.Equal(new long[] { 2, 3, 32, 32 }, d.Images.shape);
        Assert.Equal(new[] { 3, 9 }, d.SingleLabels());
        Assert.Equal("cat", d.ClassNames[3]);
        var px = d.Images.data<float>().ToArray();
        for (int n = 0; n < 2; n++)
        for (int ch = 0; ch < 3; ch++)
        foreach (var (r, c) in new[] { (0, 0), (0, 31), (5, 7), (31, 0), (31, 31) })
            Assert.Equal(CifarPixel(n, ch, r, c) / 255f, px[((n * 3 + ch) * 32 + r) * 32 + c]);
    }

    static void WriteAll(TempDir dir)
    {
        for (int i = 1; i <= 5; i++) dir.Write($"data_batch_{i}.bin", Cifar((byte)(i - 1), (byte)(i + 4)));
        dir.Write("test_batch.bin", Cifar(0, 1, 2));
    }

    [Fact]
    public void DirectoryWithMetaFile()
    {
        using var dir = new TempDir();
        WriteAll(dir);
        dir.WriteText("batches.meta.txt", string.Join("\n", Enumerable.Range(0, 10).Select(i => $"k{i}")) + "\n\n");
        using var s = DatasetCatalog.Load($"cifar10:{dir.Path}");
        Assert.Equal(10, s.Train.Count);
        Assert.Equal(3, s.Test!.Count);
        Assert.Equal("k7", s.ClassNames[7]);
        Assert.Equal(new[] { 0, 5, 1, 6, 2, 7, 3, 8, 4, 9 }, s.Train.SingleLabels());
        Assert.Equal(7, s.Checksums.Count);
    }

    [Fact]
    public void ArchiveSubfolderIsFound()
    {
        using var root = new TempDir();
        using var dir = new TempDir();
        WriteAll(dir);
        Directory.Move(dir.Path, Path.Combine(root.Path, "cifar-10-batches-bin"));
        using var s = Cifar10Reader.Load(root.Path);
        Assert.Equal(10, s.Train.Count);
        Assert.Equal("airplane", s.ClassNames[0]);
    }

    [Fact]
    public void DamagedInputsAreDataErrors()
    {
        using var dir = new TempDir();
        var good = Cifar(1, 2);
        var trunc = dir.Write("trunc.bin", good[..^1]);
        AssertDataError(() => Cifar10Reader.LoadBatches(new[] { trunc }), trunc, "length 6145 is not a multiple of the 3073-byte record");
        var empty = dir.Write("empty.bin", Array.Empty<byte>());
        AssertDataError(() => Cifar10Reader.LoadBatches(new[] { empty }), empty, "empty");
        var badLabel = dir.Write("label.bin", Cifar(1, 10));
        AssertDataError(() => Cifar10Reader.LoadBatches(new[] { badLabel }), badLabel, "record 1: label 10 is out of range");
        var missing = dir.File("data_batch_4.bin");
        AssertDataError(() => Cifar10Reader.LoadBatches(new[] { missing }), missing, "missing CIFAR-10 batch file");
    }

    [Fact]
    public void MissingBatchAndBadMetaAreDataErrors()
    {
        using var dir = new TempDir();
        WriteAll(dir);
        File.Delete(dir.File("data_batch_3.bin"));
        AssertDataError(() => DatasetCatalog.Load($"cifar10:{dir.Path}"), "data_batch_3.bin", "missing");
        WriteAll(dir);
        var meta = dir.WriteText("batches.meta.txt", "a\nb\nc\n");
        AssertDataError(() => DatasetCatalog.Load($"cifar10:{dir.Path}"), meta, "has 3 class names, expected 10");
        AssertDataError(() => DatasetCatalog.Load($"cifar10:{dir.File("none")}"), "none", "directory not found");
    }
}
