namespace HashBackdoor.Tests.Reliability;

/// <summary><see cref="AtomicFile"/>: a reader sees the old file, the whole new file, or no file; a failed write leaves
/// the old file as it was and no temporary file behind.</summary>
public class AtomicFileTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void WriteReplacesTheWholeFileAndCreatesTheFolder()
    {
        string path = Path.Combine(tmp["a"], "b", "f.json");
        AtomicFile.WriteAllText(path, "first version, longer than the second");
        AtomicFile.WriteAllText(path, "second");
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Equal(new[] { Path.Combine("a", "b", "f.json") }, Tiny.Files(tmp.Path));
    }

    [Fact]
    public void FailedWriteKeepsTheOldFileAndLeavesNoTemporaryFile()
    {
        string path = tmp["model.hbm"];
        AtomicFile.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal("disk full (simulated)", e.Message);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(new[] { "model.hbm" }, Tiny.Files(tmp.Path));
    }

    [Fact]
    public void FailedFirstWriteLeavesNoFile()
    {
        string path = tmp["metrics.json"];
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("{\"mAP\": 1"u8);
            throw new InvalidOperationException("interrupted");
        }));
        Assert.Empty(Tiny.Files(tmp.Path));
    }
}
