using HashBackdoor.Hashing;
using HashBackdoor.Hashing.Losses;
using TorchSharp;
using static HashBackdoor.Bench.BenchSupport;
using static TorchSharp.torch;

namespace HashBackdoor.Bench;

/// <summary>
/// Training throughput (docs/performance.md, "Training"): the default model (small-cnn, 48 bits, CSQ, Adam, batch 64,
/// flip augmentation) trained through <see cref="HashTrainer"/> on pre-loaded 28x28 images, against a bare TorchSharp
/// loop over the same tensors with the same model, optimizer, loss and batch size (shuffle, forward, loss, backward,
/// step; no augmentation, no loss read-back, no progress, no checkpoint). Every variant starts from the same initial
/// weights; the variants are interleaved (rotated order) in each repetition, so the ratios see the same machine load.
/// </summary>
internal static class TrainBenchmark
{
    const string Usage = "train [--quick] [--images 5000] [--epochs 2] [--reps 4]";

    static readonly HashModelSpec Spec = new("small-cnn", 48, 1, 28, 28, 10);

    public static int Run(string[] args)
    {
        var a = new Args(args, Usage, new[] { "--quick" }, new[] { "--images", "--epochs", "--reps" });
        bool quick = a.Has("--quick");
        int images = a.Int("--images", quick ? 1000 : 5000);
        int epochs = a.Int("--epochs", quick ? 1 : 2);
        int reps = a.Int("--reps", quick ? 2 : 4);
        Header("train", $"training throughput of {Spec.Architecture}/{Spec.Bits} bits, CSQ, Adam lr 1e-3, batch 64: HashTrainer vs a bare TorchSharp loop; " +
                        $"{epochs} epoch(s) per measurement, {reps} interleaved repetition(s)");
        var (x, y, source) = TrainingImages(images);
        using var _x = x;
        using var _y = y;
        Console.WriteLine($"data: {source}, pre-loaded ({x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3] * 4 / 1e6:F1} MB)");

        var baseOptions = new HashTrainerOptions
        {
            Loss = "csq", Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, BatchSize = 64, Augmentation = AugmentationKind.Flip, Schedule = LearningRateSchedule.Cosine, Seed = 0,
        };
        string ckptRoot = Path.Combine(Path.GetTempPath(), $"hashbd-bench-train-{Environment.ProcessId}");
        var variants = new (string Name, Func<int, double> Run)[]
        {
            ("bare TorchSharp loop (reference)", e => Bare(x, y, e, baseOptions)),
            ("HashTrainer, flip (default)", e => Trainer(x, y, baseOptions with { Epochs = e }, null)),
            ("HashTrainer, no augmentation", e => Trainer(x, y, baseOptions with { Epochs = e, Augmentation = AugmentationKind.None }, null)),
            ("HashTrainer, flip + checkpoint dir", e => Trainer(x, y, baseOptions with { Epochs = e }, ckptRoot)),
        };
        try
        {
            // Warm-up: JIT, libtorch kernels and allocator caches, one short epoch of each variant.
            using (var warm = x.narrow(0, 0, Math.Min(640, x.shape[0])))
            using (var warmY = y.narrow(0, 0, Math.Min(640, y.shape[0])))
            {
                Bare(warm, warmY, 1, baseOptions);
                Trainer(warm, warmY, baseOptions with { Epochs = 1 }, ckptRoot);
            }

            long perRun = x.shape[0] * epochs;
            var wall = variants.Select(_ => new List<double>()).ToArray();
            var cpu = variants.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < reps; r++)
            {
                for (int k = 0; k < variants.Length; k++)
                {
                    int v = (k + r) % variants.Length; // rotate the order from one repetition to the next
                    if (Directory.Exists(ckptRoot)) Directory.Delete(ckptRoot, true);
                    var m = Measure(() => variants[v].Run(epochs));
                    wall[v].Add(m.Wall);
                    cpu[v].Add(m.Cpu);
                    Console.WriteLine($"  rep {r + 1}: {variants[v].Name,-36} {perRun / m.Wall,8:F0} img/s wall, {perRun / m.Cpu,8:F0} img/CPU-s  (load {LoadAverage()})");
                }
            }

            Console.WriteLine();
            Console.WriteLine($"images per measurement: {perRun} ({x.shape[0]} x {epochs} epochs); figures: median over {reps} repetition(s)");
            var rows = new List<string[]>();
            for (int v = 0; v < variants.Length; v++)
            {
                var perRep = Enumerable.Range(0, reps).Select(r => wall[0][r] / wall[v][r]);
                var perRepCpu = Enumerable.Range(0, reps).Select(r => cpu[0][r] / cpu[v][r]);
                rows.Add(new[]
                {
                    variants[v].Name, F(perRun / Median(wall[v])), F(perRun / wall[v].Min()), F(perRun / Median(cpu[v])),
                    Ratio(Median(perRep)), Ratio(perRep.Min()), Ratio(Median(perRepCpu)),
                });
            }
            Table(new[] { "variant", "img/s (median)", "img/s (best)", "img/CPU-s (median)", "ratio vs bare, wall (median)", "worst rep", "ratio vs bare, CPU" }, rows);
            Console.WriteLine("ratio = (bare time) / (variant time) in the same repetition; target for the trainer >= 0.90");
            Overheads(x, y, baseOptions, ckptRoot, Median(wall[0]) / (epochs * (int)((x.shape[0] + 63) / 64)), x.shape[0]);
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            if (Directory.Exists(ckptRoot)) Directory.Delete(ckptRoot, true);
        }
    }

    /// <summary>What the trainer does per batch and per epoch beyond the bare loop, timed alone: the flip augmentation
    /// of a batch (with the index_select of its "augmentable" mask), the loss read-back (item), and the epoch checkpoint
    /// (model file + Adam state + state.json, each written atomically with a flush to disk).</summary>
    static void Overheads(Tensor x, Tensor y, HashTrainerOptions o, string ckptRoot, double bareStepSeconds, long n)
    {
        const int calls = 200;
        using var gen = new Generator().manual_seed(1);
        using var batch = x.narrow(0, 0, 64).clone();
        using var allowed = ones(n, dtype: ScalarType.Bool);
        using var idx = arange(64);
        var aug = Measure(() =>
        {
            for (int i = 0; i < calls; i++)
            {
                using var scope = NewDisposeScope();
                BatchAugmentation.Apply(batch, AugmentationKind.Flip, allowed.index_select(0, idx), gen);
            }
        });
        using var scalar = batch.mean();
        var item = Measure(() => { for (int i = 0; i < calls; i++) _ = scalar.item<float>(); });

        using var model = NewModel(o.Seed);
        var loss = HashLossFactory.Create(o.Loss, Spec.NumClasses, Spec.Bits, o.Seed);
        using var optimizer = optim.Adam(model.parameters(), o.LearningRate);
        using (var scope = NewDisposeScope())
        {
            model.train();
            optimizer.zero_grad();
            loss.Compute(model.forward(batch), y.narrow(0, 0, 64), 0).backward();
            optimizer.step(); // Adam state exists from here on
        }
        var saves = new List<double>();
        for (int i = 0; i < 5; i++)
            saves.Add(Measure(() => TrainingCheckpoint.Save(ckptRoot, model, optimizer, i + 1, o)).Wall);
        double ckptBytes = Directory.EnumerateFiles(ckptRoot).Sum(f => new FileInfo(f).Length);
        double epochSeconds = bareStepSeconds * ((n + 63) / 64);

        Console.WriteLine();
        Console.WriteLine("where the trainer's extra time could go (each piece timed alone, same run):");
        Table(new[] { "piece", "cost", "relative to" },
            new[]
            {
                new[] { "bare training step (forward + CSQ + backward + Adam), batch 64", $"{bareStepSeconds * 1e3:F1} ms", "(median of the bare runs)" },
                new[] { "flip augmentation of a batch of 64 (+ mask index_select)", $"{aug.Wall / calls * 1e6:F0} us", $"{aug.Wall / calls / bareStepSeconds * 100:F2}% of a step" },
                new[] { "loss read-back, item<float>() (CPU: no device sync)", $"{item.Wall / calls * 1e6:F1} us", $"{item.Wall / calls / bareStepSeconds * 100:F3}% of a step" },
                new[] { $"epoch checkpoint ({ckptBytes / 1e6:F1} MB: model.hbm + optimizer.bin + state.json, fsync'd)", $"{Median(saves) * 1e3:F0} ms (median of 5)",
                    $"{Median(saves) / epochSeconds * 100:F2}% of a bare epoch of {n} images" },
            });
    }

    /// <summary>A fresh default model from the trainer's seed (the same initial weights for every variant).</summary>
    static HashModel NewModel(long seed)
    {
        TorchRuntime.Seed(seed);
        return new HashModel(Spec);
    }

    static double Trainer(Tensor x, Tensor y, HashTrainerOptions options, string? checkpointDir)
    {
        using var model = NewModel(options.Seed);
        double last = 0;
        new HashTrainer(options).Train(model, x, y, checkpointDir: checkpointDir,
            progress: p => { if (p.EpochDone) last = p.EpochMeanLoss; });
        return last;
    }

    /// <summary>The bare loop: shuffle, index_select, forward, CSQ loss, backward, Adam step. The loss is read once at
    /// the end.</summary>
    internal static double Bare(Tensor x, Tensor y, int epochs, HashTrainerOptions o)
    {
        using var model = NewModel(o.Seed);
        var loss = HashLossFactory.Create(o.Loss, Spec.NumClasses, Spec.Bits, o.Seed);
        using var optimizer = optim.Adam(model.parameters(), o.LearningRate);
        using var gen = new Generator().manual_seed(o.Seed);
        long n = x.shape[0];
        int batches = (int)((n + o.BatchSize - 1) / o.BatchSize);
        model.train();
        Tensor? lastLoss = null;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            using var perm = randperm(n, generator: gen);
            for (int bi = 0; bi < batches; bi++)
            {
                using var scope = NewDisposeScope();
                long start = (long)bi * o.BatchSize, len = Math.Min(o.BatchSize, n - start);
                if (len < 2) continue;
                var idx = perm.narrow(0, start, len);
                var xb = x.index_select(0, idx);
                var yb = y.index_select(0, idx);
                optimizer.zero_grad();
                var z = model.forward(xb);
                var l = loss.Compute(z, yb, (long)epoch * batches + bi);
                l.backward();
                optimizer.step();
                lastLoss?.Dispose();
                lastLoss = l.detach().DetachFromDisposeScope();
            }
        }
        double value = lastLoss?.item<float>() ?? double.NaN;
        lastLoss?.Dispose();
        model.eval();
        return value;
    }
}
