using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using HashBackdoor.Attacks.TestTime;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Inputs of <see cref="TestTimeAttackPipeline"/> (what <c>hashbd attack-queries</c> fills).</summary>
public sealed record TestTimeAttackRequest
{
    /// <summary>Run folder written by <c>hashbd train</c> (model.hbm + run.json). Flag --model.</summary>
    public required string ModelDir { get; init; }

    /// <summary>Folder for attack.json. Flag --out.</summary>
    public required string OutDir { get; init; }

    /// <summary>Target class. Flag --target.</summary>
    public required int Target { get; init; }

    /// <summary>Registered test-time attack (<see cref="TestTimeAttacks.Names"/>). Flag --method.</summary>
    public string Method { get; init; } = "dhta";

    /// <summary>Budget, steps, step size, seed of the attack.</summary>
    public TestTimeAttackOptions Attack { get; init; } = new();

    /// <summary>Number of queries to attack, drawn with a seeded shuffle (SplitMix64, seed <see cref="TestTimeAttackOptions.Seed"/>)
    /// from the eligible ones and sorted; null = all eligible queries (query set) or 200 (validation set). Flag --queries.</summary>
    public int? Queries { get; init; }

    /// <summary>Where the attacked images come from: <c>query</c> (the protocol's queries sharing no label with the
    /// target; what is reported) or <c>validation</c> (database images from the test split, i.e. neither queries nor
    /// training images, sharing no label with the target; for choosing steps and step size). Flag --query-set
    /// (query, validation). attack.json names them query and validation (<see cref="TestTimeAttackPipeline.SetName"/>).</summary>
    public QuerySet QuerySet { get; init; } = QuerySet.Test;

    /// <summary>R of t-MAP@R. Flag --topk.</summary>
    public int TopK { get; init; } = 1000;

    /// <summary>cpu, cuda or cuda:N. Flag --device.</summary>
    public string Device { get; init; } = "cpu";
}

/// <summary>A t-MAP@R under one query rule.</summary>
/// <param name="Percent">t-MAP in percent.</param>
/// <param name="QueriesCounted">Queries in the mean (tie-aware skip rule: the expected number with a hit).</param>
/// <param name="QueriesTotal">Queries evaluated.</param>
public sealed record RuleMap(double Percent, double QueriesCounted, int QueriesTotal)
{
    internal static RuleMap Of(TieAwareMap m) => new(Math.Round(m.Percent, 4), Math.Round(m.ExpectedQueriesCounted, 4), m.QueriesTotal);
    internal static RuleMap Of(MapResult m) => new(Math.Round(m.Percent, 4), m.QueriesCounted, m.QueriesTotal);
}

/// <summary>A metric under both query rules (see <see cref="QueryRule"/>): tie-aware, with the database-order figures
/// (the reference code's convention) in <see cref="DatabaseOrder"/>.</summary>
public sealed record BothRules(RuleMap Skip, RuleMap Zero)
{
    /// <summary>The same metric with ties in database order; null inside itself.</summary>
    public BothRules? DatabaseOrder { get; init; }

    internal static BothRules Of(TieAwareMap m) => new(RuleMap.Of(m.Under(QueryRule.Skip)), RuleMap.Of(m.Under(QueryRule.Zero)))
    {
        DatabaseOrder = new BothRules(RuleMap.Of(m.DatabaseOrder.Under(QueryRule.Skip)), RuleMap.Of(m.DatabaseOrder.Under(QueryRule.Zero))),
    };
}

