using System.Diagnostics;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>
/// Fine-pruning (Liu, Dolan-Gavitt and Garg, RAID 2018) for hashing models. The defender's clean subset (as in
/// <see cref="FineTuningDefense"/>) is passed through the victim; the output channels of the LAST convolution are ranked
/// by their mean activation (after BatchNorm and ReLU, over images and positions), ascending, and pruned in that order:
/// a pruned channel has its convolution filter and bias and its BatchNorm weight and bias set to zero, so it outputs 0.
/// The curve gives clean mAP and t-MAP at every ratio of <see cref="Ratios"/>. The defender keeps the largest ratio whose
/// mAP on its own clean subset (first half as queries, second half as database) falls by at most
/// <see cref="MaxValidationDrop"/> points, prunes a fresh copy to it and fine-tunes it on the clean subset with the
/// pruned channels held at zero after every step.
/// </summary>
public sealed class FinePruningDefense : IDefense, IExtensionSettings
{
    /// <inheritdoc/>
    public string Name => "fine-pruning";

    /// <inheritdoc/>
    public DefenseGroup Group => DefenseGroup.ModelRepair;

    /// <inheritdoc/>
    public DefenseNeeds Needs => DefenseNeeds.PoisonSet | DefenseNeeds.Trigger;

    /// <summary>Fraction of the training set the defender holds as trusted clean images.</summary>
    public double CleanFraction { get; init; } = 0.05;

    /// <summary>Pruning ratios of the curve (fractions of the last convolution's channels).</summary>
    public IReadOnlyList<double> Ratios { get; init; } = new[] { 0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9 };

    /// <summary>Largest drop (mAP points on the defender's clean subset) a chosen ratio may cost (Liu et al.: 4% accuracy).</summary>
    public double MaxValidationDrop { get; init; } = 4.0;

    /// <summary>Fine-tuning epochs after pruning.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Whether the curve reports clean mAP and t-MAP on the protocol's queries and database at every ratio (one
    /// database encoding per ratio above 0: the expensive part). Without it the curve has the defender's validation mAP
    /// only, which is all the defense's decision reads, and the pruned-only figures at the chosen ratio are left out;
    /// the outcome (chosen ratio, mAP and t-MAP after fine-tuning) is the same.</summary>
    public bool EvaluateCurve { get; init; } = true;

    /// <summary>The last Conv2d of the model (module order) and the BatchNorm2d that follows it, if any.</summary>
    public static (Conv2d Conv, BatchNorm2d? Norm) LastConvolution(HashModel model)
    {
        Conv2d? conv = null;
        BatchNorm2d? norm = null;
        foreach (var (_, m) in model.named_modules())
        {
            if (m is Conv2d c) { conv = c; norm = null; }
            else if (m is BatchNorm2d b && conv is not null && norm is null && b.weight is not null && b.weight.shape[0] == conv.weight!.shape[0]) norm = b;
        }
        if (conv is null) throw new UsageException($"defense fine-pruning: the {model.Spec.Architecture} model has no convolution");
        return (conv, norm);
    }

    /// <summary>
    /// Mean activation of every output channel of the last convolution (after its BatchNorm, then ReLU) over
    /// <paramref name="images"/> and all positions, float64 [C]; and the channels ordered by it, ascending (ties by
    /// channel index).
    /// </summary>
    public static (double[] MeanActivation, int[] Order) RankChannels(HashModel model, Tensor images, Device device, int batchSize = 256)
    {
        var (conv, norm) = LastConvolution(model);
        long channels = conv.weight!.shape[0];
        var sum = zeros(channels, dtype: ScalarType.Float64);
        long count = 0;
        bool wasTraining = model.training;
        model.eval();
        Tensor Record(Tensor output)
        {
            using var a = nn.functional.relu(output).to_type(ScalarType.Float64).sum(new long[] { 0, 2, 3 }).cpu();
            sum.add_(a);
            count += output.shape[0] * output.shape[2] * output.shape[3];
            return output;
        }
        var handle = norm is not null
            ? norm.register_forward_hook((_, _, output) => Record(output))
            : conv.register_forward_hook((_, _, output) => Record(output));
        try
        {
            using var _ = no_grad();
            for (long s = 0; s < images.shape[0]; s += batchSize)
            {
                using var scope = NewDisposeScope();
                var x = images.narrow(0, s, Math.Min(batchSize, images.shape[0] - s)).to(device);
                model.forward(x);
            }
        }
        finally
        {
            handle.remove();
            if (wasTraining) model.train();
        }
        var mean = sum.div(Math.Max(1, count)).contiguous().data<double>().ToArray();
        sum.Dispose();
        var order = Enumerable.Range(0, mean.Length).OrderBy(c => mean[c]).ThenBy(c => c).ToArray();
        return (mean, order);
    }

