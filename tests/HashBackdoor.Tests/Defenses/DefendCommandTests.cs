using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Defenses;

/// <summary><c>hashbd defend</c> on a tiny experiment folder written by <see cref="ExperimentRunner"/>: one-line errors
/// naming the missing or damaged file (and nothing written), the saved poison set read, results written.</summary>
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
        // --retrain chooses the matrix's retraining filters: not for a single defense, not with --no-retrain.
        var single = Hashbd.Run("defend", "--run", tmp["nowhere"], "--defense", "spectral", "--retrain", "spectral");
        Assert.Equal(2, single.ExitCode);
        Assert.Contains("--retrain: only with --defense all or a list", single.SingleErrorLine());
        var both = Hashbd.Run("defend", "--run", tmp["nowhere"], "--defense", "all", "--retrain", "spectral", "--no-retrain");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--retrain: not with --no-retrain", both.SingleErrorLine());
    }

    [Fact]
    public void DefendReadsTheRunFolderAndNamesWhatIsMissing()
    {
        string run = tmp["exp"];
        new ExperimentRunner(Tiny.Experiment, run, RunProgress.None).Run(resume: false);
        string ciba = Path.Combine(run, "seed-0", "target-0", "ciba");

        // A filtering defense reads the saved poison set; its true indices are the run's poison record.
        var spectral = Hashbd.Run("defend", "--run", run, "--defense", "spectral", "--no-retrain");
        Assert.True(spectral.ExitCode == 0, spectral.Err);
        var sj = JsonNode.Parse(File.ReadAllText(Path.Combine(ciba, "defenses", "spectral", "result.json")))!;
        var record = new RunFolder(run).ReadPoisonRecord(0, 0, "ciba")!;
        Assert.Equal(record.Indices.Count, sj["figures"]!["poisons"]!.GetValue<double>());
        Assert.Equal(4, sj["run"]!["poisons"]!.GetValue<int>());

        // A defense that needs no poison set runs on the same folder.
        var nc = Hashbd.Run("defend", "--run", run, "--defense", "neural-cleanse", "--out", tmp["nc"]);
        Assert.True(nc.ExitCode == 0, nc.Err);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(tmp["nc"], "result.json")))!;
        Assert.Equal("neural-cleanse", json["defense"]!.GetValue<string>());
        Assert.Equal(3, json["series"]!["anomalyIndex"]!.AsArray().Count);
        Assert.Contains(Directory.GetFiles(tmp["nc"]), f => f.EndsWith("-target.png"));

        // No poison set: one line naming the missing file, nothing written.
        string poisonJson = Path.Combine(ciba, "poison", "poison.json");
        File.Delete(poisonJson);
        var missing = Hashbd.Run("defend", "--run", run, "--defense", "activation-clustering", "--no-retrain", "--out", tmp["ac"]);
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains(poisonJson, missing.SingleErrorLine());
        Assert.False(Directory.Exists(tmp["ac"]));

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
}
