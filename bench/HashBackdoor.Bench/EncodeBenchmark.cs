using HashBackdoor.Hashing;
using static HashBackdoor.Bench.BenchSupport;
using static TorchSharp.torch;

namespace HashBackdoor.Bench;

/// <summary>
/// Encoding throughput (docs/performance.md, "Encoding"): <see cref="HashEncoder.Encode"/> (eval mode, no_grad) over a
/// database-sized set of 28x28 images (69,000, the protocol's database) with the default model, for several batch
/// sizes, against the same loop under <c>torch.inference_mode</c>. The images are uniform random pixels: the network's
/// cost does not depend on the content (dense convolutions). Codes of every run are compared with those of the
/// library's default batch size (500).
/// </summary>
internal static class EncodeBenchmark
{
    const string Usage = "encode [--quick] [--images 69000] [--batch-sizes 250,500,1000,2000] [--reps 1]";

    static readonly HashModelSpec Spec = new("small-cnn", 48, 1, 28, 28, 10);

    public static int Run(string[] args)
    {
        var a = new Args(args, Usage, new[] { "--quick" }, new[] { "--images", "--batch-sizes", "--reps" });
        bool quick = a.Has("--quick");
        int n = a.Int("--images", quick ? 10_000 : 69_000);
        int[] sizes = a.Ints("--batch-sizes", new[] { 250, 500, 1000, 2000 });
        int reps = a.Int("--reps", 1);
        Header("encode", $"HashEncoder.Encode of {n:N0} images 1x28x28 with {Spec.Architecture}/{Spec.Bits} bits: batch sizes {string.Join(", ", sizes)}, " +
                         $"no_grad (library) vs inference_mode; {reps} repetition(s), interleaved");
        using var images = rand(new long[] { n, 1, 28, 28 }, generator: new Generator().manual_seed(5));
        Console.WriteLine($"data: {n:N0} uniform random images ({n * 784L * 4 / 1e6:F0} MB float32)");
        TorchRuntime.Seed(0);
        using var model = new HashModel(Spec);
        model.eval();

        using var reference = HashEncoder.Encode(model, images, 500);
        // Warm-up on a slice for every batch size and mode.
        using (var warm = images.narrow(0, 0, Math.Min(n, 2 * sizes.Max())))
            foreach (int bs in sizes)
            {
                HashEncoder.Encode(model, warm, bs).Dispose();
                EncodeInference(model, warm, bs).Dispose();
            }

        var modes = new (string Name, Func<int, Tensor> Encode)[]
        {
            ("no_grad (HashEncoder.Encode)", bs => HashEncoder.Encode(model, images, bs)),
            ("inference_mode", bs => EncodeInference(model, images, bs)),
        };
        var wall = new Dictionary<(int, int), List<double>>();
        var cpu = new Dictionary<(int, int), List<double>>();
        var mismatches = new Dictionary<(int, int), long>();
        int turn = 0;
        for (int r = 0; r < reps; r++)
            foreach (int bs in sizes)
                for (int k = 0; k < modes.Length; k++)
                {
                    int v = (k + turn / modes.Length) % modes.Length; // alternate which mode goes first
                    Tensor? codes = null;
                    var m = Measure(() => codes = modes[v].Encode(bs));
                    using (codes)
                    using (var ne = codes!.ne(reference).sum())
                        mismatches[(bs, v)] = ne.item<long>();
                    (wall.TryGetValue((bs, v), out var w) ? w : wall[(bs, v)] = new()).Add(m.Wall);
                    (cpu.TryGetValue((bs, v), out var c) ? c : cpu[(bs, v)] = new()).Add(m.Cpu);
                    Console.WriteLine($"  rep {r + 1}: batch {bs,5} {modes[v].Name,-28} {n / m.Wall,8:F0} img/s wall, {n / m.Cpu,8:F0} img/CPU-s  (load {LoadAverage()})");
                    turn++;
                }

        Console.WriteLine();
        Console.WriteLine($"encoding {n:N0} images; median over {reps} repetition(s); ratios against no_grad at batch 500 (the library default), same run");
        double baseWall = Median(wall[(500, 0)]), baseCpu = Median(cpu[(500, 0)]);
        bool hasBase = sizes.Contains(500);
        if (!hasBase) { baseWall = Median(wall[(sizes[0], 0)]); baseCpu = Median(cpu[(sizes[0], 0)]); }
        var rows = new List<string[]>();
        foreach (int bs in sizes)
            for (int v = 0; v < modes.Length; v++)
            {
                double mw = Median(wall[(bs, v)]), mc = Median(cpu[(bs, v)]);
                rows.Add(new[]
                {
                    bs.ToString(), modes[v].Name, F(n / mw), F(n / mc), F(mw, 2), Ratio(baseWall / mw), Ratio(baseCpu / mc),
                    mismatches[(bs, v)] == 0 ? "identical" : $"{mismatches[(bs, v)]} bits differ",
                    F(bs * 16 * 28 * 28 * 4 / 1e6, 0),
                });
            }
        Table(new[] { "batch", "mode", "img/s", "img/CPU-s", "seconds", $"ratio vs no_grad@{(hasBase ? 500 : sizes[0])}, wall", "ratio, CPU", "codes vs batch 500", "1st conv output MB" }, rows);
        var best = sizes.Select(bs => (bs, t: Median(cpu[(bs, 0)]))).OrderBy(p => p.t).First();
        var bestWall = sizes.Select(bs => (bs, t: Median(wall[(bs, 0)]))).OrderBy(p => p.t).First();
        Console.WriteLine($"fastest batch size (no_grad): {best.bs} by CPU time, {bestWall.bs} by wall time");
        Console.WriteLine($"load average at end: {LoadAverage()}");
        return 0;
    }

    /// <summary>The loop of <see cref="HashEncoder.Encode"/> under inference_mode instead of no_grad. The result is
    /// cloned outside inference mode so that it is an ordinary tensor.</summary>
    internal static Tensor EncodeInference(HashModel model, Tensor images, int batchSize)
    {
        long n = images.shape[0];
        var parts = new List<Tensor>();
        try
        {
            Tensor all;
            using (inference_mode(true))
            {
                for (long start = 0; start < n; start += batchSize)
                {
                    using var scope = NewDisposeScope();
                    var z = model.forward(images.narrow(0, start, Math.Min(batchSize, n - start)));
                    parts.Add(z.sign().MoveToOuterDisposeScope());
                }
                all = cat(parts, 0);
            }
            using (all)
                return all.clone();
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }
}
