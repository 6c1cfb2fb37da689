using System.Text.Json.Nodes;
using HashBackdoor.Attacks;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Attacks;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Defenses;

/// <summary><c>hashbd defend</c> on a tiny experiment folder written by <see cref="ExperimentRunner"/>: one-line errors
/// naming the missing or damaged file (and nothing written), the poison set regenerated and saved, results written.</summary>
[Collection("torch-training")]
public class DefendCommandTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void UnknownDefenseIsAUsageErrorBeforeAnythingIsRead()
    {
        var r = Hashbd.Run("defend", "--run", tmp["nowhere"], "--defense", "nope");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--defense nope: unknown defense", r.SingleErrorLine());
    }

    [Fact]
    public void DefendReadsTheRunFolderAndNamesWhatIsMissing()
    {
        string run = tmp["exp"];
        new ExperimentRunner(Tiny.Experiment, run, RunProgress.None).Run(resume: false);
        string ciba = Path.Combine(run, "seed-0", "target-0", "ciba");

        // The runner of main saves no poison set: a filtering defense names the missing file and writes nothing.
        var missing = Hashbd.Run("defend", "--run", run, "--defense", "spectral", "--no-retrain");
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains(Path.Combine(ciba, "poison.json"), missing.SingleErrorLine());
        Assert.False(Directory.Exists(Path.Combine(ciba, "defenses")));

        // A defense that needs no poison set runs on the same folder.
        var nc = Hashbd.Run("defend", "--run", run, "--defense", "neural-cleanse", "--out", tmp["nc"]);
        Assert.True(nc.ExitCode == 0, nc.Err);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(tmp["nc"], "result.json")))!;
        Assert.Equal("neural-cleanse", json["defense"]!.GetValue<string>());
        Assert.Equal(3, json["series"]!["anomalyIndex"]!.AsArray().Count);
        Assert.Contains(Directory.GetFiles(tmp["nc"]), f => f.EndsWith("-target.png"));

        // --regenerate-poison rebuilds the set with the runner's seeds and saves it; the indices are the runner's choice.
        var spectral = Hashbd.Run("defend", "--run", run, "--defense", "spectral", "--no-retrain", "--regenerate-poison");
        Assert.True(spectral.ExitCode == 0, spectral.Err);
        Assert.True(File.Exists(Path.Combine(ciba, "defenses", "spectral", "result.json")));
        using (var saved = PoisonSetFile.Load(ciba, 24, 1, 12, 12))
        {
            Assert.Equal("ciba", saved.Manifest.Attack);
            Assert.Equal(4, saved.Indices.Length);
            Assert.Equal(PoisonSetFile.Fixed, saved.Manifest.Placement);
        }

        // Damaged victim model: one line naming it, no output folder.
        string triModel = Path.Combine(run, "seed-0", "target-0", "tri", "model.hbm");
        File.WriteAllBytes(triModel, File.ReadAllBytes(triModel)[..100]);
        var damaged = Hashbd.Run("defend", "--run", run, "--method", "tri", "--defense", "strip", "--out", tmp["tri"]);
        Assert.Equal(3, damaged.ExitCode);
        Assert.Contains(triModel, damaged.SingleErrorLine());
        Assert.False(Directory.Exists(tmp["tri"]));

        // Missing trigger.
        File.Delete(Path.Combine(run, "seed-0", "target-0", "trigger.bin"));
        var noTrigger = Hashbd.Run("defend", "--run", run, "--defense", "neural-cleanse", "--out", tmp["nc2"]);
        Assert.Equal(3, noTrigger.ExitCode);
        Assert.Contains("trigger.bin", noTrigger.SingleErrorLine());
        Assert.False(Directory.Exists(tmp["nc2"]));

        // Unknown method and a run folder that is not one.
        Assert.Equal(2, Hashbd.Run("defend", "--run", run, "--defense", "strip", "--method", "nope").ExitCode);
        var notRun = Hashbd.Run("defend", "--run", tmp.Path, "--defense", "strip");
        Assert.Equal(3, notRun.ExitCode);
        Assert.Contains("config.resolved.json", notRun.SingleErrorLine());
    }

    [Fact]
    public void PoisonSetFileRoundTripsTheTriPlacementAndRejectsDamage()
    {
        using var train = AttackTestData.Dataset(perClass: 8);
        using var trigger = PatchTrigger.Constant(1, 3, 0.9);
        var context = new PoisonContext(new PoisonOptions { TargetClass = 1, Count = 3, Seed = 5 }, trigger);
        using var set = PoisoningAttacks.Create("tri").Poison(train, context);
        string dir = tmp["tri-set"];
        PoisonSetFile.Save(dir, set);
        using (var back = PoisonSetFile.Load(dir, train.Count, 1, 12, 12))
        {
            Assert.Equal(set.PoisonedIndices, back.Indices);
            Assert.True(AttackTestData.Same(set.PoisonedImages, back.Images));
            Assert.True(back.PastedAfterAugmentation);
            Assert.Equal("tri", back.Manifest.Attack);
        }
        // Wrong training-set size, truncated images.
        Assert.Contains("poison.json", Assert.Throws<DataException>(() => PoisonSetFile.Load(dir, train.Count + 1, 1, 12, 12)).Message);
        string images = Path.Combine(dir, PoisonSetFile.ImagesFileName);
        File.WriteAllBytes(images, File.ReadAllBytes(images)[..200]);
        Assert.Equal(images, Assert.Throws<DataException>(() => PoisonSetFile.Load(dir, train.Count, 1, 12, 12)).Path);
        File.Delete(Path.Combine(dir, PoisonSetFile.ManifestFileName));
        Assert.False(PoisonSetFile.Exists(dir));
    }
}
