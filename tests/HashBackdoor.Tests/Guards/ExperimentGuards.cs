using System.Text.Json.Nodes;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Experiments;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using HashBackdoor.Tests.Reliability;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// Guards of the threat model that only the whole pipeline can break, each on one tiny experiment run through the real
/// <see cref="ExperimentRunner"/> (tri and ciba, an independent surrogate).
/// <list type="bullet">
/// <item>Victims start from the clean model's initial weights (same seed, so also the same batch order, see
/// <see cref="VictimTrainingGuards"/>); the independent surrogate starts from other weights and another seed. The run
/// trains with learning rate 1e-9, so every saved model is within about 1e-8 of its initial weights and shows which
/// weights it started from.</item>
/// <item>The experiment's t-MAP is computed on triggered queries that carry the trigger at the bottom-right corner: every
/// t-MAP in results.json is recomputed from the saved models and trigger with an independent paste (index slices) and
/// the plain reference ranking, and must agree; pasting at any other corner gives other numbers (checked, so the
/// comparison has power).</item>
/// </list>
/// </summary>
[Collection("torch-training")]
public sealed class ExperimentGuards : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>The tiny experiment with an independent surrogate; <paramref name="learningRate"/> 1e-9 keeps every model at
    /// its initial weights.</summary>
    private static ExperimentConfig Config(double learningRate) => Tiny.Experiment with
    {
        Training = Tiny.Trainer() with { LearningRate = learningRate },
        Surrogate = SurrogateConfig.Independent,
    };

    private static HashModel Load(string path) => ModelFile.Load(path).Model;

    private static double MaxAbsDifference(HashModel a, HashModel b)
    {
        var pb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        double max = 0;
        foreach (var (name, p) in a.named_parameters())
        {
            using var d = p.sub(pb[name]).abs().max();
            max = Math.Max(max, d.item<float>());
        }
        return max;
    }

    private static (string Clean, string Surrogate, Dictionary<string, string> Victims, string TargetDir) Paths(string dir, ExperimentConfig config)
    {
        string seedDir = Path.Combine(dir, "seed-0"), targetDir = Path.Combine(seedDir, "target-0");
        return (Path.Combine(seedDir, "clean", "model.hbm"), Path.Combine(seedDir, "surrogate", "model.hbm"),
            config.Methods.ToDictionary(m => m, m => Path.Combine(targetDir, m.Replace('+', '_'), "model.hbm")), targetDir);
    }

    [Fact]
    public void VictimsStartFromTheCleanModelsInitialWeightsAndTheIndependentSurrogateDoesNot()
    {
        string dir = tmp["init"];
        var config = Config(1e-9);
        new ExperimentRunner(config, dir, RunProgress.None).Run(resume: false);
        var (cleanPath, surrogatePath, victimPaths, _) = Paths(dir, config);
        using var clean = Load(cleanPath);
        using var surrogate = Load(surrogatePath);
        long cleanSeed = ModelFile.ReadMetadata(cleanPath).Seed;
        foreach (var (method, path) in victimPaths)
        {
            using var victim = Load(path);
            double d = MaxAbsDifference(clean, victim);
            Assert.True(d < 1e-6, $"{method} victim differs from the clean model by {d} (initial weights not shared)");
            Assert.Equal(cleanSeed, ModelFile.ReadMetadata(path).Seed);
        }
        double ds = MaxAbsDifference(clean, surrogate);
        Assert.True(ds > 1e-2, $"the independent surrogate is within {ds} of the clean model (same initial weights)");
        Assert.NotEqual(cleanSeed, ModelFile.ReadMetadata(surrogatePath).Seed);
    }

    [Fact]
    public void TheExperimentsTMapIsMeasuredOnQueriesTriggeredAtTheBottomRightCorner()
    {
        string dir = tmp["tmap"];
        var config = Config(Tiny.Trainer().LearningRate);
        new ExperimentRunner(config, dir, RunProgress.None).Run(resume: false);
        var (cleanPath, _, victimPaths, targetDir) = Paths(dir, config);
        using var data = DatasetCatalog.Load(config.Dataset);
        using var split = RetrievalProtocol.Apply(data, config.Protocol);
        int target = config.Targets[0];
        long[] nonTarget = Enumerable.Range(0, split.Query.Count)
            .Where(i => split.Query.Labels[i, target].item<float>() == 0).Select(i => (long)i).ToArray();
        using var queries = split.Query.Subset(nonTarget);
        using var trigger = PatchTrigger.Load(Path.Combine(targetDir, "trigger.bin"));
        var runs = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!["runs"]!.AsArray();
        var models = new Dictionary<string, string>(victimPaths) { ["clean"] = cleanPath };
        bool otherCornersDiffer = false;
        foreach (var (method, path) in models)
        {
            var run = runs.Single(r => r!["method"]!.GetValue<string>() == method)!;
            using var model = Load(path);
            var expected = TMap(model, split, queries, Corner.BottomRight, trigger, target, config.Evaluation.TopK);
            Assert.Equal(expected.QueriesTotal, run["tMAPQueriesTotal"]!.GetValue<int>());
            // The reference recomputation ranks with ties in database order: the run's databaseOrder figures.
            Assert.Equal(expected.QueriesCounted, run["databaseOrder"]!["tMAPQueriesCounted"]!.GetValue<int>());
            Assert.Equal(Math.Round(expected.Percent, 4), run["databaseOrder"]!["tMAP"]!.GetValue<double>(), 6);
            foreach (var corner in new[] { Corner.TopLeft, Corner.TopRight, Corner.BottomLeft })
            {
                var wrong = TMap(model, split, queries, corner, trigger, target, config.Evaluation.TopK);
                if (Math.Round(wrong.Percent, 4) != Math.Round(expected.Percent, 4)) otherCornersDiffer = true;
            }
        }
        Assert.True(otherCornersDiffer, "the trigger's corner changes no t-MAP here: the recomputation could not tell a misplaced trigger");
    }

    private enum Corner { TopLeft, TopRight, BottomLeft, BottomRight }

    /// <summary>t-MAP@R of <paramref name="model"/>: queries with the trigger pasted at <paramref name="corner"/> (pixels
    /// replaced through index slices), relevance = database image labelled with the target, plain reference ranking.</summary>
    private static MapResult TMap(HashModel model, ProtocolSplit split, ImageDataset queries, Corner corner, PatchTrigger trigger,
        int target, int topK)
    {
        using var scope = NewDisposeScope();
        long h = queries.Height, w = queries.Width, p = trigger.Size;
        long top = corner is Corner.TopLeft or Corner.TopRight ? 0 : h - p;
        long left = corner is Corner.TopLeft or Corner.BottomLeft ? 0 : w - p;
        var x = queries.Images.clone();
        x[TensorIndex.Ellipsis, TensorIndex.Slice(top, top + p), TensorIndex.Slice(left, left + p)] = trigger.Pattern;
        var db = CodeConversion.ToBinaryCodes(HashEncoder.Encode(model, split.Database.Images), out _);
        var q = CodeConversion.ToBinaryCodes(HashEncoder.Encode(model, x), out _);
        var dbLabels = CodeConversion.ToLabelSets(split.Database.Labels);
        var qLabels = LabelSets.Repeat(target, q.Count, split.Train.NumClasses);
        return ReferenceRetrieval.MeanAveragePrecision(db, q, qLabels, dbLabels, topK, QueryRule.Skip);
    }
}
