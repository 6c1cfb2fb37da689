using System.Diagnostics;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>
/// STRIP (Gao et al., ACSAC 2019) for hashing: every query x is superimposed on <see cref="Blends"/> clean images c_j
/// drawn from the database, x_j = clamp(x + <see cref="Alpha"/> c_j, 0, 1) (the paper's saturating addition at weight
/// 1), and the blends are encoded. A triggered query's blends keep the trigger and stay near the anchor code, so their
/// codes scatter little; a clean query's blends follow their varying partners. Score (higher = more suspicious): minus
/// the mean pairwise Hamming distance among the blend codes; also the entropy of the blends' nearest database labels
/// (the classification entropy's analogue), lower = more suspicious. Detection: triggered non-target queries against
/// the same queries clean. The rejection threshold is set on clean database images not used as partners (the defender's
/// data) at <see cref="FalseRejectionRate"/>; refused queries count as AP 0 in the after-figures.
/// </summary>
public sealed class StripDefense : IDefense, IExtensionSettings
{
    /// <inheritdoc/>
    public string Name => "strip";

    /// <inheritdoc/>
    public DefenseGroup Group => DefenseGroup.InputFiltering;

    /// <inheritdoc/>
    public DefenseNeeds Needs => DefenseNeeds.Trigger;

    /// <summary>Clean images superimposed on every query (N).</summary>
    public int Blends { get; init; } = 32;

    /// <summary>Weight of the clean image in the superimposition.</summary>
    public double Alpha { get; init; } = 1.0;

    /// <summary>Queries per chunk (a chunk is encoded as one tensor of chunk x N blends).</summary>
    public int ChunkQueries { get; init; } = 16;

    /// <summary>Clean database images the defender uses to set its threshold.</summary>
    public int CalibrationImages { get; init; } = 500;

    /// <summary>Fraction of clean inputs the calibrated threshold refuses.</summary>
    public double FalseRejectionRate { get; init; } = 0.05;

