using System.Diagnostics;
using System.Globalization;
using HashBackdoor.Data;
using HashBackdoor.Experiments;
using HashBackdoor.Hashing;
using static HashBackdoor.Bench.BenchSupport;

namespace HashBackdoor.Bench;

/// <summary>
/// Memory (docs/performance.md, "Memory"). Every measurement runs in a child process of its own (this program with
/// <c>memory --child ...</c>), so that its peak (VmHWM of /proc/self/status) is its own:
/// (a) training the default model for several epochs through <see cref="HashTrainer"/> with a checkpoint folder,
/// reading VmRSS and VmHWM after every epoch (progress callback): memory is flat when the growth after epoch 2 stays
/// below a few MB per epoch;
/// (b) a tiny end-to-end <see cref="ExperimentRunner"/> run (quick.yaml settings, synthetic data, one method, short
/// trigger), recording RSS and the peak at every pipeline step;
/// (c) the same on the real protocol (Fashion-MNIST, 69,000-image database), one clean epoch, trigger 50 steps, one
/// method (skipped with --quick).
/// </summary>
internal static class MemoryBenchmark
{
    const string Usage = "memory [--quick] [--epochs 8] [--images 5000] [--no-fashion]";
    const double TargetMiB = 4096;

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "--child") return Child(args[1..]);
        var a = new Args(args, Usage, new[] { "--quick", "--no-fashion" }, new[] { "--epochs", "--images" });
        bool quick = a.Has("--quick");
        int epochs = a.Int("--epochs", quick ? 4 : 8);
        int images = a.Int("--images", quick ? 1000 : 5000);
        Header("memory", "resident memory (VmRSS) and peak (VmHWM) of training and of end-to-end experiment runs, each in its own child process");

        var summary = new List<string[]>();
        var results = new List<(string Label, int Code)>();
        void Add(string label, string[] childArgs)
        {
            Console.WriteLine();
            Console.WriteLine($"## {label}");
            var (code, peaks, seconds) = RunChild(childArgs);
            results.Add((label, code));
            foreach (var (what, mib) in peaks)
                summary.Add(new[] { label, what, F(mib), Ratio(mib / TargetMiB), F(seconds, 0) });
        }

        string[] train = { "train", "--epochs", $"{epochs}", "--images", $"{images}" };
        Add($"(a1) training, {images} images, {epochs} epochs, no checkpoint", train.Append("--no-checkpoint").ToArray());
        Add($"(a2) training, {images} images, {epochs} epochs, checkpoint dir (as the experiments train)", train);
        Add("(a3) as (a2), full GC at every epoch end (retained memory)", train.Append("--gc-each-epoch").ToArray());
        Add("(b) experiment, synthetic 28x28 (q10/t50 of 100 per class), 2 epochs, trigger 50 steps, ciba", new[] { "experiment", "synthetic" });
        if (!quick && !a.Has("--no-fashion"))
        {
            if (Directory.Exists(FashionMnist.DefaultDirectory))
                Add("(c) experiment, Fashion-MNIST q100/t500 (database 69,000), 1 epoch, trigger 50 steps, ciba", new[] { "experiment", "fashion-mnist" });
            else Console.WriteLine($"(c) skipped: {FashionMnist.DefaultDirectory} not found");
        }

        Console.WriteLine();
        Console.WriteLine("## summary");
        Table(new[] { "run", "figure", "MiB", "fraction of the 4 GiB target", "child wall s" }, summary);
        Console.WriteLine($"load average at end: {LoadAverage()}");
        return results.All(r => r.Code == 0) ? 0 : 1;
    }

    /// <summary>Runs this program with <c>memory --child ARGS</c>, relays its output, and collects its "PEAK label MiB" lines.</summary>
    static (int Code, List<(string, double)> Peaks, double Seconds) RunChild(string[] childArgs)
    {
        string exe = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
            psi.ArgumentList.Add(typeof(MemoryBenchmark).Assembly.Location);
        foreach (var s in new[] { "memory", "--child" }.Concat(childArgs)) psi.ArgumentList.Add(s);
        var peaks = new List<(string, double)>();
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("  ! " + e.Data); };
        p.BeginErrorReadLine();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null)
        {
            if (line.StartsWith("PEAK\t", StringComparison.Ordinal))
            {
                var parts = line.Split('\t');
                peaks.Add((parts[1], double.Parse(parts[2], CultureInfo.InvariantCulture)));
            }
            else Console.WriteLine(line);
        }
        p.WaitForExit();
        if (p.ExitCode != 0) Console.WriteLine($"child exited with code {p.ExitCode}");
        return (p.ExitCode, peaks, sw.Elapsed.TotalSeconds);
    }

    static void Peak(string what, double mib) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PEAK\t{what}\t{mib:F1}"));

    static string Mem() => $"VmRSS {StatusMiB("VmRSS"),7:F1} MiB, VmHWM {StatusMiB("VmHWM"),7:F1} MiB";

    // ---------------------------------------------------------------------------------------------------------------
    // children

    static int Child(string[] args)
    {
        TorchRuntime.Configure();
        try
        {
            return args.Length > 0 && args[0] == "train" ? TrainChild(args[1..]) : args.Length > 1 && args[0] == "experiment" ? ExperimentChild(args[1]) : 2;
        }
        catch (HashBackdoorException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
    }

    static int TrainChild(string[] args)
    {
        var a = new Args(args, "train --epochs N --images N [--gc-each-epoch] [--no-checkpoint]", new[] { "--gc-each-epoch", "--no-checkpoint" }, new[] { "--epochs", "--images" });
        int epochs = a.Int("--epochs", 8), count = a.Int("--images", 5000);
        bool gcEachEpoch = a.Has("--gc-each-epoch"), checkpoint = !a.Has("--no-checkpoint");
        double start = StatusMiB("VmRSS");
        var (x, y, source) = TrainingImages(count);
        using var _x = x;
        using var _y = y;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        double loaded = StatusMiB("VmRSS"), loadPeak = StatusMiB("VmHWM");
        bool reset = ResetPeak();
        Console.WriteLine($"data: {source}");
        Console.WriteLine($"RSS at child start (runtime + torch loaded): {start:F1} MiB; after loading the images: {loaded:F1} MiB " +
                          $"(VmHWM {loadPeak:F1} MiB: loading the whole dataset and applying the protocol); " +
                          (reset ? "VmHWM reset before training (/proc/self/clear_refs), so the peaks below are training's own" : "VmHWM could not be reset"));
        Console.WriteLine(gcEachEpoch
            ? "readings after a full blocking GC + finalizers at the end of every epoch (retained memory)"
            : "readings as the process runs (no forced GC: managed garbage waits for the next collection)");
        string ckpt = Path.Combine(Path.GetTempPath(), $"hashbd-bench-mem-{Environment.ProcessId}");
        var spec = new HashModelSpec("small-cnn", 48, 1, 28, 28, 10);
        var options = new HashTrainerOptions { Loss = "csq", Optimizer = OptimizerKind.Adam, BatchSize = 64, Augmentation = AugmentationKind.Flip, Epochs = epochs, Seed = 0 };
        var rss = new List<double>();
        var sw = Stopwatch.StartNew();
        var rows = new List<string[]>();
        try
        {
            TorchRuntime.Seed(0);
            using var model = new HashModel(spec);
            new HashTrainer(options).Train(model, x, y, checkpointDir: checkpoint ? ckpt : null, progress: p =>
            {
                if (!p.EpochDone) return;
                if (gcEachEpoch)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                }
                double r = StatusMiB("VmRSS"), h = StatusMiB("VmHWM");
                rows.Add(new[]
                {
                    $"{p.Epoch}", F(r, 1), rss.Count == 0 ? "" : F(r - rss[^1], 1), F(GC.GetTotalMemory(false) / 1048576.0, 1), F(h, 1),
                    F(sw.Elapsed.TotalSeconds, 1), F(p.ImagesPerSecond),
                });
                rss.Add(r);
            });
        }
        finally
        {
            if (Directory.Exists(ckpt)) Directory.Delete(ckpt, true);
        }
        Table(new[] { "epoch", checkpoint ? "VmRSS MiB (epoch end, checkpoint written)" : "VmRSS MiB (epoch end)", "change MiB", "managed heap MiB", "VmHWM MiB", "elapsed s", "img/s" }, rows);
        string tag = (gcEachEpoch ? "after GC" : "no forced GC") + (checkpoint ? "" : ", no checkpoint");
        if (rss.Count >= 3)
        {
            double perEpoch = (rss[^1] - rss[1]) / (rss.Count - 2);
            double maxStep = Enumerable.Range(2, rss.Count - 2).Max(i => rss[i] - rss[i - 1]);
            Console.WriteLine($"growth after epoch 2: {rss[^1] - rss[1]:F1} MiB over {rss.Count - 2} epochs = {perEpoch:F2} MiB/epoch (largest single step {maxStep:F1} MiB) -> " +
                              (perEpoch < 2 ? "flat" : "growing"));
            Peak($"VmRSS growth after epoch 2, MiB/epoch ({tag})", perEpoch);
        }
        Peak($"VmRSS after epoch 1 ({tag})", rss[0]);
        Peak($"VmRSS after epoch {rss.Count} ({tag})", rss[^1]);
        Peak(reset ? "VmHWM of training (peak after loading)" : "VmHWM (peak, loading included)", StatusMiB("VmHWM"));
        Peak("VmHWM of loading Fashion-MNIST + protocol", loadPeak);
        return 0;
    }

    static int ExperimentChild(string which)
    {
        var config = BaseConfig();
        config = which == "synthetic"
            ? config with
            {
                Name = "memory-synthetic", Dataset = "synthetic:100:10:28",
                Protocol = new ProtocolOptions { QueryPerClass = 10, TrainPerClass = 50, Seed = 0 },
                Training = config.Training with { Epochs = 2 }, Poison = new PoisonConfig { Count = 20 },
            }
            : config with { Name = "memory-fashion-mnist", Dataset = "fashion-mnist", Training = config.Training with { Epochs = 1 } };
        config = config with
        {
            Targets = new[] { 0 }, Seeds = new[] { 0L }, Methods = new[] { "ciba" }, Trigger = config.Trigger with { Steps = 50 },
        };
        Console.WriteLine($"config: dataset {config.Dataset}, protocol q{config.Protocol.QueryPerClass}/t{config.Protocol.TrainPerClass}, {config.Model.Architecture}/{config.Model.Bits} bits, " +
                          $"{config.Training.Epochs} epoch(s) {config.Training.Loss}, trigger {config.Trigger.Steps} steps, poison {config.Poison.Count}, rounds {config.Perturbation.Rounds}, " +
                          $"methods {string.Join(",", config.Methods)}, targets {string.Join(",", config.Targets)}, seeds {string.Join(",", config.Seeds)}");
        Console.WriteLine($"RSS at child start: {Mem()}");
        string outDir = Path.Combine(Path.GetTempPath(), $"hashbd-bench-mem-exp-{Environment.ProcessId}");
        var progress = new MemoryProgress();
        var sw = Stopwatch.StartNew();
        try
        {
            var results = new ExperimentRunner(config, outDir, progress).Run(resume: false);
            Console.WriteLine($"finished in {sw.Elapsed.TotalSeconds:F0} s: {string.Join("; ", results.Runs.Select(r => $"{r.Method} mAP {r.Map:F1} t-MAP {r.TMap:F1}"))}");
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, true);
        }
        Table(new[] { "pipeline step", "VmRSS at start MiB", "VmRSS at end MiB", progress.Reset ? "VmHWM at end MiB (reset after loading)" : "VmHWM at end MiB", "seconds" }, progress.Rows);
        Console.WriteLine($"at the end: {Mem()}");
        double after = StatusMiB("VmHWM");
        if (progress.Reset)
        {
            Peak("VmHWM (peak of the whole run)", Math.Max(after, progress.LoadingPeak));
            Peak("VmHWM of loading + protocol", progress.LoadingPeak);
            Peak("VmHWM after loading (training, encoding, attack)", after);
        }
        else Peak("VmHWM (peak of the whole run)", after);
        return 0;
    }

    /// <summary>configs/quick.yaml when it can be found from the working folder or the program's folder, else the defaults
    /// with quick.yaml's main values.</summary>
    static ExperimentConfig BaseConfig()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string p = Path.Combine(d.FullName, "configs", "quick.yaml");
                if (File.Exists(p))
                {
                    Console.WriteLine($"base config: {p}");
                    return ExperimentConfig.Load(p);
                }
            }
        Console.WriteLine("base config: built-in (configs/quick.yaml not found)");
        return new ExperimentConfig { Training = new HashTrainerOptions { Loss = "csq", Epochs = 8 }, Poison = new PoisonConfig { Count = 100 } };
    }

    /// <summary>Records VmRSS at the start and end of every pipeline step and the peak so far.</summary>
    sealed class MemoryProgress : IRunProgress
    {
        public List<string[]> Rows { get; } = new();

        private bool loaded;

        /// <summary>VmHWM when the runner reported its dataset, i.e. the peak of loading the data and applying the
        /// protocol (nothing else has run by then); NaN before.</summary>
        public double LoadingPeak { get; private set; } = double.NaN;

        /// <summary>Whether VmHWM was reset after loading (then the final VmHWM is the peak of the pipeline after loading).</summary>
        public bool Reset { get; private set; }

        public IProgressStep Start(string description, double total) => new Step(this, description);

        public void Info(string line)
        {
            Console.WriteLine("  " + line);
            if (loaded) return;
            // The runner's first line ("dataset ...: train N, query N, database N") comes right after loading.
            loaded = true;
            LoadingPeak = StatusMiB("VmHWM");
            Rows.Add(new[] { "loading the dataset + protocol split (before the first step)", "", F(StatusMiB("VmRSS"), 1), F(LoadingPeak, 1), "" });
            Reset = ResetPeak();
        }

        sealed class Step(MemoryProgress owner, string description) : IProgressStep
        {
            private readonly double rss0 = StatusMiB("VmRSS");
            private readonly Stopwatch sw = Stopwatch.StartNew();

            public void Report(double done, string? status = null) { }

            public void Dispose() => owner.Rows.Add(new[]
            {
                description, F(rss0, 1), F(StatusMiB("VmRSS"), 1), F(StatusMiB("VmHWM"), 1), F(sw.Elapsed.TotalSeconds, 1),
            });
        }
    }
}