    /// <summary>Prunes <paramref name="channels"/> of the last convolution: filter, bias and the following BatchNorm's
    /// weight and bias set to zero, so that the channel outputs exactly 0 in eval and training mode.</summary>
    public static void Prune(HashModel model, IReadOnlyCollection<int> channels)
    {
        if (channels.Count == 0) return;
        var (conv, norm) = LastConvolution(model);
        using var _ = no_grad();
        using var idx = tensor(channels.Select(c => (long)c).ToArray(), device: conv.weight!.device);
        conv.weight!.index_fill_(0, idx, 0);
        conv.bias?.index_fill_(0, idx, 0);
        norm?.weight?.index_fill_(0, idx, 0);
        norm?.bias?.index_fill_(0, idx, 0);
    }

    /// <summary>Defender-side mAP (%) on its clean subset: first half as queries against the second half (R = all),
    /// tie-aware, so the pruning ratio chosen does not depend on the order of the defender's images.</summary>
    internal static double ValidationMap(HashModel model, DefenseInputs inputs, long[] clean, Device device)
    {
        int half = clean.Length / 2;
        using var q = inputs.Train.Subset(clean.Take(half).ToArray());
        using var db = inputs.Train.Subset(clean.Skip(half).ToArray());
        var qc = RetrievalCheck.Codes(model, q.Images, device);
        var dc = RetrievalCheck.Codes(model, db.Images, device);
        var map = TieAwareMetrics.MeanAveragePrecision(new HammingIndex(dc), qc, CodeConversion.ToLabelSets(q.Labels),
            CodeConversion.ToLabelSets(db.Labels), dc.Count, QueryRule.Zero);
        return map.Percent;
    }

    /// <summary>Checks the settings (config section <c>fine-pruning</c>); throws <see cref="UsageException"/> naming the key.</summary>
    public void Validate()
    {
        if (Ratios.Count == 0 || Ratios.Any(r => !(r >= 0 && r < 1))) throw new UsageException("fine-pruning.ratios: every ratio must lie in [0, 1)");
        if (!(CleanFraction > 0 && CleanFraction <= 1)) throw new UsageException($"fine-pruning.cleanFraction {CleanFraction}: must lie in (0, 1]");
        if (Epochs < 1) throw new UsageException($"fine-pruning.epochs {Epochs}: must be at least 1");
        if (!(MaxValidationDrop >= 0)) throw new UsageException($"fine-pruning.maxValidationDrop {MaxValidationDrop}: must be at least 0");
    }

