using HashBackdoor.Data;
using SkiaSharp;
using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

public class ImageFolderReaderTests
{
    static SKColor Px(int img, int x, int y) => new((byte)(10 + 60 * img + x * 20), (byte)(100 + y * 50), (byte)(200 - img * 30 - x - y), 255);

    /// <summary>Class "bird" (2 images) and "ant" (1 image): classes sort to ant=0, bird=1.</summary>
    static void WriteTwoClasses(string root)
    {
        Png(Path.Combine(root, "bird", "b2.png"), 2, 2, (x, y) => Px(2, x, y));
        Png(Path.Combine(root, "bird", "b1.png"), 2, 2, (x, y) => Px(1, x, y));
        Png(Path.Combine(root, "ant", "a.png"), 2, 2, (x, y) => Px(0, x, y));
        File.WriteAllText(Path.Combine(root, "bird", "notes.txt"), "not an image");
        File.WriteAllText(Path.Combine(root, "bird", ".hidden.png"), "ignored");
    }

    [Fact]
    public void TwoClassesOf2x2PngsExactRgb()
    {
        using var dir = new TempDir();
        WriteTwoClasses(dir.Path);
        var sums = new Dictionary<string, string>();
        using var d = ImageFolderReader.Load(dir.Path, checksums: sums);
        Assert.Equal(new long[] { 3, 3, 2, 2 }, d.Images.shape);
        Assert.Equal(new[] { "ant", "bird" }, d.ClassNames);
        Assert.Equal(new[] { 0, 1, 1 }, d.SingleLabels());
        Assert.Equal(3, sums.Count);
        var px = d.Images.data<float>().ToArray();
        int[] imageOfRow = { 0, 1, 2 }; // a.png, b1.png, b2.png
        for (int n = 0; n < 3; n++)
        for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
        {
            var c = Px(imageOfRow[n], x, y);
            Assert.Equal(c.Red / 255f, px[((n * 3 + 0) * 2 + y) * 2 + x]);
            Assert.Equal(c.Green / 255f, px[((n * 3 + 1) * 2 + y) * 2 + x]);
            Assert.Equal(c.Blue / 255f, px[((n * 3 + 2) * 2 + y) * 2 + x]);
        }
    }

    [Fact]
    public void OneChannelIsLuminance()
    {
        using var dir = new TempDir();
        WriteTwoClasses(dir.Path);
        using var d = ImageFolderReader.Load(dir.Path, new ImageLoadOptions { Channels = 1 });
        Assert.Equal(new long[] { 3, 1, 2, 2 }, d.Images.shape);
        var c = Px(0, 1, 0);
        float expected = (0.299f * c.Red + 0.587f * c.Green + 0.114f * c.Blue) / 255f;
        Assert.Equal(expected, d.Images[0, 0, 0, 1].item<float>(), 5);
    }

    [Fact]
    public void ImagesAreResizedToTheFirstOrGivenSize()
    {
        using var dir = new TempDir();
        var color = new SKColor(40, 120, 240);
        Png(Path.Combine(dir.Path, "a", "1.png"), 3, 2, color);
        Png(Path.Combine(dir.Path, "b", "2.png"), 17, 9, color);
        using (var d = ImageFolderReader.Load(dir.Path))
        {
            Assert.Equal(new long[] { 2, 3, 2, 3 }, d.Images.shape);
            using var blue = d.Images[1, 2];
            Assert.InRange(blue.min().item<float>(), 239 / 255f, 241 / 255f);
            Assert.InRange(blue.max().item<float>(), 239 / 255f, 241 / 255f);
        }
        using (var d = ImageFolderReader.Load(dir.Path, new ImageLoadOptions { Width = 8 }))
        {
            Assert.Equal(new long[] { 2, 3, 8, 8 }, d.Images.shape);
            using var red = d.Images.select(1, 0);
            Assert.InRange(red.min().item<float>(), 39 / 255f, 41 / 255f);
            Assert.InRange(red.max().item<float>(), 39 / 255f, 41 / 255f);
        }
    }

    [Fact]
    public void TrainAndTestFoldersShareClassesAndSize()
    {
        using var train = new TempDir();
        using var test = new TempDir();
        WriteTwoClasses(train.Path);
        Png(Path.Combine(test.Path, "ant", "x.png"), 4, 4, SKColors.White);
        Png(Path.Combine(test.Path, "bird", "y.png"), 4, 4, SKColors.Black);
        using var s = DatasetCatalog.Load($"folder:{train.Path},{test.Path}");
        Assert.False(s.IsSinglePool);
        Assert.Equal(new long[] { 2, 3, 2, 2 }, s.Test!.Images.shape);
        Assert.Equal(new[] { 0, 1 }, s.Test.SingleLabels());
        Assert.Equal(5, s.Checksums.Count);
        using var pool = DatasetCatalog.Load($"folder:{train.Path}");
        Assert.True(pool.IsSinglePool);
        Assert.Null(pool.Test);
        Directory.Move(Path.Combine(test.Path, "bird"), Path.Combine(test.Path, "cat"));
        AssertDataError(() => DatasetCatalog.Load($"folder:{train.Path},{test.Path}"), test.Path, "missing class folder(s) 'bird'");
        Directory.Move(Path.Combine(test.Path, "cat"), Path.Combine(test.Path, "bird"));
        Png(Path.Combine(test.Path, "dog", "z.png"), 4, 4, SKColors.Gray);
        AssertDataError(() => DatasetCatalog.Load($"folder:{train.Path},{test.Path}"), test.Path, "class folder(s) 'dog' not in the training folder");
    }

