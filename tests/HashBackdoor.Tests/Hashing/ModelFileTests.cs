using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

public class ModelFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hbd-model").FullName;
    private static readonly HashModelSpec Spec = new("small-cnn", 16, 1, 12, 12, 3);

    public void Dispose() => Directory.Delete(dir, true);

    private string SaveOne(out Tensor codes)
    {
        manual_seed(5);
        using var model = new HashModel(Spec);
        model.eval();
        using var x = rand(4, 1, 12, 12, generator: new Generator().manual_seed(1));
        codes = HashEncoder.Encode(model, x);
        string path = Path.Combine(dir, "m.hbm");
        ModelFile.Save(path, model, new ModelMetadata { Spec = Spec, Loss = "pairwise", EpochsTrained = 3 });
        return path;
    }

    [Fact]
    public void RoundTripGivesTheSameCodesAndMetadata()
    {
        string path = SaveOne(out var before);
        var (model, meta) = ModelFile.Load(path, Spec);
        using (model)
        {
            using var x = rand(4, 1, 12, 12, generator: new Generator().manual_seed(1));
            using var after = HashEncoder.Encode(model, x);
            Assert.True(before.eq(after).all().item<bool>());
        }
        Assert.Equal(3, meta.EpochsTrained);
        Assert.Equal(Spec, meta.Spec);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void WrongBitsAreRefused()
    {
        string path = SaveOne(out _);
        var e = Assert.Throws<DataException>(() => ModelFile.Load(path, Spec with { Bits = 32 }));
        Assert.Contains("m.hbm", e.Message);
        Assert.Contains("16 bits", e.Message);
    }

    [Fact]
    public void TruncatedFileIsRefused()
    {
        string path = SaveOne(out _);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<DataException>(() => ModelFile.Load(path));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void FlippedPayloadByteFailsTheChecksum()
    {
        string path = SaveOne(out _);
        var bytes = File.ReadAllBytes(path);
        bytes[^10] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataException>(() => ModelFile.Load(path));
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void OtherFilesAreNotModels()
    {
        string path = Path.Combine(dir, "x.hbm");
        File.WriteAllText(path, "definitely not a model file at all");
        var e = Assert.Throws<DataException>(() => ModelFile.Load(path));
        Assert.Contains("bad magic", e.Message);
        Assert.Throws<DataException>(() => ModelFile.Load(Path.Combine(dir, "missing.hbm")));
    }
}
