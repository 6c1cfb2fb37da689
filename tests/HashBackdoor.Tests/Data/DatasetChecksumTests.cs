using HashBackdoor.Data;

namespace HashBackdoor.Tests.Data;

public class DatasetChecksumTests
{
    [Fact]
    public void KnownDigestManifestRoundTripAndVerify()
    {
        using var dir = new TempDir();
        var f = dir.WriteText("abc.txt", "abc");
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", DatasetChecksum.OfFile(f));
        var sums = DatasetChecksum.OfFiles(new[] { f });
        var manifest = dir.File("run/checksums.sha256");
        DatasetChecksum.WriteManifest(manifest, sums);
        Assert.Equal($"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  {Path.GetFullPath(f)}\n", File.ReadAllText(manifest));
        var back = DatasetChecksum.ReadManifest(manifest);
        Assert.Equal(sums, back);
        Assert.Empty(DatasetChecksum.Verify(back));
        Assert.Equal(64, DatasetChecksum.Combined(back).Length);
        File.WriteAllText(f, "abd");
        Assert.Contains("expected ba7816bf", Assert.Single(DatasetChecksum.Verify(back)));
        File.Delete(f);
        Assert.EndsWith("missing", Assert.Single(DatasetChecksum.Verify(back)));
        var bad = dir.WriteText("bad.sha256", "xyz  /a\n");
        var e = Assert.Throws<DataException>(() => DatasetChecksum.ReadManifest(bad));
        Assert.Contains("bad.sha256: line 1", e.Message);
        Assert.Throws<DataException>(() => DatasetChecksum.OfFile(dir.File("none")));
    }
}
