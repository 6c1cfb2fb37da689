using HashBackdoor.Attacks;
using HashBackdoor.Hashing;
using TorchSharp;
using static HashBackdoor.Bench.BenchSupport;
using static TorchSharp.torch;

namespace HashBackdoor.Bench;

/// <summary>
/// Attack steps (docs/performance.md, "Attack steps"), on the default model (small-cnn, 48 bits, eval mode) and 28x28
/// images:
/// (a) trigger optimisation: <see cref="TriggerOptimizer.StepBatched"/> (one forward and one backward for the 32 images
/// of a step) against <see cref="TriggerOptimizer.StepPerImage"/> (one forward and backward per image), plus the public
/// <see cref="TriggerOptimizer.Optimize"/> (which adds the image sampling);
/// (b) confusing perturbation, one group of 20 images: <see cref="ConfusingPerturbation.Run"/> (one forward and one
/// backward per group per round) against a per-image loop written here with the same math (one forward and backward
/// per image per round).
/// Each pair is measured interleaved in every repetition; the results of both forms are compared.
/// </summary>
internal static class AttackBenchmark
{
    const string Usage = "attack [--quick] [--reps 3] [--trigger-steps 40] [--rounds 10]";

    static readonly HashModelSpec Spec = new("small-cnn", 48, 1, 28, 28, 10);