    /// <inheritdoc/>
    public DefenseResult Run(DefenseInputs inputs, DefenseContext context)
    {
        inputs.Require(Needs, Name);
        Validate();
        var sw = Stopwatch.StartNew();
        var result = new DefenseResult(Name, Group);
        var clean = VictimTraining.CleanSubset(inputs, CleanFraction, context.StreamSeed(21));
        var ratios = Ratios.Distinct().OrderBy(r => r).ToArray();
        using var cleanSet = inputs.Train.Subset(clean);
        var (mean, order) = RankChannels(inputs.Victim, cleanSet.Images, context.Device);
        int channels = order.Length;
        var (conv, norm) = LastConvolution(inputs.Victim);
        result.Settings["layer"] = $"last Conv2d ({conv.weight!.shape[0]} channels){(norm is null ? "" : " + BatchNorm2d")}";
        result.Settings["cleanFraction"] = CleanFraction;
        result.Settings["cleanImages"] = clean.Length;
        result.Settings["epochs"] = Epochs;
        result.Settings["maxValidationDrop"] = MaxValidationDrop;
        result.Settings["ratios"] = string.Join(", ", ratios);
        result.Settings["curveOnProtocol"] = EvaluateCurve;
        result.Series["meanActivation"] = mean;
        result.Series["pruningOrder"] = order.Select(c => (double)c).ToArray();

        var before = RetrievalCheck.Evaluate(inputs.Victim, inputs, context.Device);
        RetrievalCheck.Report(result, DefenseFigures.MapBefore, DefenseFigures.TMapBefore, before);
        var curve = new List<OrderedDictionary<string, double>>();
        double chosen = 0, baseValidation = double.NaN;
        using (var pruned = VictimTraining.Copy(inputs.Victim, context.Device))
        {
            int done = 0;
            foreach (double r in ratios)
            {
                int k = (int)Math.Floor(r * channels + 1e-9);
                Prune(pruned, order.Skip(done).Take(k - done).ToArray());
                done = k;
                // Nothing pruned yet: the copy is the victim, whose figures are known. Each pruned model is encoded once
                // per victim (shared by key), and only when the curve is asked for on the protocol's data.
                var (m, t) = k == 0 ? before
                    : EvaluateCurve ? RetrievalCheck.EvaluateShared(pruned, $"pruned|{string.Join(",", order.Take(k))}", inputs, context.Device)
                    : (null, null);
                double validation = ValidationMap(pruned, inputs, clean, context.Device);
                if (double.IsNaN(baseValidation)) baseValidation = validation;
                if (validation >= baseValidation - MaxValidationDrop) chosen = r;
                curve.Add(new OrderedDictionary<string, double>
                {
                    ["ratio"] = r, ["channelsPruned"] = k, ["map"] = m?.Percent ?? double.NaN, ["tMap"] = t?.Percent ?? double.NaN, ["defenderValidationMap"] = validation,
                });
                context.Progress?.Invoke($"{Name}: pruning curve", curve.Count / (double)ratios.Length);
                context.Log?.Invoke(m is null
                    ? $"{Name}: ratio {r:F2} ({k} channels): validation {validation:F2}"
                    : $"{Name}: ratio {r:F2} ({k} channels): mAP {m.Percent:F2} t-MAP {t?.Percent:F2} validation {validation:F2}");
            }
        }
        result.Tables["pruningCurve"] = curve;
        result.Figures["chosenRatio"] = chosen;
        int prunedCount = (int)Math.Floor(chosen * channels + 1e-9);
        var prunedChannels = order.Take(prunedCount).ToArray();
        result.Figures["channelsPruned"] = prunedCount;
        var atChosen = curve.First(row => row["ratio"] == chosen);
        result.Figures["mapPrunedOnly"] = atChosen["map"];
        result.Figures["tMapPrunedOnly"] = atChosen["tMap"];
        var recipe = FineTuningDefense.Recipe(inputs, Epochs, 1.0);
        // At ratio 0 this is exactly fine-tuning's model (same clean rows, recipe and nothing pruned): shared, not redone.
        var (key, model) = FineTuningDefense.FineTuned(inputs, clean, recipe, prunedChannels, context, $"{Name}: fine-tune after pruning {prunedCount} channels");
        RetrievalCheck.Report(result, DefenseFigures.MapAfter, DefenseFigures.TMapAfter, RetrievalCheck.EvaluateShared(model, key, inputs, context.Device));
        result.Settings["sharedWork"] = inputs.Shared.Reused.Contains(key) ? "fine-tuned model reused from an earlier defense run on this victim" : "fine-tuned here";
        result.Figures[DefenseFigures.DetectionAuc] = double.NaN;
        result.Seconds = sw.Elapsed.TotalSeconds;
        return result;
    }
}
