using HashBackdoor.Hashing;
using static HashBackdoor.Bench.BenchSupport;
using static TorchSharp.torch;

namespace HashBackdoor.Bench;

/// <summary>
/// Encoding throughput (docs/performance.md, "Encoding") over a database-sized set of 28x28 images (69,000, the
/// protocol's database) with the default model in eval mode:
/// (a) one forward pass per batch (the loop <see cref="HashEncoder.Encode"/> used before it sliced CPU batches), under
/// no_grad and under inference_mode, for several batch sizes: how the forward batch size and the grad mode matter;
/// (b) <see cref="HashEncoder.Encode"/> itself at the batch sizes its callers pass (500: EvaluatePipeline and
/// ExperimentRunner; 1000: the default), which forwards CPU batches in slices of <see cref="HashEncoder.CpuForwardBatch"/>.
/// The images are uniform random pixels: the network's cost does not depend on the content (dense convolutions). The
/// codes of every run are compared with those of the first one. Ratios are against (a) no_grad at batch 500.
/// </summary>
internal static class EncodeBenchmark
{
    const string Usage = "encode [--quick] [--images 69000] [--batch-sizes 128,250,500,1000,2000] [--inference-sizes 128,500] [--library-sizes 500,1000] [--reps 2]";

    static readonly HashModelSpec Spec = new("small-cnn", 48, 1, 28, 28, 10);

