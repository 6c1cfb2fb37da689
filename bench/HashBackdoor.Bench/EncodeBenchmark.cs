using HashBackdoor.Hashing;
using static HashBackdoor.Bench.BenchSupport;
using static TorchSharp.torch;

namespace HashBackdoor.Bench;

/// <summary>
/// Encoding throughput (docs/performance.md, "Encoding") over a database-sized set of 28x28 images (69,000, the
/// protocol's database) with the default model in eval mode:
/// (a) one forward pass per batch (the loop <see cref="HashEncoder.Encode"/> used before it sliced CPU batches), under
/// no_grad for several batch sizes and under inference_mode for some: how the forward batch size and the grad mode matter;
/// (b) <see cref="HashEncoder.Encode"/> itself at the batch sizes its callers pass (500: EvaluatePipeline and
/// ExperimentRunner; 1000: the default), which forwards CPU batches in slices of <see cref="HashEncoder.CpuForwardBatch"/>.
/// The set is cut into blocks (default 10 of 6,900 images); every case encodes each block in turn, in an order rotated
/// from block to block, so that all cases see the same load; the ratios are the medians over blocks of the per-block
/// ratios. The images are uniform random pixels: the network's cost does not depend on the content (dense
/// convolutions). Within a block, the codes of every case are compared with those of the first.
/// </summary>
internal static class EncodeBenchmark
{
    const string Usage = "encode [--quick] [--images 69000] [--blocks 10] [--batch-sizes 128,250,500,1000,2000] [--inference-sizes 128,500] [--library-sizes 500,1000]";

    static readonly HashModelSpec Spec = new("small-cnn", 48, 1, 28, 28, 10);