/// <summary>Everything attack.json records: the numbers, the protocol, and the chosen indices to reproduce them.</summary>
public sealed record TestTimeAttackReport
{
    /// <summary>Attack name (dhta, p2p, ...).</summary>
    public required string Method { get; init; }
    /// <summary>Target class and its name.</summary>
    public required int Target { get; init; }
    /// <summary>Name of the target class.</summary>
    public required string TargetName { get; init; }
    /// <summary>query or validation.</summary>
    public required string QuerySet { get; init; }
    /// <summary>L-infinity budget, pixel units on 0..1.</summary>
    public required double Epsilon { get; init; }
    /// <summary>The budget as k/255.</summary>
    public required string EpsilonOver255 { get; init; }
    /// <summary>Steps per query.</summary>
    public required int Steps { get; init; }
    /// <summary>Step length in pixel units.</summary>
    public required double StepSize { get; init; }
    /// <summary>sign or l2.</summary>
    public required string StepRule { get; init; }
    /// <summary>tanh temperature schedule.</summary>
    public required IReadOnlyList<double> BetaSchedule { get; init; }
    /// <summary>Seed of the query subset and of P2P's target choice.</summary>
    public required long Seed { get; init; }
    /// <summary>t-MAP@R of the adversarial queries (relevant = database image has the target label), both rules.</summary>
    public required BothRules TMap { get; init; }
    /// <summary>Chance level: t-MAP@R of the same queries unperturbed, both rules.</summary>
    public required BothRules ChanceTMap { get; init; }
    /// <summary>mAP@R of the unperturbed queries with their own labels, both rules.</summary>
    public required BothRules CleanMap { get; init; }
    /// <summary>mAP@R of the adversarial queries with their own labels, both rules.</summary>
    public required BothRules AdversarialMap { get; init; }
    /// <summary>Mean over queries of max |delta| (pixel units).</summary>
    public required double MeanLinf { get; init; }
    /// <summary>Largest |delta| over all queries and pixels.</summary>
    public required double MaxLinf { get; init; }
    /// <summary>Mean over queries of ||delta||_2 (pixel units).</summary>
    public required double MeanL2 { get; init; }
    /// <summary>Mean Hamming distance between the clean queries' codes and their target codes ((K - &lt;b, h&gt;) / 2:
    /// a 0 component of a tied anchor counts 1/2).</summary>
    public required double MeanHammingToTargetBefore { get; init; }
    /// <summary>The same for the adversarial queries' codes.</summary>
    public required double MeanHammingToTargetAfter { get; init; }
    /// <summary>Queries whose adversarial code is at Hamming distance 0 from its target code.</summary>
    public required int QueriesReachingTarget { get; init; }
    /// <summary>Mean loss before the first step and after the last.</summary>
    public required double LossFirst { get; init; }
    /// <summary>Mean loss after the last step.</summary>
    public required double LossLast { get; init; }
    /// <summary>Rows of the attacked images: query-set rows (query set) or database rows (validation set).</summary>
    public required long[] QueryRows { get; init; }
    /// <summary>Indices of the same images in their source split (the test split for Fashion-MNIST queries).</summary>
    public required long[] QuerySourceIndices { get; init; }
    /// <summary>Training-set rows whose codes were the targets, one per query (P2P), empty for an anchor target.</summary>
    public required long[] TargetTrainRows { get; init; }
    /// <summary>Indices of those training images in the dataset's training split.</summary>
    public required long[] TargetSourceIndices { get; init; }
    /// <summary>Per-query AP (%) of the adversarial queries for the target label, in query order, tie-aware: the expected
    /// AP over the orderings of tied items in which a target image is in the top R; null = that never happens.</summary>
    public required double?[] PerQueryTargetAP { get; init; }
    /// <summary>Per query, the probability over the tie orderings that a target image is in the top R.</summary>
    public required double[] PerQueryTargetHitProbability { get; init; }
    /// <summary>The retrieval protocol (dataset, split, R, tie and query rules).</summary>
    public required IReadOnlyDictionary<string, object?> Protocol { get; init; }
    /// <summary>Model file attacked.</summary>
    public required string Model { get; init; }
    /// <summary>CPU model and core count.</summary>
    public required string Machine { get; init; }
    /// <summary>Toolkit version.</summary>
    public required string ToolkitVersion { get; init; }
    /// <summary>Seconds of the attack's optimisation alone.</summary>
    public required double AttackSeconds { get; init; }
    /// <summary>Seconds of the whole pipeline (loading and encoding the training set and database, shared by the
    /// attacks of one call, plus this attack and its scoring).</summary>
    public required double Seconds { get; init; }
}