    [Fact]
    public void BadFoldersAreDataErrors()
    {
        using var dir = new TempDir();
        AssertDataError(() => ImageFolderReader.Load(dir.File("absent")), "absent", "image folder not found");
        AssertDataError(() => ImageFolderReader.Load(dir.Path), dir.Path, "no class folders");
        WriteTwoClasses(dir.Path);
        Directory.CreateDirectory(dir.File("zebra"));
        File.WriteAllText(dir.File("zebra/readme.txt"), "no images here");
        AssertDataError(() => ImageFolderReader.Load(dir.Path), "zebra", "class folder 'zebra' has no images");
    }

    [Fact]
    public void UnreadableImagesNameTheFile()
    {
        using var dir = new TempDir();
        WriteTwoClasses(dir.Path);
        var junk = dir.Write("bird/b0-junk.png", new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 });
        AssertDataError(() => ImageFolderReader.Load(dir.Path), junk, "cannot decode image");
        File.Delete(junk);
        var empty = dir.Write("bird/b0-empty.jpg", Array.Empty<byte>());
        AssertDataError(() => ImageFolderReader.Load(dir.Path), empty, "cannot decode image");
        File.Delete(empty);
        Png(dir.File("bird/b0-trunc.png"), 64, 64, (x, y) => new SKColor((byte)(x * 4), (byte)(y * 4), (byte)(x ^ y)));
        var bytes = File.ReadAllBytes(dir.File("bird/b0-trunc.png"));
        var trunc = dir.Write("bird/b0-trunc.png", bytes[..(bytes.Length / 2)]);
        AssertDataError(() => ImageFolderReader.Load(dir.Path), trunc, "cannot decode image");
    }

    /// <summary>A 24-bit BMP written by hand: bottom-up rows of B, G, R bytes padded to 4 bytes.</summary>
    static byte[] Bmp(int w, int h, Func<int, int, SKColor> pixel)
    {
        int row = (w * 3 + 3) / 4 * 4;
        var b = new byte[54 + row * h];
        b[0] = (byte)'B'; b[1] = (byte)'M';
        BitConverter.TryWriteBytes(b.AsSpan(2), b.Length);
        BitConverter.TryWriteBytes(b.AsSpan(10), 54);
        BitConverter.TryWriteBytes(b.AsSpan(14), 40);
        BitConverter.TryWriteBytes(b.AsSpan(18), w);
        BitConverter.TryWriteBytes(b.AsSpan(22), h);
        BitConverter.TryWriteBytes(b.AsSpan(26), (short)1);
        BitConverter.TryWriteBytes(b.AsSpan(28), (short)24);
        BitConverter.TryWriteBytes(b.AsSpan(34), row * h);
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            var c = pixel(x, y);
            int o = 54 + (h - 1 - y) * row + 3 * x;
            (b[o], b[o + 1], b[o + 2]) = (c.Blue, c.Green, c.Red);
        }
        return b;
    }

    [Fact]
    public void JpegAndBmpDecode()
    {
        using var dir = new TempDir();
        dir.Write("a/x.bmp", Bmp(2, 2, (x, y) => Px(1, x, y)));
        using (var bmp = new SKBitmap(8, 8))
        {
            bmp.Erase(new SKColor(200, 100, 50));
            using var img = SKImage.FromBitmap(bmp);
            using var jpg = img.Encode(SKEncodedImageFormat.Jpeg, 95);
            dir.Write("b/y.JPG", jpg.ToArray());
        }
        using var d = ImageFolderReader.Load(dir.Path);
        Assert.Equal(new long[] { 2, 3, 2, 2 }, d.Images.shape);
        for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
        {
            Assert.Equal(Px(1, x, y).Red / 255f, d.Images[0, 0, y, x].item<float>());
            Assert.Equal(Px(1, x, y).Blue / 255f, d.Images[0, 2, y, x].item<float>());
        }
        Assert.InRange(d.Images[1, 0, 1, 1].item<float>(), 195 / 255f, 205 / 255f);
        Assert.InRange(d.Images[1, 1, 0, 0].item<float>(), 95 / 255f, 105 / 255f);
    }

    [Fact]
    public void BadOptionsAreUsageErrors()
    {
        using var dir = new TempDir();
        WriteTwoClasses(dir.Path);
        Assert.Throws<UsageException>(() => ImageFolderReader.Load(dir.Path, new ImageLoadOptions { Channels = 2 }));
        Assert.Throws<UsageException>(() => ImageFolderReader.Load(dir.Path, new ImageLoadOptions { Width = 0 }));
    }
}