    public static int Run(string[] args)
    {
        var a = new Args(args, Usage, new[] { "--quick" }, new[] { "--images", "--blocks", "--batch-sizes", "--inference-sizes", "--library-sizes" });
        bool quick = a.Has("--quick");
        int n = a.Int("--images", quick ? 10_000 : 69_000);
        int blocks = Math.Min(n, a.Int("--blocks", quick ? 4 : 10));
        int[] sizes = a.Ints("--batch-sizes", new[] { 128, 250, 500, 1000, 2000 });
        int[] inferenceSizes = a.Ints("--inference-sizes", new[] { 128, 500 });
        int[] librarySizes = a.Ints("--library-sizes", new[] { 500, 1000 });
        long blockSize = (n + blocks - 1) / blocks;
        Header("encode", $"encoding {n:N0} images 1x28x28 with {Spec.Architecture}/{Spec.Bits} bits: one forward per batch (no_grad: batch sizes {string.Join(", ", sizes)}; " +
                         $"inference_mode: {string.Join(", ", inferenceSizes)}) and HashEncoder.Encode (batch sizes {string.Join(", ", librarySizes)}, CPU slices of {HashEncoder.CpuForwardBatch}); " +
                         $"{blocks} interleaved blocks of {blockSize:N0} images");
        using var images = rand(new long[] { n, 1, 28, 28 }, generator: new Generator().manual_seed(5));
        Console.WriteLine($"data: {n:N0} uniform random images ({n * 784L * 4 / 1e6:F0} MB float32)");
        TorchRuntime.Seed(0);
        using var model = new HashModel(Spec);
        model.eval();

        var cases = new List<(string Mode, int Batch, Func<Tensor, Tensor> Encode)>();
        foreach (int bs in sizes)
        {
            cases.Add(("one forward per batch, no_grad", bs, x => EncodePlain(model, x, bs, inference: false)));
            if (inferenceSizes.Contains(bs))
                cases.Add(("one forward per batch, inference_mode", bs, x => EncodePlain(model, x, bs, inference: true)));
        }
        foreach (int bs in librarySizes)
            cases.Add(($"HashEncoder.Encode (slices of {HashEncoder.CpuForwardBatch})", bs, x => HashEncoder.Encode(model, x, bs)));
        int baseCase = cases.FindIndex(c => c.Batch == 500 && c.Mode.EndsWith("no_grad", StringComparison.Ordinal));
        if (baseCase < 0) baseCase = 0;

        // Warm-up on a slice, every case.
        using (var warm = images.narrow(0, 0, Math.Min(n, 2 * sizes.Concat(librarySizes).Max())))
            foreach (var c in cases) c.Encode(warm).Dispose();

        var wall = cases.Select(_ => new List<double>()).ToArray();
        var cpu = cases.Select(_ => new List<double>()).ToArray();
        var mismatches = new long[cases.Count];
        var sumWall = new double[cases.Count];
        var sumCpu = new double[cases.Count];
        for (int b = 0; b < blocks; b++)
        {
            long start = b * blockSize, len = Math.Min(blockSize, n - start);
            if (len <= 0) break;
            using var block = images.narrow(0, start, len);
            Tensor? first = null;
            try
            {
                for (int k = 0; k < cases.Count; k++)
                {
                    int c = (k + b) % cases.Count; // rotate the order from block to block
                    Tensor? codes = null;
                    var m = Measure(() => codes = cases[c].Encode(block));
                    if (first is null) first = codes!;
                    else
                    {
                        using (codes)
                        using (var ne = codes!.ne(first).sum())
                            mismatches[c] += ne.item<long>();
                    }
                    wall[c].Add(m.Wall / len);
                    cpu[c].Add(m.Cpu / len);
                    sumWall[c] += m.Wall;
                    sumCpu[c] += m.Cpu;
                }
            }
            finally
            {
                first?.Dispose();
            }
            Console.WriteLine($"  block {b + 1}/{blocks} ({len} images): " + string.Join(", ", Enumerable.Range(0, cases.Count).Select(c => $"{1 / wall[c][^1]:F0}")) +
                              $" img/s  (load {LoadAverage()})");
        }

        Console.WriteLine();
        Console.WriteLine($"encoding {n:N0} images in {blocks} interleaved blocks; img/s = images / total time; ratio = median over blocks of " +
                          $"(time of '{cases[baseCase].Mode}' at batch {cases[baseCase].Batch}) / (time of the row) in the same block");
        var rows = new List<string[]>();
        for (int c = 0; c < cases.Count; c++)
        {
            double totalWall = sumWall[c], totalCpu = sumCpu[c];
            var perBlock = Enumerable.Range(0, wall[c].Count).Select(i => wall[baseCase][i] / wall[c][i]).ToArray();
            var perBlockCpu = Enumerable.Range(0, cpu[c].Count).Select(i => cpu[baseCase][i] / cpu[c][i]).ToArray();
            int forwardBatch = cases[c].Mode.StartsWith("HashEncoder", StringComparison.Ordinal) ? Math.Min(cases[c].Batch, HashEncoder.CpuForwardBatch) : cases[c].Batch;
            rows.Add(new[]
            {
                cases[c].Batch.ToString(), cases[c].Mode, F(n / totalWall), F(n / totalCpu), F(totalWall, 1),
                Ratio(Median(perBlock)), $"{perBlock.Min():F2}-{perBlock.Max():F2}", Ratio(Median(perBlockCpu)),
                mismatches[c] == 0 ? "identical" : $"{mismatches[c]} bits differ", F(forwardBatch * 16 * 28 * 28 * 4 / 1e6, 1),
            });
        }
        Table(new[] { "batch", "mode", "img/s", "img/CPU-s", "seconds", "ratio, wall (median)", "range over blocks", "ratio, CPU", "codes vs first case", "1st conv output per forward, MB" }, rows);
        var plain = Enumerable.Range(0, cases.Count).Where(c => cases[c].Mode.EndsWith("no_grad", StringComparison.Ordinal)).ToArray();
        int bestCpu = plain.OrderBy(c => sumCpu[c]).First(), bestWall = plain.OrderBy(c => sumWall[c]).First();
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