/// <summary>
/// Runs a registered test-time attack (P2P, DHTA, ...) on a trained model's queries and scores it: loads the run folder
/// (the same protocol split as <c>hashbd evaluate</c>), encodes the training set with the model (the attacker's view of
/// the target class), attacks the queries that share no label with the target, and writes attack.json with t-MAP@R
/// under both query rules, the chance level (the same queries unperturbed), perturbation sizes, Hamming distances to the
/// target codes, and the chosen query and target indices.
/// </summary>
public static class TestTimeAttackPipeline
{
    /// <summary>File written in the output folder.</summary>
    public const string FileName = "attack.json";

    /// <summary>Default number of validation images when <see cref="TestTimeAttackRequest.Queries"/> is null.</summary>
    public const int DefaultValidationCount = 200;

    /// <summary>attack.json's serializer options (camelCase, indented).</summary>
    internal static JsonSerializerOptions JsonOptions => Json;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Runs the attack and writes <see cref="FileName"/> in <see cref="TestTimeAttackRequest.OutDir"/> atomically.</summary>
    public static TestTimeAttackReport Run(TestTimeAttackRequest request, IRunProgress progress, CancellationToken cancel = default) =>
        RunAll(new[] { request }, progress, cancel)[0];

    /// <summary>
    /// Runs several attacks on the same model (same <see cref="TestTimeAttackRequest.ModelDir"/> and device), loading the
    /// run and encoding the training set and database once; each request writes its own attack.json. Every request is
    /// validated before any work starts.
    /// </summary>
    public static IReadOnlyList<TestTimeAttackReport> RunAll(IReadOnlyList<TestTimeAttackRequest> requests, IRunProgress progress, CancellationToken cancel = default)
    {
        if (requests.Count == 0) throw new ArgumentException("no attack to run", nameof(requests));
        foreach (var request in requests)
        {
            TestTimeAttacks.Create(request.Method);
            request.Attack.Validate();
            if (request.Queries is int q && q < 1) throw new UsageException($"queries {q}: must be at least 1");
            if (request.TopK < 1) throw new UsageException($"topK {request.TopK}: must be at least 1");
            if (!Enum.IsDefined(request.QuerySet))
                throw new UsageException($"querySet {(int)request.QuerySet}: unknown set (test, validation)");
            if (request.ModelDir != requests[0].ModelDir || request.Device != requests[0].Device)
                throw new ArgumentException("all requests of one call must attack the same model on the same device");
        }
        var wall = Stopwatch.StartNew();
        using var run = LoadedRun.Open(requests[0].ModelDir, requests[0].Device);
        int classes = run.Split.Train.NumClasses;
        foreach (var request in requests)
            if (request.Target < 0 || request.Target >= classes)
                throw new UsageException($"target {request.Target}: unknown class (the dataset has {classes} classes, 0..{classes - 1})");
        var device = run.Model.parameters().First().device;
        using var trainCodes = EncodeSigns(run.Model, run.Split.Train.Images, device, progress, "encode training set");
        var database = EvaluatePipeline.Encode(run.Model, run.Split.Database, progress, "encode database");
        var index = new HammingIndex(database.Codes);
        double shared = wall.Elapsed.TotalSeconds;
        var reports = new List<TestTimeAttackReport>();
        foreach (var request in requests)
            reports.Add(RunOne(request, run, trainCodes, database, index, shared, progress, cancel));
        return reports;
    }