    /// <summary>
    /// Mean pairwise Hamming distance among the codes of each query's blends, float64 [Q]. For every query i the blends
    /// are clamp(queries[i] + alpha partners[partnerIndex[i, j]], 0, 1), j &lt; N; all blends of a chunk are encoded as
    /// one tensor. Also returns the blend codes (sign, float [Q, N, K]) when <paramref name="keepCodes"/> is set.
    /// </summary>
    public static (double[] Scatter, Tensor? Codes) Scatter(HashModel model, Tensor queries, Tensor partners, Tensor partnerIndex,
        double alpha, int chunk, Device device, bool keepCodes = false, CancellationToken cancel = default)
    {
        long q = queries.shape[0], n = partnerIndex.shape[1];
        if (partnerIndex.shape[0] != q) throw new ArgumentException($"partner index has {partnerIndex.shape[0]} rows for {q} queries");
        if (n < 2) throw new UsageException($"strip.blends {n}: needs at least 2 blends per query");
        var scatter = new double[q];
        var kept = new List<Tensor>();
        for (long s = 0; s < q; s += chunk)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            long len = Math.Min(chunk, q - s);
            var x = queries.narrow(0, s, len);                                                // [L,C,H,W]
            var idx = partnerIndex.narrow(0, s, len).reshape(-1);                             // [L*N]
            var p = partners.index_select(0, idx).view(len, n, queries.shape[1], queries.shape[2], queries.shape[3]);
            var blends = x.unsqueeze(1).add(p, alpha: alpha).clamp_(0, 1).view(len * n, queries.shape[1], queries.shape[2], queries.shape[3]);
            var codes = HashEncoder.Encode(model, blends, (int)(len * n), null, device).view(len, n, -1); // [L,N,K]
            long k = codes.shape[2];
            var inner = codes.bmm(codes.transpose(1, 2));                                     // [L,N,N] = K - 2 d for +-1 codes
            var dist = inner.neg().add(k).div(2);
            var mean = dist.sum(new long[] { 1, 2 }).div(n * (n - 1)).to_type(ScalarType.Float64).contiguous();
            mean.data<double>().ToArray().CopyTo(scatter, s);
            if (keepCodes) kept.Add(codes.MoveToOuterDisposeScope());
        }
        Tensor? all = keepCodes ? (kept.Count == 0 ? zeros(0, n, 1) : cat(kept, 0)) : null;
        foreach (var t in kept) t.Dispose();
        return (scatter, all);
    }

    /// <summary>Entropy (nats) of the single labels of each query's blends' nearest database neighbours, [Q].</summary>
    internal static double[] NeighbourEntropy(Tensor blendCodes, HammingIndex database, int[] databaseLabels, int classes)
    {
        long q = blendCodes.shape[0], n = blendCodes.shape[1];
        var flat = CodeConversion.ToBinaryCodes(blendCodes.reshape(q * n, -1), out _);
        var nearest = database.Search(flat, 1);
        var h = new double[q];
        var counts = new int[classes];
        for (long i = 0; i < q; i++)
        {
            Array.Clear(counts);
            for (long j = 0; j < n; j++) counts[databaseLabels[nearest[i * n + j]]]++;
            double e = 0;
            foreach (int c in counts) if (c > 0) { double p = c / (double)n; e -= p * Math.Log(p); }
            h[i] = e;
        }
        return h;
    }

    /// <summary>Checks the settings (config section <c>strip</c>); throws <see cref="UsageException"/> naming the key.</summary>
    public void Validate()
    {
        if (Blends < 2) throw new UsageException($"strip.blends {Blends}: must be at least 2");
        if (!(Alpha > 0)) throw new UsageException($"strip.alpha {Alpha}: must be positive");
        if (ChunkQueries < 1) throw new UsageException($"strip.chunkQueries {ChunkQueries}: must be at least 1");
        if (CalibrationImages < 1) throw new UsageException($"strip.calibrationImages {CalibrationImages}: must be at least 1");
        if (!(FalseRejectionRate > 0 && FalseRejectionRate < 1)) throw new UsageException($"strip.falseRejectionRate {FalseRejectionRate}: must lie in (0, 1)");
    }

    /// <inheritdoc/>
    public DefenseResult Run(DefenseInputs inputs, DefenseContext context)
    {
        inputs.Require(Needs, Name);
        Validate();
        var sw = Stopwatch.StartNew();
        var result = new DefenseResult(Name, Group);
        result.Settings["blends"] = Blends;
        result.Settings["alpha"] = Alpha;
        result.Settings["superimposition"] = "clamp(query + alpha * clean, 0, 1)";
        result.Settings["falseRejectionRate"] = FalseRejectionRate;
        var device = context.Device;
        var trigger = inputs.Trigger!;
        int dbCount = inputs.Database.Count;
        int calib = Math.Min(CalibrationImages, dbCount / 2);
        int poolSize = dbCount - calib;
        if (poolSize < Blends) throw new UsageException($"strip.blends {Blends}: the database has only {poolSize} partner images");

        // Defender's data: a seeded permutation of the database; the first calib images calibrate, the rest are partners.
        using var gen = new Generator().manual_seed(context.StreamSeed(31));
        using var perm = randperm(dbCount, generator: gen);
        using var calibIdx = perm.narrow(0, 0, calib);
        using var poolIdx = perm.narrow(0, calib, poolSize);
        using var partners = inputs.Database.Images.index_select(0, poolIdx);
        Tensor Draw(long rows) => randint(0, poolSize, new long[] { rows, Blends }, generator: gen);

        var dbCodes = RetrievalCheck.VictimDatabaseCodes(inputs, device);
        var index = new HammingIndex(dbCodes);
        using var dbLabelsArg = inputs.Database.Labels.argmax(1).to_type(ScalarType.Int32);
        var dbLabels = dbLabelsArg.data<int>().ToArray();
        int classes = inputs.Database.NumClasses;

        // The calibration images' and the clean queries' scores do not depend on the trigger or the target: they are
        // kept per victim (shared by the clean model's runs on every target). The partner draws are made every time, so
        // the triggered queries' partners are the same whether the clean scores were reused or computed.
        string settingsKey = $"strip|blends {Blends}|alpha {Alpha:R}|calibration {calib}|seed {context.StreamSeed(31)}";
        (double[] Scatter, double[] Entropy) Score(Tensor images, string stage, string? shareAs)
        {
            using var idx = Draw(images.shape[0]);
            (double[], double[]) Compute()
            {
                context.Progress?.Invoke($"{Name}: {stage}", 0);
                var (scatter, codes) = Scatter(inputs.Victim, images, partners, idx, Alpha, ChunkQueries, device, keepCodes: true, context.Cancel);
                using (codes) return (scatter, NeighbourEntropy(codes!, index, dbLabels, classes));
            }
            return shareAs is null ? Compute() : inputs.Shared.GetOrAdd($"{settingsKey}|{shareAs}", Compute);
        }

        using var calibImages = inputs.Database.Images.index_select(0, calibIdx);
        var calibScores = Score(calibImages, "calibration", "calibration");
        using var nonTarget = inputs.NonTargetQueries();
        using var triggeredImages = trigger.Paste(nonTarget.Images);
        var cleanScores = Score(inputs.Query.Images, "clean queries", "clean queries");
        var trigScores = Score(triggeredImages, "triggered queries", null);

        // Detection: the non-target queries clean (negatives) against the same queries triggered (positives).
        using var ntIdx = inputs.Query.Labels.select(1, inputs.TargetClass).eq(0).nonzero().squeeze(1);
        var nonTargetRows = ntIdx.data<long>().ToArray();
        var negScatter = nonTargetRows.Select(i => cleanScores.Scatter[i]).ToArray();
        var negEntropy = nonTargetRows.Select(i => cleanScores.Entropy[i]).ToArray();
        var labels = negScatter.Select(_ => false).Concat(trigScores.Scatter.Select(_ => true)).ToArray();
        var scatterScore = negScatter.Concat(trigScores.Scatter).Select(v => -v).ToArray();
        var entropyScore = negEntropy.Concat(trigScores.Entropy).Select(v => -v).ToArray();
        result.Figures[DefenseFigures.DetectionAuc] = DetectionMetrics.RocAuc(scatterScore, labels);
        result.Detection = new DetectionScores(scatterScore, labels, nonTargetRows.Concat(nonTargetRows).ToArray(),
            "query rows: the non-target queries clean (negatives), then the same rows with the trigger (positives); score = minus the code scatter under blending").Checked();
        result.Figures["tprAt5PercentFpr"] = DetectionMetrics.TprAtFpr(scatterScore, labels, 0.05).Tpr;
        result.Figures["detectionAucEntropy"] = DetectionMetrics.RocAuc(entropyScore, labels);
        result.Figures["tprAt5PercentFprEntropy"] = DetectionMetrics.TprAtFpr(entropyScore, labels, 0.05).Tpr;
        result.Figures["meanScatterClean"] = negScatter.Average();
        result.Figures["meanScatterTriggered"] = trigScores.Scatter.Average();

        // Deployed filter: refuse a query whose scatter is below the calibration set's FalseRejectionRate quantile.
        var sortedCalib = calibScores.Scatter.OrderBy(v => v).ToArray();
        double threshold = sortedCalib[Math.Min(sortedCalib.Length - 1, (int)Math.Floor(FalseRejectionRate * sortedCalib.Length))];
        bool[] refusedClean = cleanScores.Scatter.Select(v => v < threshold).ToArray();
        bool[] refusedTrig = trigScores.Scatter.Select(v => v < threshold).ToArray();
        result.Figures["threshold"] = threshold;
        result.Figures["refusedTriggered"] = refusedTrig.Count(r => r) / (double)refusedTrig.Length;
        result.Figures["refusedClean"] = refusedClean.Count(r => r) / (double)refusedClean.Length;

        var (clean, triggered) = RetrievalCheck.Evaluate(inputs.Victim, inputs, device);
        RetrievalCheck.Report(result, DefenseFigures.MapBefore, DefenseFigures.TMapBefore, (clean, triggered));
        RetrievalCheck.Report(result, DefenseFigures.MapAfter, DefenseFigures.TMapAfter, (Refuse(clean, refusedClean), triggered is null ? null : Refuse(triggered, refusedTrig)));
        result.Series["scatterCleanQueries"] = cleanScores.Scatter;
        result.Series["scatterTriggeredQueries"] = trigScores.Scatter;
        context.Log?.Invoke($"{Name}: AUC {result.Figures[DefenseFigures.DetectionAuc]:F3}, TPR@5%FPR {result.Figures["tprAt5PercentFpr"]:F3}, refused triggered {result.Figures["refusedTriggered"]:P1}, clean {result.Figures["refusedClean"]:P1}");
        result.Seconds = sw.Elapsed.TotalSeconds;
        return result;
    }

    /// <summary>The same mAP with refused queries counted as AP 0 (they get no results, and still count under the skip
    /// rule: a refusal is the defense's answer, not a missing one). Tie-aware: such a query has E[AP] 0 and "hit"
    /// probability 1; the database-order figure likewise.</summary>
    internal static TieAwareMap Refuse(TieAwareMap map, bool[] refused)
    {
        var aps = map.ExpectedAveragePrecisions.Select((ap, i) => refused[i] ? 0.0 : ap).ToArray();
        var hits = map.HitProbabilities.Select((h, i) => refused[i] ? 1.0 : h).ToArray();
        var orderAps = map.DatabaseOrder.AveragePrecisions.Select((ap, i) => refused[i] ? 0.0 : ap).ToArray();
        return TieAwareMap.From(aps, hits, map.R, map.Rule, MapResult.FromAveragePrecisions(orderAps, map.R, map.Rule));
    }
}
