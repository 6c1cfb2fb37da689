using System.Diagnostics;
using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Faults;

/// <summary>The fault-injection tests share one collection (they run one after another) and one uninterrupted reference
/// run of <see cref="FaultHarness.Config"/>.</summary>
[CollectionDefinition("faults", DisableParallelization = true)]
public sealed class FaultsCollection : ICollectionFixture<ReferenceRun>;

/// <summary>The harness's tiny experiment run once without faults: every later run must end with its numbers and files.</summary>
public sealed class ReferenceRun : IDisposable
{
    private readonly ScratchDir tmp = new();

    public ReferenceRun()
    {
        ConfigPath = tmp["harness.json"];
        File.WriteAllText(ConfigPath, ConfigFile.ToJson(FaultHarness.Config));
        Dir = tmp["reference"];
        var events = new RecordingProgress();
        new ExperimentRunner(FaultHarness.Config, Dir, events, default).Run(resume: false);
        Events = events.Events;
        Numbers = FaultHarness.Numbers(Dir);
        Files = FaultHarness.OutputFiles(Dir);
    }

    /// <summary>The config as a file (for child processes and the CLI).</summary>
    public string ConfigPath { get; }
    /// <summary>The reference run folder.</summary>
    public string Dir { get; }
    /// <summary>Every progress event of the reference run, in order.</summary>
    public IReadOnlyList<ProgressEvent> Events { get; }
    /// <summary>results.json without timings.</summary>
    public string Numbers { get; }
    /// <summary>Relative path and SHA-256 of every model, code, trigger and poison file.</summary>
    public IReadOnlyDictionary<string, string> Files { get; }

    /// <summary>Asserts that <paramref name="dir"/> holds the reference's numbers and files, and no temporary file or
    /// leftover checkpoint.</summary>
    public void AssertSameAs(string dir, string because)
    {
        Assert.True(File.Exists(Path.Combine(dir, "results.json")), $"{because}: no results.json");
        Assert.Equal(Numbers, FaultHarness.Numbers(dir));
        var files = FaultHarness.OutputFiles(dir);
        Assert.Equal(Files.Keys.Order(), files.Keys.Order());
        foreach (var (path, hash) in Files) Assert.True(hash == files[path], $"{because}: {path} differs from the uninterrupted run's");
        FaultHarness.AssertNoLeftovers(dir);
    }

    public void Dispose() => tmp.Dispose();
}

/// <summary>One progress event: kind (start, report, info), the step it belongs to and its text.</summary>
public sealed record ProgressEvent(string Kind, string Step, string Text)
{
    /// <summary>What the run was doing: training, trigger, perturbation, evaluation or boundary (a unit finished).</summary>
    public string Phase =>
        Kind == "info" || Step == "experiment" ? "boundary"
        : Step.Contains("epochs") ? "training"
        : Step.Contains("trigger (") ? "trigger"
        : Step.Contains("poison") ? "perturbation"
        : Step.Contains("images)") ? "evaluation"
        : "other";
}

/// <summary>Records every event (the reference run).</summary>
internal class RecordingProgress : IRunProgress
{
    public List<ProgressEvent> Events { get; } = new();

    public virtual IProgressStep Start(string description, double total)
    {
        On(new ProgressEvent("start", description, description));
        return new Step(this, description);
    }

    public virtual void Info(string line) => On(new ProgressEvent("info", "", line));

    protected virtual void On(ProgressEvent e) => Events.Add(e);

    private sealed class Step(RecordingProgress owner, string description) : IProgressStep
    {
        public void Report(double done, string? status = null) => owner.On(new ProgressEvent("report", description, status ?? ""));
        public void Dispose() { }
    }
}

/// <summary>The simulated kill: thrown by the fault injector at the chosen event.</summary>
public sealed class InjectedKill(string where) : Exception($"injected kill at {where}");

/// <summary>Throws <see cref="InjectedKill"/> at event number <paramref name="at"/> (counted like the reference run's).</summary>
internal sealed class KillingProgress(int at) : RecordingProgress
{
    protected override void On(ProgressEvent e)
    {
        base.On(e);
        if (Events.Count - 1 == at) throw new InjectedKill($"event {at} ({e.Phase}: {e.Step} {e.Text})");
    }
}

/// <summary>Settings and checks shared by the fault tests.</summary>
public static class FaultHarness
{
    /// <summary>The tiny experiment: 1 seed, 1 target, tri and ciba, 2 epochs (a kill between epochs resumes from the
    /// checkpoint), 5 trigger steps, 2 perturbation rounds.</summary>
    public static ExperimentConfig Config => Tiny.Experiment with
    {
        Name = "faults",
        Training = Tiny.Experiment.Training with { Epochs = 2 },
    };

    /// <summary>results.json without timings (runs' seconds, wall times, sessions, machine).</summary>
    public static string Numbers(string dir)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!.AsObject();
        foreach (var timing in new[] { "wallSeconds", "wallSecondsThisSession", "sessions", "machine" }) json["protocol"]!.AsObject().Remove(timing);
        foreach (var run in json["runs"]!.AsArray()) run!.AsObject().Remove("seconds");
        return json.ToJsonString();
    }

    /// <summary>SHA-256 of every model, codes, trigger and poison file below <paramref name="dir"/>, by relative path.</summary>
    public static Dictionary<string, string> OutputFiles(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".npy") || f.EndsWith(".hbm") || f.EndsWith(".bin") || f.EndsWith("poison.json"))
            .ToDictionary(f => Path.GetRelativePath(dir, f),
                f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    /// <summary>No temporary file and no checkpoint folder below <paramref name="dir"/>.</summary>
    public static void AssertNoLeftovers(string dir)
    {
        var tmps = Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories);
        Assert.True(tmps.Length == 0, $"temporary files left: {string.Join(", ", tmps)}");
        var checkpoints = Directory.GetDirectories(dir, "checkpoint", SearchOption.AllDirectories);
        Assert.True(checkpoints.Length == 0, $"checkpoints left: {string.Join(", ", checkpoints)}");
    }

    /// <summary>The built hashbd.dll beside the tests (the CLI project is referenced).</summary>
    public static string HashbdDll => Path.Combine(AppContext.BaseDirectory, "hashbd.dll");

    /// <summary>Starts <c>dotnet hashbd.dll ARGS</c> as a child process with this process's torch thread count (the same
    /// numerics as in-process runs); output goes to <paramref name="log"/>.</summary>
    public static Process StartHashbd(string log, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(HashbdDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        psi.Environment["HASHBD_THREADS"] = TorchSharp.torch.get_num_threads().ToString();
        var p = Process.Start(psi)!;
        var sink = new StreamWriter(log) { AutoFlush = true };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (sink) sink.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sink) sink.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        p.Exited += (_, _) => { };
        return p;
    }

    /// <summary>Waits for <paramref name="path"/> to appear while <paramref name="p"/> runs; true when it appeared.</summary>
    public static bool WaitForFile(Process p, string path, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (File.Exists(path)) return true;
            if (p.HasExited) return File.Exists(path);
            Thread.Sleep(5);
        }
        return false;
    }

    /// <summary>SIGKILL (Process.Kill on Unix) and wait until the process is gone (reaped).</summary>
    public static void KillHard(Process p)
    {
        try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        p.WaitForExit();
    }
}
