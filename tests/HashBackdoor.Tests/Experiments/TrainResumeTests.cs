using System.Text.Json;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary>
/// <c>hashbd train --resume</c>: a run interrupted after its first epoch (the process-wide cancellation token that
/// Ctrl+C sets, cancelled from the progress sink) leaves a checkpoint and no model; resuming it ends with the same codes,
/// bit for bit, as a run that was never interrupted.
/// </summary>
[Collection("torch-training")]
public class TrainResumeTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>Cancels its token once training reports the end of epoch <paramref name="epoch"/>.</summary>
    private sealed class CancelAfterEpoch(int epoch, CancellationTokenSource cts) : IRunProgress, IProgressStep
    {
        public IProgressStep Start(string description, double total) => this;
        public void Info(string line) { }
        public void Report(double done, string? status = null) { if (done >= epoch) cts.Cancel(); }
        public void Dispose() { }
    }

    private static string Evaluate(string runDir, string outDir)
    {
        var r = Hashbd.Run("evaluate", "--model", runDir, "--out", outDir, "--topk", "10");
        Assert.True(r.ExitCode == 0, r.Err);
        return outDir;
    }

    [Fact]
    public void ResumedTrainingEndsWithTheSameCodesAsAnUninterruptedRun()
    {
        string full = tmp["full"], interrupted = tmp["interrupted"];
        Assert.Equal(0, Hashbd.Run(Tiny.TrainArgs(full, epochs: 2)).ExitCode);

        // Interrupt after epoch 1 of 2, as Ctrl+C would.
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => TrainPipeline.Run(Tiny.Request(interrupted, epochs: 2), new CancelAfterEpoch(1, cts), cts.Token));
        Assert.False(File.Exists(Path.Combine(interrupted, RunRecord.ModelFileName)), "an interrupted run must not leave a model");
        Assert.False(File.Exists(Path.Combine(interrupted, RunRecord.FileName)));
        string state = Path.Combine(interrupted, "checkpoint", "state.json");
        Assert.True(File.Exists(state));
        Assert.Equal(1, JsonDocument.Parse(File.ReadAllText(state)).RootElement.GetProperty("EpochsDone").GetInt32());
        Assert.DoesNotContain(Tiny.Files(interrupted), f => f.EndsWith(".tmp", StringComparison.Ordinal));

        // Resume through the command line.
        var resumed = Hashbd.Run(Tiny.TrainArgs(interrupted, epochs: 2, extra: "--resume"));
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        Assert.Equal(2, JsonDocument.Parse(File.ReadAllText(state)).RootElement.GetProperty("EpochsDone").GetInt32());

        string a = Evaluate(full, tmp["eval-full"]), b = Evaluate(interrupted, tmp["eval-resumed"]);
        foreach (var f in new[] { "query_codes.npy", "database_codes.npy" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f)));
        // The model files are identical byte for byte: same header, same weights.
        Assert.Equal(File.ReadAllBytes(Path.Combine(full, RunRecord.ModelFileName)), File.ReadAllBytes(Path.Combine(interrupted, RunRecord.ModelFileName)));
    }
}
