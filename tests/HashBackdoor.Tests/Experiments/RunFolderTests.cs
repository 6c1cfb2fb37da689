using HashBackdoor.Attacks;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Attacks;
using HashBackdoor.Tests.Reliability;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Experiments;

/// <summary><see cref="RunFolder"/>: the documented layout (docs/run-folder.md), shared model folders, and poison sets
/// that come back from disk equal to the set that was written.</summary>
[Collection("Attacks")]
public class RunFolderTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void PathsFollowTheDocumentedLayout()
    {
        string root = tmp["run"];
        var f = new RunFolder(root);
        string P(params string[] parts) => Path.Combine(new[] { root }.Concat(parts).ToArray());
        Assert.Equal(P("config.resolved.json"), f.ResolvedConfigPath);
        Assert.Equal(P("results.json"), f.ResultsJsonPath);
        Assert.Equal(P("report.html"), f.ReportHtmlPath);
        Assert.Equal(P("query_labels.npy"), f.QueryLabelsPath);
        Assert.Equal(P("seed-3", "clean", "model.hbm"), RunFolder.ModelFileIn(f.CleanModelDir(3)));
        Assert.Equal(P("seed-3", "surrogate"), f.SurrogateModelDir(3));
        Assert.Equal(P("seed-3", "target-2", "trigger.bin"), f.TriggerPath(3, 2));
        Assert.Equal(P("seed-3", "target-2", "triggered_queries.npy"), f.TriggeredQueriesPath(3, 2));
        Assert.Equal(P("seed-3", "target-2", "tri_noise", "model.hbm"), f.ModelPath(3, 2, "tri+noise"));
        Assert.Equal(P("seed-3", "clean", "model.hbm"), f.ModelPath(3, 2, "clean"));
        Assert.Equal(P("seed-3", "target-2", "ciba", "result.json"), f.ResultPath(3, 2, "ciba"));
        Assert.Equal(P("seed-3", "target-2", "clean", "result.json"), f.ResultPath(3, 2, "clean"));
        Assert.Equal(P("seed-3", "clean", "database_codes.npy"), f.CodesPath(3, 2, "clean", CodeSet.Database));
        Assert.Equal(P("seed-3", "target-2", "clean", "triggered_query_codes.npy"), f.CodesPath(3, 2, "clean", CodeSet.TriggeredQueries));
        Assert.Equal(P("seed-3", "target-2", "tri_adv", "query_codes.npy"), f.CodesPath(3, 2, "tri+adv", CodeSet.Query));
        Assert.Equal(P("seed-3", "target-2", "ciba", "poison", "poison.json"), f.PoisonRecordPath(3, 2, "ciba"));
        Assert.Equal(P("seed-3", "target-2", "ciba", "poison", "perturbed.npy"), f.PerturbedImagesPath(3, 2, "ciba"));
        Assert.Equal(P("seed-3", "checkpoint"), RunFolder.CheckpointDirIn(f.SeedDir(3)));

        // Ablations share clean models and surrogates; everything else stays in the variant's folder.
        string shared = tmp["shared"];
        var g = new RunFolder(root, shared);
        Assert.Equal(Path.Combine(shared, "seed-0", "clean"), g.CleanModelDir(0));
        Assert.Equal(Path.Combine(shared, "seed-0", "surrogate"), g.SurrogateModelDir(0));
        Assert.Equal(Path.Combine(shared, "seed-0", "clean", "query_codes.npy"), g.CodesPath(0, 1, "clean", CodeSet.Query));
        Assert.Equal(P("seed-0", "target-1", "clean", "result.json"), g.ResultPath(0, 1, "clean"));
    }

    [Theory]
    [InlineData("tri+noise")]
    [InlineData("tri")]
    public void APoisonSetReadBackIsTheSetThatWasWritten(string method)
    {
        using var train = AttackTestData.Dataset(perClass: 8);
        using var trigger = new PatchTrigger(full(new long[] { 1, 3, 3 }, 0.9f));
        var options = new PoisonOptions { TargetClass = 1, Count = 3, Seed = 11, Perturbation = new PerturbationOptions { Epsilon = 0.1 } };
        using var written = PoisoningAttacks.Create(method).Poison(train, new PoisonContext(options, trigger));
        var folder = new RunFolder(tmp["run"]);
        folder.WritePoison(5, written, poisonSeed: 11, train.Count);

        var record = folder.ReadPoisonRecord(5, 1, method)!;
        Assert.Equal(method, record.Attack);
        Assert.Equal(1, record.TargetClass);
        Assert.Equal(11, record.Seed);
        Assert.Equal(written.PoisonedIndices, record.Indices);
        Assert.All(record.Indices, i => Assert.Equal(1, (int)(i % 3))); // class-1 rows of the cycling labels
        Assert.Equal(method == "tri", record.TriggerAfterAugmentation);
        Assert.Equal(new[] { 3, 1, 12, 12 }, record.Shape);
        Assert.Equal(train.Count, record.TrainCount);

        using var read = folder.ReadPoison(5, 1, method, train, trigger)!;
        Assert.True(AttackTestData.Same(written.Dataset.Images, read.Dataset.Images));
        Assert.True(AttackTestData.Same(written.Dataset.Labels, read.Dataset.Labels));
        Assert.True(AttackTestData.Same(written.PerturbedImages, read.PerturbedImages));
        Assert.True(AttackTestData.Same(written.PoisonedImages, read.PoisonedImages));
        Assert.Equal(written.Plan.AfterAugmentation is null, read.Plan.AfterAugmentation is null);
        if (written.Plan.Augmentable is not null) Assert.True(AttackTestData.Same(written.Plan.Augmentable.to_type(ScalarType.Float32), read.Plan.Augmentable!.to_type(ScalarType.Float32)));
        Assert.Null(folder.ReadPoison(5, 2, method, train, trigger));
    }

    [Fact]
    public void APoisonRecordForAnotherTrainingSetIsDataError()
    {
        using var train = AttackTestData.Dataset(perClass: 8);
        using var other = AttackTestData.Dataset(perClass: 9);
        using var trigger = new PatchTrigger(full(new long[] { 1, 3, 3 }, 0.9f));
        using var set = PoisoningAttacks.Create("tri+noise").Poison(train, new PoisonContext(new PoisonOptions { TargetClass = 0, Count = 2 }, trigger));
        var folder = new RunFolder(tmp["run"]);
        folder.WritePoison(0, set, 0, train.Count);
        var e = Assert.Throws<DataException>(() => folder.ReadPoison(0, 0, "tri+noise", other, trigger));
        Assert.Equal(folder.PoisonRecordPath(0, 0, "tri+noise"), e.Path);
        Assert.Contains("25 images, this one has 28", e.Message);
    }
}
