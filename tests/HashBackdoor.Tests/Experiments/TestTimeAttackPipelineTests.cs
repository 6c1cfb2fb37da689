using System.Text.Json;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary><c>hashbd attack-queries</c> on a tiny trained run folder: attack.json holds t-MAP under both rules beside
/// chance level, perturbation sizes within the budget, and the indices to reproduce it; bad input is one line.</summary>
[Collection("torch-training")]
public class TestTimeAttackPipelineTests : IClassFixture<CliTrainedRunFixture>, IDisposable
{
    private readonly CliTrainedRunFixture fixture;
    private readonly ScratchDir tmp = new();

    public TestTimeAttackPipelineTests(CliTrainedRunFixture fixture) => this.fixture = fixture;

    public void Dispose() => tmp.Dispose();

    private static JsonElement Read(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, TestTimeAttackPipeline.FileName))).RootElement;

    private CliResult Attack(string outDir, params string[] extra) =>
        Hashbd.Run(new[] { "attack-queries", "--model", fixture.RunDir, "--out", outDir }.Concat(extra).ToArray());

    [Fact]
    public void P2pRunRecordsBothRulesChanceBudgetAndReproducibleIndices()
    {
        string a = tmp["p2p-a"], b = tmp["p2p-b"];
        var r = Attack(a, "--target", "1", "--method", "p2p", "--eps", "8/255", "--steps", "3");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = Read(a);
        using var run = LoadedRun.Open(fixture.RunDir);
        var queryLabels = run.Split.Query.SingleLabels();
        var trainLabels = run.Split.Train.SingleLabels();
        var rows = j.GetProperty("queryRows").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        // every non-target query (4 per class, 3 classes, target 1 excluded), ascending
        Assert.Equal(Enumerable.Range(0, queryLabels.Length).Where(i => queryLabels[i] != 1).Select(i => (long)i), rows);
        Assert.Equal(rows.Select(r2 => run.Split.QueryIndices[r2]), j.GetProperty("querySourceIndices").EnumerateArray().Select(e => e.GetInt64()));
        var targetRows = j.GetProperty("targetTrainRows").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.Equal(rows.Length, targetRows.Length);
        Assert.All(targetRows, t => Assert.Equal(1, trainLabels[t]));
        foreach (var metric in new[] { "tMap", "chanceTMap" })
        {
            var m = j.GetProperty(metric);
            double skip = m.GetProperty("skip").GetProperty("percent").GetDouble(), zero = m.GetProperty("zero").GetProperty("percent").GetDouble();
            Assert.InRange(zero, 0, skip + 1e-9);                   // zero counts the skipped queries as 0
            Assert.Equal(rows.Length, m.GetProperty("zero").GetProperty("queriesCounted").GetInt32());
        }
        Assert.InRange(j.GetProperty("maxLinf").GetDouble(), 0, 8.0 / 255 + 1e-6);
        Assert.True(j.GetProperty("meanLinf").GetDouble() > 0);
        Assert.Equal("8/255", j.GetProperty("epsilonOver255").GetString());
        Assert.Equal(rows.Length, j.GetProperty("perQueryTargetAP").GetArrayLength());

        // same seed, same numbers and indices (timings aside)
        Assert.Equal(0, Attack(b, "--target", "1", "--method", "p2p", "--eps", "8/255", "--steps", "3").ExitCode);
        var k = Read(b);
        foreach (var name in new[] { "tMap", "chanceTMap", "queryRows", "targetTrainRows", "meanL2", "meanHammingToTargetAfter", "perQueryTargetAP" })
            Assert.Equal(j.GetProperty(name).GetRawText(), k.GetProperty(name).GetRawText());
    }

    [Fact]
    public void CommaListsRunEveryCombinationIntoItsOwnFolder()
    {
        string dir = tmp["sweep"];
        var r = Attack(dir, "--target", "0", "--method", "p2p,dhta", "--eps", "2/255,4/255", "--steps", "1", "--queries", "3");
        Assert.True(r.ExitCode == 0, r.Err);
        foreach (var m in new[] { "p2p", "dhta" })
            foreach (var e in new[] { 2, 4 })
            {
                var j = Read(Path.Combine(dir, $"{m}-t0-eps{e}"));
                Assert.Equal(m, j.GetProperty("method").GetString());
                Assert.Equal(3, j.GetProperty("queryRows").GetArrayLength());
                Assert.Equal(e / 255.0, j.GetProperty("epsilon").GetDouble(), 12);
            }
    }

    [Fact]
    public void ValidationSetUsesTestSplitDatabaseImagesOnly()
    {
        string dir = tmp["val"];
        var r = Attack(dir, "--target", "2", "--method", "dhta", "--steps", "1", "--query-set", "validation", "--queries", "5");
        Assert.True(r.ExitCode == 0, r.Err);
        using var run = LoadedRun.Open(fixture.RunDir);
        long first = run.Split.DatabaseTrainIndices.Length;
        var rows = Read(dir).GetProperty("queryRows").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.Equal(5, rows.Length);
        var labels = run.Split.Database.SingleLabels();
        Assert.All(rows, row => { Assert.True(row >= first); Assert.NotEqual(2, labels[row]); });
    }

    [Theory]
    [InlineData("--eps 0", "--eps 0")]
    [InlineData("--eps -2/255", "--eps -0.00784")]
    [InlineData("--eps eight", "--eps 'eight': expected a pixel amount")]
    [InlineData("--target 3", "--target 3: unknown class")]
    [InlineData("--method fgsm", "--method fgsm")]
    [InlineData("--steps 0", "--steps 0")]
    [InlineData("--queries 0", "--queries 0")]
    public void BadInputIsOneLineUsageError(string flags, string expected)
    {
        var args = new List<string> { "--target", "1", "--steps", "1" };
        var parts = flags.Split(' ');
        int at = args.IndexOf(parts[0]);
        if (at >= 0) args[at + 1] = parts[1]; else args.AddRange(parts);
        var r = Attack(tmp["bad"], args.ToArray());
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.SingleErrorLine());
        Assert.False(File.Exists(Path.Combine(tmp["bad"], TestTimeAttackPipeline.FileName)));
    }

    [Fact]
    public void BudgetsFormatAsGreyLevels()
    {
        // Parsing is PixelBudget's (PixelBudgetTests); the pipeline formats budgets and names sweep folders.
        Assert.Equal("8/255", TestTimeAttackPipeline.FormatBudget(8.0 / 255));
        Assert.Equal("dhta-t7-eps2", TestTimeAttackPipeline.SweepFolder("DHTA", 7, 2.0 / 255));
    }
}
