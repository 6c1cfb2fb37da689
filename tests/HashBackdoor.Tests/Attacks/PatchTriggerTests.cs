using HashBackdoor.Attacks;
using SkiaSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

[Collection("Attacks")]
public sealed class PatchTriggerTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "hashbd-attacks-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(dir, true); } catch { /* best effort */ }
    }

    [Fact]
    public void PasteReplacesExactlyTheBottomRightPixels()
    {
        // Two 2-channel 5x6 images with distinct pixel values; a 2x2 patch per channel.
        const int n = 2, c = 2, h = 5, w = 6, p = 2;
        var original = Enumerable.Range(0, n * c * h * w).Select(i => i / 1000f).ToArray();
        float[] pattern = { 0.9f, 0.8f, 0.7f, 0.6f, /* channel 1: */ 0.1f, 0.2f, 0.3f, 0.4f };
        using var images = tensor(original, new long[] { n, c, h, w });
        using var trigger = new PatchTrigger(tensor(pattern, new long[] { c, p, p }));
        using var pasted = trigger.Paste(images);
        var got = AttackTestData.Values(pasted);
        for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
        for (int r = 0; r < h; r++)
        for (int col = 0; col < w; col++)
        {
            int at = ((i * c + ch) * h + r) * w + col;
            bool inPatch = r >= h - p && col >= w - p;
            float expected = inPatch ? pattern[(ch * p + (r - (h - p))) * p + (col - (w - p))] : original[at];
            Assert.Equal(expected, got[at]);
        }
        Assert.Equal(original, AttackTestData.Values(images));   // the input is not modified
    }

    [Fact]
    public void DifferentiablePasteEqualsPaste()
    {
        using var images = AttackTestData.Images(3);
        using var trigger = new PatchTrigger(rand(new long[] { 1, 4, 4 }, generator: new Generator().manual_seed(3)));
        using var a = trigger.Paste(images);
        using var b = PatchTrigger.PasteDifferentiable(images, trigger.Pattern);
        Assert.Equal(AttackTestData.Values(a), AttackTestData.Values(b));
    }

    [Fact]
    public void TriggerThatDoesNotFitIsAUsageError()
    {
        using var images = AttackTestData.Images(1);
        using var big = PatchTrigger.Constant(1, 13);
        var e = Assert.Throws<UsageException>(() => big.Paste(images));
        Assert.Contains("trigger.size 13", e.Message);
        using var rgb = PatchTrigger.Constant(3, 4);
        Assert.Throws<UsageException>(() => rgb.Paste(images));
        Assert.Throws<UsageException>(() => PatchTrigger.Constant(1, 0));
    }

    [Fact]
    public void SaveLoadRoundTripAndPng()
    {
        var values = new float[] { 0f, 0.25f, 0.5f, 1f, 0.1f, 0.2f, 0.3f, 0.4f, 0.6f };
        using var trigger = new PatchTrigger(tensor(values, new long[] { 1, 3, 3 }));
        string bin = Path.Combine(dir, "trigger.bin"), png = Path.Combine(dir, "trigger.png");
        trigger.Save(png, bin, pngScale: 4);
        using var loaded = PatchTrigger.Load(bin);
        Assert.Equal(3, loaded.Size);
        Assert.Equal(1, loaded.Channels);
        Assert.Equal(values, loaded.Values());
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));

        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal(12, bitmap.Width);
        Assert.Equal(12, bitmap.Height);
        // Nearest neighbour, scale 4: output pixel (x, y) shows pattern row y/4, column x/4.
        Assert.Equal(51, bitmap.GetPixel(9, 6).Red);       // row 1, column 2 = 0.2 -> 51
        Assert.Equal(255, bitmap.GetPixel(0, 7).Red);      // row 1, column 0 = 1.0 -> 255
        Assert.Equal(0, bitmap.GetPixel(3, 3).Red);        // row 0, column 0 = 0.0 -> 0
        Assert.Equal(102, bitmap.GetPixel(5, 11).Red);     // row 2, column 1 = 0.4 -> 102
    }

    [Fact]
    public void DamagedTriggerFilesAreDataErrors()
    {
        Directory.CreateDirectory(dir);
        using var trigger = PatchTrigger.Constant(1, 4, 0.5);
        string good = Path.Combine(dir, "good.bin");
        trigger.SaveTensor(good);
        byte[] bytes = File.ReadAllBytes(good);

        void Expect(string name, byte[] content, string problem)
        {
            string path = Path.Combine(dir, name);
            File.WriteAllBytes(path, content);
            var e = Assert.Throws<DataException>(() => PatchTrigger.Load(path));
            Assert.Equal(path, e.Path);
            Assert.StartsWith(path, e.Message);
            Assert.Contains(problem, e.Message);
        }

        Expect("truncated.bin", bytes[..(bytes.Length - 7)], "truncated");
        var flipped = (byte[])bytes.Clone();
        flipped[20] ^= 0x01;                                   // one bit of a value
        Expect("flipped.bin", flipped, "checksum");
        var magic = (byte[])bytes.Clone();
        magic[0] = (byte)'X';
        Expect("magic.bin", magic, "HBDTRIG1");
        Expect("short.bin", bytes[..10], "shorter than the header");
        var e2 = Assert.Throws<DataException>(() => PatchTrigger.Load(Path.Combine(dir, "missing.bin")));
        Assert.Contains("not found", e2.Message);
    }
}