    public static int Run(string[] args)
    {
        var a = new Args(args, Usage, new[] { "--quick" }, new[] { "--reps", "--trigger-steps", "--rounds" });
        bool quick = a.Has("--quick");
        int reps = a.Int("--reps", quick ? 1 : 3);
        int steps = a.Int("--trigger-steps", quick ? 10 : 40);
        int rounds = a.Int("--rounds", quick ? 4 : 10);
        Header("attack", $"trigger steps (batch 32) and confusing-perturbation rounds (group of 20) on {Spec.Architecture}/{Spec.Bits} bits: batched vs per-image; " +
                         $"{reps} interleaved repetition(s)");
        var (images, labels, source) = TrainingImages(1000);
        using var _i = images;
        using var _l = labels;
        Console.WriteLine($"data: {source}");

        TorchRuntime.Seed(0);
        using var model = new HashModel(Spec);
        model.eval();
        using var anchor = rand(new long[] { Spec.Bits }, generator: new Generator().manual_seed(7)).lt(0.5).to_type(ScalarType.Float32).mul(2).sub(1);

        TriggerPart(model, images, anchor, steps, reps);
        Console.WriteLine();
        PerturbationPart(model, images, rounds, reps);
        Console.WriteLine($"load average at end: {LoadAverage()}");
        return 0;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // (a) trigger

    static void TriggerPart(HashModel model, Tensor images, Tensor anchor, int steps, int reps)
    {
        const int batch = 32;
        double alpha = 12.0 / 255, beta = 0.1;
        using var gen = new Generator().manual_seed(3);
        using var idx = randint(0, images.shape[0], new long[] { steps, batch }, generator: gen);
        var batches = new Tensor[steps];
        for (int s = 0; s < steps; s++)
        {
            using var row = idx.select(0, s);
            batches[s] = images.index_select(0, row);
        }
        int perImageSteps = Math.Max(2, steps / 4);
        try
        {
            // Agreement on one step from the same pattern.
            using (var p0 = full(new long[] { 1, 4, 4 }, 0.5f))
            {
                var (pb, lb) = TriggerOptimizer.StepBatched(model, batches[0], p0, anchor, beta, alpha);
                var (pl, ll) = TriggerOptimizer.StepPerImage(model, batches[0], p0, anchor, beta, alpha);
                using (pb) using (pl)
                using (var d = pb.sub(pl).abs().max())
                    Console.WriteLine($"trigger step agreement (one step, 32 images): max |batched - per-image| = {d.item<float>():E2} pixel, loss {lb:F6} vs {ll:F6}");
            }
            // Warm-up.
            RunSteps(model, batches, anchor, 2, beta, alpha, batchedStep: true);
            RunSteps(model, batches, anchor, 2, beta, alpha, batchedStep: false);
            var options = new TriggerOptions { Size = 4, Steps = steps, BatchSize = batch, Alpha = alpha, Seed = 1 };
            new TriggerOptimizer(options with { Steps = 2 }).Optimize(model, images, anchor).Dispose();

            var names = new[] { "StepBatched (1 fwd+bwd of 32)", "StepPerImage (32 x fwd+bwd of 1)", "TriggerOptimizer.Optimize" };
            int[] counts = { steps, perImageSteps, steps };
            var wall = names.Select(_ => new List<double>()).ToArray();
            var cpu = names.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < reps; r++)
            {
                for (int k = 0; k < names.Length; k++)
                {
                    int v = (k + r) % names.Length;
                    var m = v switch
                    {
                        0 => Measure(() => RunSteps(model, batches, anchor, counts[0], beta, alpha, batchedStep: true)),
                        1 => Measure(() => RunSteps(model, batches, anchor, counts[1], beta, alpha, batchedStep: false)),
                        _ => Measure(() => new TriggerOptimizer(options).Optimize(model, images, anchor).Dispose()),
                    };
                    wall[v].Add(m.Wall / counts[v]);
                    cpu[v].Add(m.Cpu / counts[v]);
                    Console.WriteLine($"  rep {r + 1}: {names[v],-34} {counts[v] / m.Wall,8:F1} steps/s wall, {counts[v] / m.Cpu,8:F1} steps/CPU-s  (load {LoadAverage()})");
                }
            }
            PrintTable("trigger optimisation, 32 images per step, 4x4 patch", "steps/s", names, wall, cpu, reference: 1);
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }

    static void RunSteps(HashModel model, Tensor[] batches, Tensor anchor, int steps, double beta, double alpha, bool batchedStep)
    {
        var pattern = full(new long[] { 1, 4, 4 }, 0.5f);
        for (int s = 0; s < steps; s++)
        {
            var (next, loss) = batchedStep
                ? TriggerOptimizer.StepBatched(model, batches[s % batches.Length], pattern, anchor, beta, alpha)
                : TriggerOptimizer.StepPerImage(model, batches[s % batches.Length], pattern, anchor, beta, alpha);
            if (!double.IsFinite(loss)) throw new NumericalException("trigger loss not finite");
            pattern.Dispose();
            pattern = next;
        }
        pattern.Dispose();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // (b) confusing perturbation

    static void PerturbationPart(HashModel model, Tensor images, int rounds, int reps)
    {
        const int group = 20;
        using var x = images.narrow(0, 0, group).clone();
        var options = new PerturbationOptions { Rounds = rounds, GroupSize = group, Epsilon = 32.0 / 255, StepSize = 3.2 / 255, Lambda = 0.8 };

        // Agreement of the final perturbed images.
        using (var batched = new ConfusingPerturbation(options).Perturb(model, x))
        using (var looped = PerImagePerturb(model, x, options))
        using (var d = batched.sub(looped).abs())
        {
            double maxDiff = d.max().item<float>();
            double same = d.le(1e-6).to_type(ScalarType.Float32).mean().item<float>();
            Console.WriteLine($"perturbation agreement after {rounds} rounds: max |batched - per-image| = {maxDiff:E2} pixel, {same * 100:F2}% of pixels equal within 1e-6 " +
                              "(a sign step can flip where a gradient component is ~0; float summation order differs)");
        }
        // Warm-up.
        new ConfusingPerturbation(options with { Rounds = 1 }).Perturb(model, x).Dispose();
        PerImagePerturb(model, x, options with { Rounds = 1 }).Dispose();

        var names = new[] { "ConfusingPerturbation.Run (1 fwd+bwd of 20)", "per-image loop (20 x fwd+bwd of 1)" };
        var wall = names.Select(_ => new List<double>()).ToArray();
        var cpu = names.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < reps; r++)
        {
            for (int k = 0; k < names.Length; k++)
            {
                int v = (k + r) % names.Length;
                var m = v == 0
                    ? Measure(() => new ConfusingPerturbation(options).Perturb(model, x).Dispose())
                    : Measure(() => PerImagePerturb(model, x, options).Dispose());
                wall[v].Add(m.Wall / rounds);
                cpu[v].Add(m.Cpu / rounds);
                Console.WriteLine($"  rep {r + 1}: {names[v],-44} {rounds / m.Wall,8:F2} rounds/s wall, {rounds / m.Cpu,8:F2} rounds/CPU-s  (load {LoadAverage()})");
            }
        }
        PrintTable($"confusing perturbation, one group of {group} images, lambda 0.8 ({rounds} rounds per measurement, set-up and final objective included)",
            "rounds/s", names, wall, cpu, reference: 1);
    }

    /// <summary>
    /// The confusing perturbation of one group computed image by image (as the reference code loops): per round, one
    /// forward with gradient per image gives the live outputs; their detached values are the round's snapshot; each
    /// image's objective <c>(1 - lambda) L_adv + lambda L_disp</c> then gets its own backward. Same update, clamps and
    /// order as <see cref="ConfusingPerturbation.Run"/>; a single group (no cross-group state).
    /// </summary>
    internal static Tensor PerImagePerturb(HashModel model, Tensor images, PerturbationOptions o)
    {
        bool wasTraining = model.training;
        model.eval();
        long g = images.shape[0];
        var xs = Enumerable.Range(0, (int)g).Select(i => images.narrow(0, i, 1).clone()).ToArray();
        var deltas = xs.Select(t => zeros_like(t)).ToArray();
        var clean = new Tensor[g];
        try
        {
            using (no_grad())
                for (int i = 0; i < g; i++) clean[i] = model.Continuous(xs[i]);
            for (int round = 0; round < o.Rounds; round++)
            {
                using var scope = NewDisposeScope();
                var leaves = deltas.Select(d => d.detach().clone().requires_grad_(true)).ToArray();
                var outputs = Enumerable.Range(0, (int)g).Select(i => model.Continuous(xs[i].add(leaves[i]))).ToArray(); // [1, K] each
                var snapshotSum = cat(outputs.Select(u => u.detach()).ToArray(), 0).sum(new long[] { 0 });          // sum_m s_m
                double k = outputs[0].shape[1];
                for (int i = 0; i < g; i++)
                {
                    var u = outputs[i];
                    var adv = u.mul(clean[i]).sum().neg().div(k);
                    var loss = adv.mul(1 - o.Lambda);
                    if (g > 1 && o.Lambda != 0)
                    {
                        var disp = u.mul(u).sum().sub(u.mul(snapshotSum).sum()).div(k * (g - 1));
                        loss = loss.add(disp.mul(o.Lambda));
                    }
                    var grad = torch.autograd.grad(new[] { loss }, new[] { leaves[i] })[0];
                    var stepped = leaves[i].detach().add(grad.sign().mul(o.StepSize));
                    var inRange = xs[i].add(stepped).clamp(0, 1).sub(xs[i]);
                    deltas[i].copy_(inRange.clamp(-o.Epsilon, o.Epsilon));
                }
            }
            using var all = cat(Enumerable.Range(0, (int)g).Select(i => xs[i].add(deltas[i])).ToArray(), 0);
            return all.clamp(0, 1);
        }
        finally
        {
            foreach (var t in xs.Concat(deltas).Concat(clean.Where(c => c is not null))) t.Dispose();
            if (wasTraining) model.train();
        }
    }

    static void PrintTable(string title, string unit, string[] names, List<double>[] wallPerOp, List<double>[] cpuPerOp, int reference)
    {
        int reps = wallPerOp[0].Count;
        Console.WriteLine();
        Console.WriteLine($"{title}; median over {reps} repetition(s)");
        var rows = new List<string[]>();
        for (int v = 0; v < names.Length; v++)
        {
            var perRep = Enumerable.Range(0, reps).Select(r => wallPerOp[reference][r] / wallPerOp[v][r]);
            var perRepCpu = Enumerable.Range(0, reps).Select(r => cpuPerOp[reference][r] / cpuPerOp[v][r]);
            rows.Add(new[]
            {
                names[v], F(1 / Median(wallPerOp[v]), 1), F(1 / wallPerOp[v].Min(), 1), F(1e3 * Median(wallPerOp[v]), 1), F(1 / Median(cpuPerOp[v]), 1),
                Ratio(Median(perRep)), Ratio(Median(perRepCpu)),
            });
        }
        Table(new[] { "form", $"{unit} (median)", $"{unit} (best)", "ms each (median)", $"{unit} per CPU-s", $"speed-up vs {names[reference].Split(' ')[0]}, wall", "speed-up, CPU" }, rows);
    }
}
