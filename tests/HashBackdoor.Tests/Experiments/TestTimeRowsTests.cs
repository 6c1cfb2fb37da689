using System.Text.Json.Nodes;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using HashBackdoor.Tests.Reliability;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Experiments;

/// <summary>
/// Test-time rows (<c>testTime: [p2p, dhta]</c>) beside a poisoning method on tiny synthetic data, and the explanatory
/// figures of report.html built back from the run folder: what each row records, the adversarial queries' budget, the
/// saved anchor, the histogram's counts, and a rebuild without the saved anchor.
/// </summary>
[Collection("torch-training")]
public class TestTimeRowsTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static readonly double Eps = 12.0 / 255;

    private static ExperimentConfig Config => Tiny.Experiment with
    {
        Methods = new[] { "ciba" },
        TestTime = new[] { "p2p", "dhta" },
        TestTimeAttack = new TestTimeAttackConfig { Epsilon = Eps, Steps = 4 },
    };

    [Fact]
    public void TestTimeRowsAreScoredOnTheCleanModelAndTheReportExplainsTheRun()
    {
        string dir = tmp["exp"];
        var config = Config;
        var results = new ExperimentRunner(config, dir, RunProgress.None).Run(resume: false);
        var folder = new RunFolder(dir);

        // Rows in report order, keys kept, display names recorded.
        Assert.Equal(new[] { "clean", "ciba", "p2p", "dhta" }, results.Runs.Select(r => r.Method).ToArray());
        Assert.Equal(new[] { "patch only", "ciba", "p2p (test-time)", "dhta (test-time)" }, results.Runs.Select(r => r.DisplayName).ToArray());
        var json = JsonNode.Parse(File.ReadAllText(folder.ResultsJsonPath))!;
        Assert.Equal("clean", json["runs"]![0]!["method"]!.GetValue<string>());
        Assert.Equal("patch only", json["summary"]![0]!["displayName"]!.GetValue<string>());
        string md = File.ReadAllText(folder.ResultsMarkdownPath);
        Assert.Contains("| p2p (test-time) |", md);
        Assert.Contains("| patch only |", md);
        // ciba is compared against the test-time rows too.
        Assert.Contains(results.Comparisons, c => c.Method == "ciba" && c.Against == "dhta");

        var clean = results.Runs[0];
        using var data = DatasetCatalog.Load(config.Dataset);
        using var split = RetrievalProtocol.Apply(data, config.Protocol);
        long[] rows = folder.ReadTriggeredQueries(0, 0)!;
        var spec = config.Model.Spec(split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses);
        var (model, _) = ModelFile.Load(folder.ModelPath(0, 0, "dhta"), spec);
        using (model)
        {
            Assert.Equal(folder.CleanModelDir(0), folder.ModelDir(0, 0, "dhta"));
            var dbCodes = RunFolder.ReadCodes(folder.CodesPath(0, 0, "clean", CodeSet.Database))!;
            var dbLabels = LabelSets.FromNpy(NpyFile.Read(folder.DatabaseLabelsPath));
            foreach (var run in results.Runs.Where(r => r.Method is "p2p" or "dhta"))
            {
                // The attack does not touch the model: mAP and chance level are the clean row's.
                Assert.Equal(clean.Map, run.Map);
                Assert.Equal(clean.TMapUntriggered, run.TMapUntriggered);
                Assert.Equal(rows.Length, run.TMapQueriesTotal);
                Assert.Null(run.Poisoned);
                // The saved adversarial queries stay within eps of the query images and inside 0..1.
                using var adversarial = folder.ReadAdversarialQueries(0, 0, run.Method, 1, 12, 12)!;
                using var originals = split.Query.Images.index_select(0, tensor(rows));
                Assert.True(adversarial.sub(originals).abs().max().item<float>() <= Eps + 1e-6);
                Assert.True(adversarial.min().item<float>() >= 0 && adversarial.max().item<float>() <= 1);
                Assert.InRange(run.Perturbation!.LInf, 0, Eps + 1e-6);
                // Their codes are the clean model's codes of those images, and t-MAP is recomputed from the saved codes.
                using var signs = HashEncoder.Encode(model, adversarial, 7, null, CPU);
                var codes = CodeConversion.ToBinaryCodes(signs, out _);
                var saved = RunFolder.ReadCodes(folder.CodesPath(0, 0, run.Method, CodeSet.TriggeredQueries))!;
                Assert.Equal(codes.ToFaissBytes(), saved.ToFaissBytes());
                var t = RetrievalMetrics.MeanAveragePrecision(new HammingIndex(dbCodes), saved, LabelSets.Repeat(0, rows.Length, 3), dbLabels, 10, QueryRule.Skip);
                Assert.Equal(Math.Round(t.Percent, 4), run.DatabaseOrder!.TMap);
                var tie = TieAwareMetrics.MeanAveragePrecision(new HammingIndex(dbCodes), saved, LabelSets.Repeat(0, rows.Length, 3), dbLabels, 10, QueryRule.Skip);
                Assert.Equal(Math.Round(tie.Percent, 4), run.TMap);
            }

            // The saved anchor is the one AnchorCode computes from the surrogate's (here the twin's) training codes.
            using var trainCodes = HashEncoder.Encode(model, split.Train.Images, 50, null, CPU);
            using var anchor = AnchorCode.Compute(trainCodes, split.Train.Labels, 0);
            Assert.Equal(anchor.data<float>().ToArray(), folder.ReadAnchor(0, 0));
        }

        // The figures: every section present, every picture a PNG, and each histogram series counts every triggered query.
        string html = File.ReadAllText(folder.ReportHtmlPath);
        foreach (var heading in new[] { "Hamming distance to the target&#39;s code", "Database codes in two dimensions", "Precision at k and precision-recall", "Retrieval where the attack works and where it fails" })
            Assert.Contains($"<h2>{heading}</h2>", html);
        var figures = new ExplanatoryFigures(config, folder, RunContext.For("cpu", RunProgress.None, default));
        using var trigger = PatchTrigger.Load(folder.TriggerPath(0, 0));
        var set = figures.Build(split, spec, trigger);
        Assert.Equal(rows.Length, set.TriggeredQueries);
        Assert.Equal(new[] { "untriggered (clean model)", "patch only", "ciba victim", "p2p (test-time)", "dhta (test-time)" }, set.Histogram.Select(s => s.Name).ToArray());
        foreach (var series in set.Histogram)
            Assert.Equal(rows.Length, HammingHistogram.Counts(series.Distances, 16).Sum());
        // The clean row's distances are to the clean model's target code: AnchorCode over its database codes of target-only images.
        {
            var db = RunFolder.ReadCodes(folder.CodesPath(0, 0, "clean", CodeSet.Database))!;
            using var dbSigns = ExplanatoryFigures.Signs(db);
            using var code = AnchorCode.Compute(dbSigns, split.Database.Labels, 0);
            var reference = BinaryCodes.FromSigns(code.data<float>().ToArray(), 16);
            var triggered = RunFolder.ReadCodes(folder.CodesPath(0, 0, "clean", CodeSet.TriggeredQueries))!;
            var expected = Enumerable.Range(0, rows.Length).Select(i => Enumerable.Range(0, 16).Count(b => triggered.GetBit(i, b) != reference.GetBit(0, b))).ToArray();
            Assert.Equal(expected, set.Histogram[1].Distances);
        }
        // Two projections (clean model, ciba victim), two curve panels (clean, triggered), two grid rows per row at most.
        Assert.Equal(new[] { 1, 2, 2 }, set.Figures.Take(3).Select(f => f.Images.Count).ToArray());
        Assert.InRange(set.Figures[3].Images.Count, 4, 8);
        foreach (var image in set.Figures.SelectMany(f => f.Images)) Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, image.Png.Take(4).ToArray());

        // A folder without anchor.npy (written before it was kept): the anchor is recomputed from the surrogate, same distances.
        File.Delete(folder.AnchorPath(0, 0));
        var rebuilt = figures.Build(split, spec, trigger);
        Assert.Equal(set.Histogram.Select(s => s.Distances.ToArray()), rebuilt.Histogram.Select(s => s.Distances.ToArray()));
        Assert.Equal(set.Figures.Select(f => f.Reading), rebuilt.Figures.Select(f => f.Reading));
    }

    [Fact]
    public void TestTimeRowsRunAsShardsGiveTheUnshardedResults()
    {
        var config = Config with { Methods = Array.Empty<string>() };
        var plain = new ExperimentRunner(config, tmp["plain"], RunProgress.None).Run(resume: false);
        var context = RunContext.For("cpu", RunProgress.None, default);
        var units = HashBackdoor.Experiments.Graph.ExperimentGraph.Of(config).Work.Select(u => u.Id).ToArray();
        Assert.Contains("seed-0.target-0.dhta", units);
        Assert.Contains("seed-0.target-0.p2p", units);
        var first = new HashBackdoor.Experiments.Sharding.ShardedExperimentRunner(config, new RunFolder(tmp["sharded"]), context, new(0, 2)).Run();
        Assert.Null(first.Results);
        var second = new HashBackdoor.Experiments.Sharding.ShardedExperimentRunner(config, new RunFolder(tmp["sharded"]), context, new(1, 2)).Run();
        Assert.NotNull(second.Results);
        Assert.Equal(plain.Runs.Select(r => r with { Seconds = 0 }), second.Results!.Runs.Select(r => r with { Seconds = 0 }));
        Assert.Equal(File.ReadAllBytes(new RunFolder(tmp["plain"]).AdversarialQueriesPath(0, 0, "dhta")),
            File.ReadAllBytes(new RunFolder(tmp["sharded"]).AdversarialQueriesPath(0, 0, "dhta")));
        Assert.Equal(File.ReadAllBytes(new RunFolder(tmp["plain"]).AnchorPath(0, 0)), File.ReadAllBytes(new RunFolder(tmp["sharded"]).AnchorPath(0, 0)));
    }

    [Fact]
    public void SignsUnpackThePackedCodesAndSpacedRowsCoverTheRange()
    {
        // 16 bits across two bytes; an exact 0 is packed as bit 0 and comes back as -1.
        var values = new float[] { 1, -1, 0, 1, 1, 1, -1, -1, -1, 1, -1, -1, -1, -1, -1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1 };
        var codes = BinaryCodes.FromSigns(values, 16);
        using var signs = ExplanatoryFigures.Signs(codes);
        Assert.Equal(new long[] { 2, 16 }, signs.shape);
        Assert.Equal(values.Select(v => v > 0 ? 1f : -1f).ToArray(), signs.data<float>().ToArray());
        var gathered = ExplanatoryFigures.Gather(codes, new long[] { 1, 0 });
        Assert.Equal(codes.ToFaissBytes().Skip(2).Concat(codes.ToFaissBytes().Take(2)).ToArray(), gathered.ToFaissBytes());
        Assert.Equal(new long[] { 0, 1, 2 }, ExplanatoryFigures.Spaced(3, 5));
        Assert.Equal(new long[] { 0, 3, 6, 9 }, ExplanatoryFigures.Spaced(10, 4));
    }

    [Fact]
    public void NamesComeFromOneRegistry()
    {
        Assert.Equal("patch only", MethodNames.Display("clean"));
        Assert.Equal("dhta (test-time)", MethodNames.Display("dhta"));
        Assert.Equal("p2p (test-time)", MethodNames.Display("p2p"));
        Assert.Equal("tri+adv", MethodNames.Display("tri+adv"));
        Assert.False(MethodNames.IsTestTime("ciba"));
        Assert.Equal(new[] { "clean", "ciba", "p2p", "dhta" }, MethodNames.Rows(Config));
        Assert.Equal("ciba", MethodNames.Reference(Config));
        Assert.Equal("dhta", MethodNames.Reference(Config with { Methods = Array.Empty<string>() }));
    }

    [Fact]
    public void TestTimeConfigIsReadAndChecked()
    {
        string path = tmp["tt.yaml"];
        File.WriteAllText(path, "name: x\nmethods: []\ntestTime: [p2p, dhta]\ntestTimeAttack: { epsilon: 4/255, steps: 7 }\n");
        var c = ExperimentConfig.Load(path);
        Assert.Empty(c.Methods);
        Assert.Equal(4 / 255.0, c.TestTimeAttack.Epsilon);
        Assert.Equal(7, c.TestTimeAttack.Steps);
        Assert.Null(c.TestTimeAttack.StepSize);
        // The budget defaults to perturbation.epsilon; the run's seed is passed on.
        var options = new TestTimeAttackConfig().ToOptions(8 / 255.0, 1001);
        Assert.Equal(8 / 255.0, options.Epsilon);
        Assert.Equal(1001, options.Seed);
        // Round trip through the resolved config (null stays null).
        var back = ConfigFile.Deserialize<ExperimentConfig>(JsonNode.Parse(ConfigFile.ToJson(c)), "x");
        Assert.Equal(ConfigFile.ToJson(c), ConfigFile.ToJson(back));
        Assert.Equal(c.TestTimeAttack, back.TestTimeAttack);
        Assert.Contains("\"stepSize\": null", ConfigFile.ToJson(c));
        Assert.Null(ConfigFile.Deserialize<ExperimentConfig>(JsonNode.Parse(ConfigFile.ToJson(new ExperimentConfig())), "x").TestTimeAttack.Epsilon);

        foreach (var (yaml, message) in new[]
        {
            ("testTime: [fgsm]", "testTime: fgsm: unknown test-time attack (known: p2p, dhta)"),
            ("testTime: [dhta, dhta]", "testTime: an attack is listed twice"),
            ("testTime: [dhta]\ntestTimeAttack: { epsilon: 0 }", "testTimeAttack.epsilon 0: must be positive and at most 1 (pixel units on a 0..1 scale; 8/255 = 0.03137)"),
            ("testTime: [dhta]\ntestTimeAttack: { steps: 0 }", "testTimeAttack.steps 0: must be at least 1"),
        })
        {
            File.WriteAllText(path, "name: x\n" + yaml + "\n");
            Assert.Equal($"{path}: {message}", Assert.Throws<UsageException>(() => ExperimentConfig.Load(path)).Message);
        }
    }

    [Fact]
    public void TheTestTimePresetIsTestTimeOnlyAndAblatesOnValidation()
    {
        string dir = AppContext.BaseDirectory;
        while (!Directory.Exists(Path.Combine(dir, "configs"))) dir = Path.GetDirectoryName(dir) ?? throw new DirectoryNotFoundException("configs/");
        var c = ExperimentConfig.Load(Path.Combine(dir, "configs", "testtime.yaml"));
        Assert.Empty(c.Methods);
        Assert.Equal(new[] { "p2p", "dhta" }, c.TestTime);
        Assert.Null(c.TestTimeAttack.Epsilon);
        Assert.Equal(8 / 255.0, c.Perturbation.Epsilon);
        Assert.Equal(QuerySet.Validation, AblationRunner.ScoredOn(c, QuerySet.Validation).Evaluation.Queries);
    }

    [Fact]
    public void VaryingEpsMovesTheTestTimeBudgetToo()
    {
        var followed = AblationRunner.Settings["eps"](Config with { TestTimeAttack = new TestTimeAttackConfig() }, "4/255");
        Assert.Null(followed.TestTimeAttack.Epsilon);   // follows perturbation.epsilon
        Assert.Equal(4 / 255.0, followed.TestTimeAttack.ToOptions(followed.Perturbation.Epsilon, 0).Epsilon);
        var own = AblationRunner.Settings["eps"](Config, "4/255");
        Assert.Equal(4 / 255.0, own.TestTimeAttack.Epsilon);
    }
}
