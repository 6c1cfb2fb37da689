using HashBackdoor.Data;
using HashBackdoor.Hashing;
using static HashBackdoor.Bench.BenchSupport;
using static TorchSharp.torch;

namespace HashBackdoor.Bench;

/// <summary>
/// The frozen-prefix cache (docs/pretrained.md, "Frozen-prefix cache"): one pretrained victim (ImageNet ResNet-18,
/// stages frozen, backbone lr 0.1x, CSQ, Adam, flips; 4% of its training rows poisoned, so batches mix cached and
/// whole-network rows as a real victim's do) trained and then encoding the database, once through the whole network
/// and once through the cache, in the same run and from the same initial weights. Prints the ratio per victim (the
/// cache already built, as every victim of an experiment after the first finds it) and the one-off cost of building
/// the cache (training images with both flips, database), with the codes' agreement between the two victims.
/// </summary>
internal static class PrefixCacheBenchmark
{
    const string Usage = "prefix-cache [--quick] [--train 5000] [--database 20000] [--epochs 1] [--input-size 64] [--freeze 2,3,4] [--reps 1]";

    public static int Run(string[] args)
    {
        var a = new Args(args, Usage, new[] { "--quick" }, new[] { "--train", "--database", "--epochs", "--input-size", "--freeze", "--reps" });
        bool quick = a.Has("--quick");
        int trainCount = a.Int("--train", quick ? 1000 : 5000);
        int dbCount = a.Int("--database", quick ? 2000 : 20000);
        int epochs = a.Int("--epochs", 1);
        int inputSize = a.Int("--input-size", 64);
        int[] freezes = a.Ints("--freeze", new[] { 3 });
        int reps = a.Int("--reps", 1);
        Header("prefix-cache", $"one pretrained victim (imagenet-resnet18, {inputSize} px, CSQ 48 bits, Adam, backbone lr 0.1x, flips, {epochs} epoch(s) on {trainCount} images with 4% poisoned rows, " +
                               $"then {dbCount} database images encoded): whole network against the frozen-prefix cache, same run, same initial weights");

        using var data = DatasetCatalog.Load("fashion-mnist");
        using var split = RetrievalProtocol.Apply(data, new ProtocolOptions());
        using var train = split.Train.Subset(Enumerable.Range(0, Math.Min(trainCount, split.Train.Count)).Select(i => (long)i).ToArray(), "train");
        using var db = split.Database.Subset(Enumerable.Range(0, Math.Min(dbCount, split.Database.Count)).Select(i => (long)i).ToArray(), "database");
        var spec = new HashModelSpec("resnet18", 48, 1, 28, 28, 10) { Pretrained = HashModelSpec.ImageNetResNet18, InputSize = inputSize }.Validate();

        // 4% of the rows poisoned (noise in [-8/255, 8/255], a 4x4 white corner), fixed tensors as CIBA's are.
        long n = train.Count, p = Math.Max(1, n / 25);
        using var gen = new Generator().manual_seed(7);
        using var rows = randperm(n, generator: gen).narrow(0, 0, p);
        using var poisoned = train.Images.clone();
        using (var noise = rand(new long[] { p, 1, 28, 28 }, generator: gen).mul_(2).sub_(1).mul_(8.0 / 255))
        using (var picked = poisoned.index_select(0, rows))
        using (var perturbed = picked.add(noise).clamp_(0, 1))
        {
            perturbed[TensorIndex.Ellipsis, TensorIndex.Slice(24, 28), TensorIndex.Slice(24, 28)] = tensor(1f);
            poisoned.index_copy_(0, rows, perturbed);
        }
        using var augmentable = ones(n, dtype: ScalarType.Bool).index_fill_(0, rows, false);
        var plan = new TrainingSetPlan { Augmentable = augmentable };

        Console.WriteLine($"data: {n} training images ({p} poisoned), {db.Count} database images (Fashion-MNIST protocol q100/t500)");
        var rowsOut = new List<string[]>();
        foreach (int freeze in freezes)
        {
            var options = new HashTrainerOptions
            {
                Loss = "csq", Optimizer = OptimizerKind.Adam, LearningRate = 1e-3, BackboneLrScale = 0.1, FreezeStages = freeze, BatchSize = 64,
                Epochs = epochs, Augmentation = AugmentationKind.Flip, Schedule = LearningRateSchedule.Cosine, Seed = 0,
            };
            for (int r = 0; r < reps; r++)
            {
                // The cache: built once from a prototype of the config (as the experiment does), timed on its own.
                FrozenPrefixCache cache = null!;
                HashModel prototype = null!;
                var build = Measure(() =>
                {
                    TorchRuntime.Seed(12345);
                    prototype = HashModel.Create(spec);
                    cache = FrozenPrefixCache.Create(prototype, freeze, "flip")!;
                    cache.Add(prototype, train.Images, withFlips: true);
                    cache.Add(prototype, db.Images, withFlips: false);
                });
                using var _c = cache;
                using var _p = prototype;

                Tensor codesWhole = null!, codesCached = null!;
                // Alternate the order from one repetition to the next, so that both see the same load on average.
                var order = r % 2 == 0 ? new[] { false, true } : new[] { true, false };
                var times = new Dictionary<bool, Measured>();
                foreach (bool useCache in order)
                {
                    times[useCache] = Measure(() =>
                    {
                        TorchRuntime.Seed(options.Seed);
                        using var victim = HashModel.Create(spec);
                        new HashTrainer(options).Train(victim, poisoned, train.Labels, plan, prefix: useCache ? cache : null);
                        var codes = HashEncoder.Encode(victim, db.Images, 500, null, null, useCache ? cache : null);
                        if (useCache) codesCached = codes; else codesWhole = codes;
                    });
                }
                using var _w = codesWhole;
                using var _cc = codesCached;
                long differ;
                using (var ne = codesWhole.ne(codesCached)) differ = ne.sum().item<long>();
                double ratio = times[false].Wall / times[true].Wall;
                double ratioWithBuild = times[false].Wall / (times[true].Wall + build.Wall);
                Console.WriteLine($"  freeze {freeze} rep {r + 1}: whole network {times[false].Wall:F1} s, cached {times[true].Wall:F1} s (ratio {ratio:F2}), cache build {build.Wall:F1} s " +
                                  $"({cache.Bytes / 1048576.0:F0} MiB), code bits differing {differ} of {codesWhole.NumberOfElements}  (load {LoadAverage()})");
                rowsOut.Add(new[]
                {
                    $"{freeze} ({string.Join("+", Enumerable.Range(0, freeze).Select(i => prototype.BackboneStages[i].Name))})",
                    F(times[false].Wall, 1), F(times[true].Wall, 1), Ratio(ratio), F(build.Wall, 1), Ratio(ratioWithBuild),
                    F(cache.Bytes / 1048576.0), $"{differ} / {codesWhole.NumberOfElements}", LoadAverage(),
                });
            }
        }
        Console.WriteLine();
        Table(new[] { "frozen stages", "victim, whole network (s)", "victim, cached (s)", "ratio", "cache build (s)", "ratio incl. build", "cache MiB", "code bits differing", "load" }, rowsOut);
        Console.WriteLine("ratio = (whole-network victim time) / (cached victim time), train + database encoding, same run; target >= 5. " +
                          "\"incl. build\" charges the whole cache build to this one victim (an experiment shares it among all its models).");
        Console.WriteLine($"load average at end: {LoadAverage()}");
        return 0;
    }
}
