using HashBackdoor.Experiments;

namespace HashBackdoor.Tests.Experiments;

public class ResolvedConfigTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hbd-resolved").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void ARunFoldersResolvedConfigLoadsAsTheSameConfig()
    {
        var config = new ExperimentConfig { Name = "redo", Targets = new[] { 2 }, Seeds = new[] { 7L }, Poison = new PoisonConfig { Count = 9 } };
        var record = new ResolvedConfig
        {
            Config = config, ToolkitVersion = "0.1.0", DatasetChecksums = new Dictionary<string, string> { ["a"] = "00" }, Machine = "m",
        };
        string path = Path.Combine(dir, RunFolder.ResolvedConfigName);
        File.WriteAllText(path, ConfigFile.ToJson(record));
        var loaded = ExperimentConfig.Load(path);
        Assert.Equal(ConfigFile.ToJson(config), ConfigFile.ToJson(loaded));
        Assert.Equal(9, loaded.Poison.Count);
        Assert.Equal(new[] { 7L }, loaded.Seeds);
    }

    [Fact]
    public void APlainJsonConfigWithAnUnknownKeyIsStillRejected()
    {
        string path = Path.Combine(dir, "c.json");
        File.WriteAllText(path, "{\"config\": {}, \"name\": \"x\"}");
        var e = Assert.Throws<UsageException>(() => ExperimentConfig.Load(path));
        Assert.Contains("config", e.Message);
    }
}