    public static int Run(string[] args)
    {
        var a = new Args(args, Usage, new[] { "--quick" }, new[] { "--images", "--batch-sizes", "--inference-sizes", "--library-sizes", "--reps" });
        bool quick = a.Has("--quick");
        int n = a.Int("--images", quick ? 10_000 : 69_000);
        int[] sizes = a.Ints("--batch-sizes", new[] { 128, 250, 500, 1000, 2000 });
        int[] inferenceSizes = a.Ints("--inference-sizes", new[] { 128, 500 });
        int[] librarySizes = a.Ints("--library-sizes", new[] { 500, 1000 });
        int reps = a.Int("--reps", quick ? 1 : 2);
        Header("encode", $"encoding {n:N0} images 1x28x28 with {Spec.Architecture}/{Spec.Bits} bits: one forward per batch (no_grad: batch sizes {string.Join(", ", sizes)}; " +
                         $"inference_mode: {string.Join(", ", inferenceSizes)}) and HashEncoder.Encode (batch sizes {string.Join(", ", librarySizes)}, CPU slices of {HashEncoder.CpuForwardBatch}); " +
                         $"{reps} repetition(s), interleaved");
        using var images = rand(new long[] { n, 1, 28, 28 }, generator: new Generator().manual_seed(5));
        Console.WriteLine($"data: {n:N0} uniform random images ({n * 784L * 4 / 1e6:F0} MB float32)");
        TorchRuntime.Seed(0);
        using var model = new HashModel(Spec);
        model.eval();

        var cases = new List<(string Mode, int Batch, Func<Tensor> Encode)>();
        foreach (int bs in sizes)
        {
            cases.Add(("one forward per batch, no_grad", bs, () => EncodePlain(model, images, bs, inference: false)));
            if (inferenceSizes.Contains(bs))
                cases.Add(("one forward per batch, inference_mode", bs, () => EncodePlain(model, images, bs, inference: true)));
        }
        foreach (int bs in librarySizes)
            cases.Add(($"HashEncoder.Encode (slices of {HashEncoder.CpuForwardBatch})", bs, () => HashEncoder.Encode(model, images, bs)));

        // Warm-up on a slice, every case.
        using (var warm = images.narrow(0, 0, Math.Min(n, 2 * sizes.Concat(librarySizes).Max())))
        {
            foreach (int bs in sizes) EncodePlain(model, warm, bs, false).Dispose();
            foreach (int bs in inferenceSizes) EncodePlain(model, warm, bs, true).Dispose();
            foreach (int bs in librarySizes) HashEncoder.Encode(model, warm, bs).Dispose();
        }

        var wall = cases.Select(_ => new List<double>()).ToArray();
        var cpu = cases.Select(_ => new List<double>()).ToArray();
        var mismatches = new long[cases.Count];
        Tensor? reference = null;
        try
        {
            for (int r = 0; r < reps; r++)
            {
                // Forward and backward order in alternate repetitions (no_grad and inference_mode of a batch size
                // stay neighbours).
                var order = Enumerable.Range(0, cases.Count).ToArray();
                if (r % 2 == 1) Array.Reverse(order);
                foreach (int c in order)
                {
                    Tensor? codes = null;
                    var m = Measure(() => codes = cases[c].Encode());
                    if (reference is null) reference = codes!;
                    else
                    {
                        using (codes)
                        using (var ne = codes!.ne(reference).sum())
                            mismatches[c] = Math.Max(mismatches[c], ne.item<long>());
                    }
                    wall[c].Add(m.Wall);
                    cpu[c].Add(m.Cpu);
                    Console.WriteLine($"  rep {r + 1}: batch {cases[c].Batch,5} {cases[c].Mode,-38} {n / m.Wall,8:F0} img/s wall, {n / m.Cpu,8:F0} img/CPU-s  (load {LoadAverage()})");
                }
            }
        }
        finally
        {
            reference?.Dispose();
        }

        int baseCase = cases.FindIndex(c => c.Batch == 500 && c.Mode.EndsWith("no_grad", StringComparison.Ordinal));
        if (baseCase < 0) baseCase = 0;
        Console.WriteLine();
        Console.WriteLine($"encoding {n:N0} images; median over {reps} repetition(s); ratios = time of '{cases[baseCase].Mode}' at batch {cases[baseCase].Batch} / time of the row, same run");
        var rows = new List<string[]>();
        for (int c = 0; c < cases.Count; c++)
        {
            double mw = Median(wall[c]), mc = Median(cpu[c]);
            int forwardBatch = cases[c].Mode.StartsWith("HashEncoder", StringComparison.Ordinal) ? Math.Min(cases[c].Batch, HashEncoder.CpuForwardBatch) : cases[c].Batch;
            rows.Add(new[]
            {
                cases[c].Batch.ToString(), cases[c].Mode, F(n / mw), F(n / mc), F(mw, 2), Ratio(Median(wall[baseCase]) / mw), Ratio(Median(cpu[baseCase]) / mc),
                mismatches[c] == 0 ? "identical" : $"{mismatches[c]} bits differ", F(forwardBatch * 16 * 28 * 28 * 4 / 1e6, 1),
            });
        }
        Table(new[] { "batch", "mode", "img/s", "img/CPU-s", "seconds", "ratio, wall", "ratio, CPU", "codes vs first run", "1st conv output per forward, MB" }, rows);
        var plain = Enumerable.Range(0, cases.Count).Where(c => cases[c].Mode.EndsWith("no_grad", StringComparison.Ordinal)).ToArray();
        int bestCpu = plain.OrderBy(c => Median(cpu[c])).First(), bestWall = plain.OrderBy(c => Median(wall[c])).First();
        Console.WriteLine($"fastest forward batch (no_grad): {cases[bestCpu].Batch} by CPU time, {cases[bestWall].Batch} by wall time");
        Console.WriteLine($"load average at end: {LoadAverage()}");
        return 0;
    }

    /// <summary>One forward pass per batch of <paramref name="batchSize"/> images (eval mode), under no_grad or
    /// inference_mode; the codes are cloned outside inference mode so that they are ordinary tensors.</summary>
    internal static Tensor EncodePlain(HashModel model, Tensor images, int batchSize, bool inference)
    {
        long n = images.shape[0];
        var parts = new List<Tensor>();
        try
        {
            Tensor all;
            using (inference ? inference_mode(true) : no_grad())
            {
                for (long start = 0; start < n; start += batchSize)
                {
                    using var scope = NewDisposeScope();
                    var z = model.forward(images.narrow(0, start, Math.Min(batchSize, n - start)));
                    parts.Add(z.sign().MoveToOuterDisposeScope());
                }
                all = cat(parts, 0);
            }
            if (!inference) return all;
            using (all)
                return all.clone();
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }
}
