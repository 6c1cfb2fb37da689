using System.Text.Json.Nodes;
using HashBackdoor.Data;
using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Experiments.Statistics;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary><c>hashbd ablate</c> scores on the validation queries by default (refusing a config without them), reports
/// the spread over (target, seed) blocks and pairs each value's t-MAP with the first value's; a test-time-only config
/// ablates P2P/DHTA.</summary>
[Collection("torch-training")]
public class AblationScoringTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private const string NoValidation = "protocol.validationPerClass: the config has no validation queries, which hashbd ablate scores on by default; set it (e.g. 100) or set scoredOn to test";

    /// <summary>The same as the command line shows it (FlagErrors: the flag for the parameter).</summary>
    private const string NoValidationCli = "protocol.validationPerClass: the config has no validation queries, which hashbd ablate scores on by default; set it (e.g. 100) or pass --queries test";

    [Fact]
    public void ValidationIsTheDefaultAndNeedsValidationQueries()
    {
        string dir = tmp["ablation"];
        var e = Assert.Throws<UsageException>(() => AblationRunner.Run(Tiny.Experiment, "poisons=2,3", dir, resume: false, RunProgress.None));
        Assert.Equal(NoValidation, e.Message);
        Assert.False(Directory.Exists(dir));
        Assert.Equal(QuerySet.Test, AblationRunner.ScoredOn(Tiny.Experiment, QuerySet.Test).Evaluation.Queries);
        var withValidation = Tiny.Experiment with { Protocol = Tiny.Protocol with { ValidationPerClass = 2 } };
        Assert.Equal(QuerySet.Validation, AblationRunner.ScoredOn(withValidation, QuerySet.Validation).Evaluation.Queries);

        string config = tmp["tiny.json"];
        File.WriteAllText(config, ConfigFile.ToJson(Tiny.Experiment));
        var r = Hashbd.Run("ablate", "--config", config, "--vary", "poisons=2,3", "--out", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: error: " + NoValidationCli, r.SingleErrorLine());
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void EachValueIsPairedWithTheFirstOverTheSameBlocks()
    {
        static RunResult R(string method, int target, long seed, double tmap) => new() { Method = method, Target = target, Seed = seed, TMap = tmap };
        var first = new[] { R("ciba", 0, 0, 10), R("ciba", 1, 0, 20), R("ciba", 0, 1, 30) };
        // second value: +5, +10, -1 on the same blocks, plus a block the first value lacks (left out) and a new method (no pair)
        var second = new[] { R("ciba", 0, 0, 15), R("ciba", 1, 0, 30), R("ciba", 0, 1, 29), R("ciba", 2, 0, 99), R("dhta", 0, 0, 50) };
        var list = ValueComparison.AgainstFirst(new (string, IReadOnlyList<RunResult>)[] { ("2/255", first), ("8/255", second) });
        var c = Assert.Single(list);
        Assert.Equal(("ciba", "8/255", "2/255"), (c.Method, c.Value, c.First));
        Assert.Equal(3, c.Paired.Blocks);
        Assert.Equal(2, c.Paired.Wins);
        Assert.Equal((5 + 10 - 1) / 3.0, c.Paired.MeanDifference, 12);
        // Blocks in (seed, target) order: (0,0), (0,1), (1,0).
        var expected = PairedComparison.Of("8/255", "2/255", "tMAP", new[] { (15.0, 10.0), (30.0, 20.0), (29.0, 30.0) }, seed: 0);
        Assert.Equal(expected, c.Paired);
        Assert.Empty(ValueComparison.AgainstFirst(new (string, IReadOnlyList<RunResult>)[] { ("2/255", first) }));
    }

    [Fact]
    public void TestTimeOnlyAblationOnValidationQueries()
    {
        string dir = tmp["tt"];
        var config = Tiny.Experiment with
        {
            Protocol = Tiny.Protocol with { ValidationPerClass = 2 },
            Methods = Array.Empty<string>(),
            TestTime = new[] { "dhta" },
            TestTimeAttack = new TestTimeAttackConfig { Steps = 3 },
        };
        var points = AblationRunner.Run(config, "eps=4/255,12/255", dir, resume: false, RunProgress.None);
        Assert.Equal(new[] { "4/255", "12/255" }, points.Select(p => p.Value).ToArray());
        Assert.All(points, p => Assert.Equal(new[] { "clean", "dhta" }, p.Summary.Select(s => s.Method).ToArray()));

        var variant = new RunFolder(Path.Combine(dir, "eps=12_255"), Path.Combine(dir, "shared-models"));
        var resolved = variant.ReadResolvedConfig().Config;
        Assert.Equal(QuerySet.Validation, resolved.Evaluation.Queries);
        Assert.Equal(12 / 255.0, resolved.Perturbation.Epsilon);
        var dhta = variant.ReadResult(0, 0, "dhta")!;
        // validation: 2 per class, the two non-target classes
        Assert.Equal(4, dhta.TMapQueriesTotal);
        Assert.InRange(dhta.Perturbation!.LInf, 0, 12 / 255.0 + 1e-6);
        Assert.True(File.Exists(Path.Combine(dir, "shared-models", "seed-0", "clean", "model.hbm")));

        string md = File.ReadAllText(Path.Combine(dir, "ablation.md"));
        Assert.Contains(AblationMarkdown.QueriesSentence(QuerySet.Validation), md);
        Assert.Contains("| 12/255 | dhta (test-time) |", md);
        Assert.Contains("## Each value against eps = 4/255 (t-MAP)", md);
        Assert.Contains("| dhta (test-time) | eps=12/255 − eps=4/255 |", md);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "ablation.json")))!;
        Assert.Equal("validation", json["queries"]!.GetValue<string>());
        Assert.Equal(2, json["comparisons"]!.AsArray().Count);   // clean and dhta, 12/255 against 4/255
        Assert.True(new FileInfo(Path.Combine(dir, "ablation_tmap.png")).Length > 0);
    }
}