    private static TestTimeAttackReport RunOne(TestTimeAttackRequest request, LoadedRun run, Tensor trainCodes, EncodedSet database,
        HammingIndex index, double sharedSeconds, IRunProgress progress, CancellationToken cancel)
    {
        var wall = Stopwatch.StartNew();
        var attack = TestTimeAttacks.Create(request.Method);
        var options = request.Attack.Validate();
        var split = run.Split;
        int classes = split.Train.NumClasses;
        var model = run.Model;
        var device = model.parameters().First().device;

        var (rows, sourceIndices, pool) = ChooseImages(split, request, options.Seed);
        using var chosen = pool.Subset(rows, $"{SetName(request.QuerySet)} non-target {request.Target}");
        progress.Info($"{request.Method} on {chosen.Count} {SetName(request.QuerySet)} images, target {request.Target} ({split.ClassNames[request.Target]}), eps {FormatBudget(options.Epsilon)}, {options.Steps} steps of {options.EffectiveStepSize:0.#####}");

        var context = new TestTimeAttackContext(model, trainCodes, split.Train.Labels, request.Target, options);
        long n = chosen.Count;
        var attackWatch = Stopwatch.StartNew();
        TestTimeAttackResult result;
        using (var step = progress.Start($"{request.Method} attack ({n} images x {options.Steps} steps)", Math.Max(1, n * options.Steps)))
        {
            result = attack.Attack(chosen.Images, context with
            {
                Progress = (start, done) => step.Report(start * options.Steps + done * Math.Min(options.BatchSize, n - start)),
            }, cancel);
        }
        double attackSeconds = attackWatch.Elapsed.TotalSeconds;
        using var owned = result;

        using var cleanSigns = EncodeSigns(model, chosen.Images, device, progress, "encode clean queries");
        using var advSigns = EncodeSigns(model, result.Adversarial, device, progress, "encode adversarial queries");
        var cleanCodes = CodeConversion.ToBinaryCodes(cleanSigns, out _);
        var advCodes = CodeConversion.ToBinaryCodes(advSigns, out _);
        // The codes behind every figure, beside attack.json (hashbd rescore recomputes the figures from them).
        TestTimeCodes.Write(request.OutDir, database, cleanCodes, advCodes, chosen.LabelBytes());
        var codes = new TestTimeCodes(database.Codes, database.Labels, cleanCodes, advCodes, CodeConversion.ToLabelSets(chosen.Labels));

        TestTimeScores scores;
        using (progress.Start("rank and score", 1))
        {
            scores = Score(codes, request.Target, request.TopK, index);
        }

        var (meanLinf, maxLinf, meanL2) = PerturbationSizes(chosen.Images, result.Adversarial);
        double[] before = HammingToTargets(cleanSigns, result.TargetCodes);
        double[] after = HammingToTargets(advSigns, result.TargetCodes);

        var report = new TestTimeAttackReport
        {
            Method = attack.Name,
            Target = request.Target,
            TargetName = split.ClassNames[request.Target],
            QuerySet = SetName(request.QuerySet),
            Epsilon = options.Epsilon,
            EpsilonOver255 = FormatBudget(options.Epsilon),
            Steps = options.Steps,
            StepSize = options.EffectiveStepSize,
            StepRule = options.Rule == StepRule.Sign ? "sign" : "l2",
            BetaSchedule = options.BetaSchedule,
            Seed = options.Seed,
            TMap = scores.TMap,
            ChanceTMap = scores.Chance,
            CleanMap = scores.Clean,
            AdversarialMap = scores.Adversarial,
            MeanLinf = Math.Round(meanLinf, 6),
            MaxLinf = Math.Round(maxLinf, 6),
            MeanL2 = Math.Round(meanL2, 6),
            MeanHammingToTargetBefore = Math.Round(before.DefaultIfEmpty().Average(), 4),
            MeanHammingToTargetAfter = Math.Round(after.DefaultIfEmpty().Average(), 4),
            QueriesReachingTarget = after.Count(d => d == 0),
            LossFirst = Math.Round(result.LossTrace[0], 6),
            LossLast = Math.Round(result.LossTrace[^1], 6),
            QueryRows = rows,
            QuerySourceIndices = sourceIndices,
            TargetTrainRows = result.TargetRows,
            TargetSourceIndices = result.TargetRows.Select(r => split.TrainIndices[r]).ToArray(),
            PerQueryTargetAP = scores.PerQueryTargetAP,
            PerQueryTargetHitProbability = scores.PerQueryTargetHitProbability,
            Protocol = EvaluatePipeline.Protocol(run, request.TopK, QueryRule.Skip),
            Model = Path.GetFullPath(Path.Combine(request.ModelDir, RunRecord.ModelFileName)),
            Machine = DescribeCpu(),
            ToolkitVersion = ToolkitInfo.Version,
            AttackSeconds = Math.Round(attackSeconds, 1),
            Seconds = Math.Round(sharedSeconds + wall.Elapsed.TotalSeconds, 1),
        };
        string path = Path.Combine(request.OutDir, FileName);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(report, Json));
        progress.Info($"{attack.Name} target {request.Target} eps {report.EpsilonOver255}: t-MAP {report.TMap.Skip.Percent:F2}% (skip) / {report.TMap.Zero.Percent:F2}% (zero); "
            + $"chance {report.ChanceTMap.Skip.Percent:F2}% / {report.ChanceTMap.Zero.Percent:F2}%; Hamming to target {report.MeanHammingToTargetBefore:F1} -> {report.MeanHammingToTargetAfter:F1}");
        progress.Info($"written to {path}");
        return report;
    }

    /// <summary>The figures of attack.json from the codes (tie-aware, both rules, database order beside): t-MAP of the
    /// adversarial and of the clean (chance level) queries, mAP of both for their own labels, per-query target AP.</summary>
    internal static TestTimeScores Score(TestTimeCodes codes, int target, int topK, HammingIndex? index = null)
    {
        index ??= new HammingIndex(codes.Database);
        var targetLabels = LabelSets.Repeat(target, codes.Clean.Count, codes.DatabaseLabels.Classes);
        TieAwareMap Map(BinaryCodes q, LabelSets labels) => TieAwareMetrics.MeanAveragePrecision(index, q, labels, codes.DatabaseLabels, topK, QueryRule.Skip);
        var tmap = Map(codes.Adversarial, targetLabels);
        return new TestTimeScores(BothRules.Of(tmap), BothRules.Of(Map(codes.Clean, targetLabels)),
            BothRules.Of(Map(codes.Clean, codes.QueryLabels)), BothRules.Of(Map(codes.Adversarial, codes.QueryLabels)),
            tmap.ConditionalAveragePrecisions().Select(a => double.IsNaN(a) ? (double?)null : Math.Round(a * 100, 4)).ToArray(),
            tmap.HitProbabilities.Select(p => Math.Round(p, 6)).ToArray());
    }

    /// <summary>Sub-folder of one combination when a call runs several: METHOD-tTARGET-epsK (K = eps x 255, for
    /// example "dhta-t1-eps8").</summary>
    public static string SweepFolder(string method, int target, double eps) =>
        $"{method.ToLowerInvariant()}-t{target}-eps{(eps * 255).ToString("0.##", CultureInfo.InvariantCulture)}";

    /// <summary>The name attack.json and the command line give a query set: query (<see cref="QuerySet.Test"/>, the
    /// protocol's queries) or validation.</summary>
    public static string SetName(QuerySet set) => set == QuerySet.Test ? "query" : "validation";

    /// <summary>A budget as k/255 with up to two decimals (for example "8/255").</summary>
    public static string FormatBudget(double eps) => $"{(eps * 255).ToString("0.##", CultureInfo.InvariantCulture)}/255";

    /// <summary>The attacked rows, their source indices and the dataset they index.</summary>
    private static (long[] Rows, long[] Source, ImageDataset Pool) ChooseImages(ProtocolSplit split, TestTimeAttackRequest request, long seed)
    {
        int target = request.Target;
        long[] eligible;
        ImageDataset pool;
        Func<long, long> source;
        if (request.QuerySet == QuerySet.Test)
        {
            pool = split.Query;
            eligible = NonTargetRows(pool, target, 0);
            source = r => split.QueryIndices[r];
        }
        else
        {
            pool = split.Database;
            long first = split.DatabaseTrainIndices.Length;
            if (split.DatabaseTestIndices.Length == 0)
                throw new UsageException($"querySet validation: the dataset {split.DatasetName} has no test-split database images to validate on");
            eligible = NonTargetRows(pool, target, first);
            source = r => split.DatabaseTestIndices[r - first];
        }
        if (eligible.Length == 0) throw new UsageException($"target {target}: every {SetName(request.QuerySet)} image has the target label; nothing to attack");
        int want = request.Queries ?? (request.QuerySet == QuerySet.Test ? eligible.Length : DefaultValidationCount);
        long[] rows;
        if (want >= eligible.Length) rows = eligible;
        else
        {
            var shuffled = eligible.ToArray();
            new SplitMix64(seed).Shuffle(shuffled);
            rows = shuffled.Take(want).OrderBy(r => r).ToArray();
        }
        return (rows, rows.Select(source).ToArray(), pool);
    }

    /// <summary>Rows from <paramref name="first"/> on whose labels do not contain <paramref name="target"/>, ascending.</summary>
    private static long[] NonTargetRows(ImageDataset set, int target, long first)
    {
        using var scope = NewDisposeScope();
        var keep = set.Labels.select(1, target).eq(0);
        if (first > 0) keep = keep.logical_and(arange(set.Count).ge(first));
        return keep.nonzero().view(-1).data<long>().ToArray();
    }

    private static Tensor EncodeSigns(HashModel model, Tensor images, Device device, IRunProgress progress, string label)
    {
        using var step = progress.Start($"{label} ({images.shape[0]} images)", 1);
        return HashEncoder.Encode(model, images, 500, null, device);
    }

    /// <summary>Mean and max of per-image max |delta|, and mean per-image L2 norm.</summary>
    internal static (double MeanLinf, double MaxLinf, double MeanL2) PerturbationSizes(Tensor clean, Tensor adversarial)
    {
        if (clean.shape[0] == 0) return (0, 0, 0);
        using var scope = NewDisposeScope();
        var d = adversarial.cpu().to_type(ScalarType.Float64).sub(clean.cpu().to_type(ScalarType.Float64)).flatten(1);
        var linf = d.abs().amax(new long[] { 1 });
        var l2 = d.pow(2).sum(1).sqrt();
        return (linf.mean().item<double>(), linf.max().item<double>(), l2.mean().item<double>());
    }

    /// <summary>Per-row (K - &lt;b, h&gt;) / 2 of sign codes b and target codes h, both [N, K].</summary>
    internal static double[] HammingToTargets(Tensor codes, Tensor targets)
    {
        using var scope = NewDisposeScope();
        long k = codes.shape[1];
        var inner = codes.cpu().to_type(ScalarType.Float64).mul(targets.cpu().to_type(ScalarType.Float64)).sum(1);
        return inner.neg().add(k).div(2).data<double>().ToArray();
    }

    /// <summary>CPU model name (from /proc/cpuinfo when readable), logical cores and torch threads.</summary>
    internal static string DescribeCpu()
    {
        string cpu = "unknown CPU";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        return $"{cpu}; {RunRecord.DescribeMachine()}";
    }
}

/// <summary>The retrieval figures of one test-time attack (<see cref="TestTimeAttackPipeline.Score"/>).</summary>
internal sealed record TestTimeScores(BothRules TMap, BothRules Chance, BothRules Clean, BothRules Adversarial,
    double?[] PerQueryTargetAP, double[] PerQueryTargetHitProbability);
