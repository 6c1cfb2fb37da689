using HashBackdoor.Data;
using SkiaSharp;
using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

public class ListFileReaderTests
{
    static void WriteImages(TempDir dir)
    {
        Png(dir.File("img/a.png"), 2, 2, new SKColor(255, 0, 0));
        Png(dir.File("img/b.png"), 2, 2, new SKColor(0, 255, 0));
        Png(dir.File("img/c.png"), 2, 2, new SKColor(0, 0, 255));
    }

    [Fact]
    public void MultiLabelListParsesAndLoads()
    {
        using var dir = new TempDir();
        WriteImages(dir);
        var list = dir.WriteText("train.txt", "img/a.png 1 0 1 0\n\nimg/b.png\t0 1 0 0\r\n  img/c.png 1 1 1 1  \n");
        var sums = new Dictionary<string, string>();
        using var d = ListFileReader.Load(dir.Path, list, checksums: sums);
        Assert.Equal(new long[] { 3, 3, 2, 2 }, d.Images.shape);
        Assert.Equal(new long[] { 3, 4 }, d.Labels.shape);
        Assert.Equal(new byte[] { 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1 }, d.LabelBytes());
        Assert.Equal(1f, d.Images[1, 1, 0, 0].item<float>());
        Assert.Equal(0f, d.Images[1, 0, 0, 0].item<float>());
        Assert.Equal(4, sums.Count); // list + 3 images
        var e = ListFileReader.Parse(list);
        Assert.Equal(new[] { 1, 3, 4 }, e.Lines);
    }

    [Fact]
    public void CatalogListSpecWithTestList()
    {
        using var dir = new TempDir();
        WriteImages(dir);
        var train = dir.WriteText("train.txt", "img/a.png 1 0\nimg/b.png 0 1\n");
        var test = dir.WriteText("test.txt", "img/c.png 1 1\n");
        using var s = DatasetCatalog.Load($"list:{dir.Path}:{train},{test}", new DatasetOptions { Channels = 1 });
        Assert.Equal("list", s.Name);
        Assert.Equal(2, s.Train.Count);
        Assert.Equal(1, s.Test!.Count);
        Assert.Equal(1, s.Train.Channels);
        var test3 = dir.WriteText("test3.txt", "img/c.png 1 1 0\n");
        AssertDataError(() => DatasetCatalog.Load($"list:{dir.Path}:{train},{test3}"), test3, "line 1: 3 labels, expected 2");
    }

    public static IEnumerable<object[]> BadLists() => new[]
    {
        new object[] { "img/a.png 1 0 1\nimg/b.png 0 1\n", "line 2: 2 labels, expected 3 (as on line 1)" },
        new object[] { "img/a.png 1 0\nimg/b.png 0 2\n", "line 2: label 1 is '2', expected 0 or 1" },
        new object[] { "img/a.png 1 0\nimg/b.png 0 yes\n", "line 2: label 1 is 'yes'" },
        new object[] { "img/a.png 1 0\n\nimg/b.png 0 0\n", "line 3: no label set" },
        new object[] { "img/a.png 1 0\nimg/b.png\n", "line 2: expected 'path l0 l1 ...' but found no labels" },
        new object[] { "img/a.png 1 0\nimg/missing.png 0 1\n", "line 2: image img/missing.png not found" },
        new object[] { "", "no entries" },
        new object[] { "\n  \n\n", "no entries" },
    };

    [Theory]
    [MemberData(nameof(BadLists))]
    public void BadListLinesAreDataErrors(string content, string expected)
    {
        using var dir = new TempDir();
        WriteImages(dir);
        var list = dir.WriteText("bad.txt", content);
        AssertDataError(() => ListFileReader.Load(dir.Path, list), list, expected);
    }

    [Fact]
    public void UnreadableListedImageNamesImageAndLine()
    {
        using var dir = new TempDir();
        WriteImages(dir);
        dir.Write("img/bad.jpg", new byte[] { 0xff, 0xd8, 0xff, 0x00, 0x01 });
        var list = dir.WriteText("l.txt", "img/a.png 1\nimg/bad.jpg 1\n");
        AssertDataError(() => ListFileReader.Load(dir.Path, list), "bad.jpg", "cannot decode image", "listed on l.txt line 2");
        AssertDataError(() => ListFileReader.Load(dir.File("nowhere"), list), "nowhere", "not found");
        AssertDataError(() => ListFileReader.Load(dir.Path, dir.File("absent.txt")), "absent.txt", "not found");
    }
}
