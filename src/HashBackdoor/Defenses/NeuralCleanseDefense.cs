using System.Diagnostics;
using HashBackdoor.Attacks;
using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>
/// Neural Cleanse (Wang et al., S&amp;P 2019) adapted to hashing. For every class c the defender takes an anchor h_c: the
/// component-wise majority of the victim's codes of its clean images of class c (the attacker's anchor is unknown to
/// it). It then searches for the smallest mask m_c (one channel, image-sized, m = sigmoid(mask logits)) and pattern p_c
/// (sigmoid of pattern logits) such that clean images x' = (1 - m) x + m p hash to h_c, all classes in one batch, Adam:
/// <c>loss_c = mean over images and bits of max(0, kappa - h_ck z_k(x')) + lambda |m_c|_1 / (H W)</c>. The bit hinge on
/// the pre-activation z replaces -(1/K) &lt;tanh z, h_c&gt;: tanh saturates on a trained hashing model and its gradient
/// vanishes on wrong bits, and the hinge stops pushing once a bit is right with margin kappa, so only the mask shrinks
/// (the role of the original's attack-success-driven lambda schedule). A class whose reversed trigger does not reach
/// <see cref="SuccessAgreement"/> (fraction of the anchor's bits matched, over clean images) counts as needing the whole
/// image (norm H x W). The norms give each class an anomaly index |norm_c - median| / (1.4826 MAD); a class below the
/// median with an index above <see cref="AnomalyThreshold"/> is flagged as a backdoor target.
/// </summary>
public sealed class NeuralCleanseDefense : IDefense, IExtensionSettings
{
    /// <inheritdoc/>
    public string Name => "neural-cleanse";

    /// <inheritdoc/>
    public DefenseGroup Group => DefenseGroup.ModelInspection;

    /// <inheritdoc/>
    public DefenseNeeds Needs => DefenseNeeds.None;

    /// <summary>Optimisation steps.</summary>
    public int Steps { get; init; } = 300;

    /// <summary>Clean images per class per step.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Adam learning rate on the mask and pattern logits.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Weight of the mask's mean value (its L1 norm over H x W).</summary>
    public double Lambda { get; init; } = 1.0;

    /// <summary>Margin kappa of the bit hinge on h_ck z_k.</summary>
    public double Margin { get; init; } = 1.0;

    /// <summary>Fraction of the anchor's (non-zero) bits a reversed trigger must match on clean images to count as found
    /// (the analogue of the original's 99% attack success).</summary>
    public double SuccessAgreement { get; init; } = 0.9;

    /// <summary>Clean database images the defender holds (drawn with the seed).</summary>
    public int CleanImages { get; init; } = 500;

    /// <summary>Anomaly index above which a small-norm class is flagged (Wang et al.: 2).</summary>
    public double AnomalyThreshold { get; init; } = 2.0;

    /// <summary>Outcome of <see cref="Reverse"/>: masks [C, 1, H, W], patterns [C, Ch, H, W], mask L1 norms and the
    /// fraction of anchor bits matched on a final pass over (up to 256) clean images.</summary>
    public sealed record ReversedTriggers(Tensor Masks, Tensor Patterns, double[] Norms, double[] Agreements) : IDisposable
    {
        public void Dispose()
        {
            Masks.Dispose();
            Patterns.Dispose();
        }
    }

    /// <summary>
    /// Reverse-engineers one mask and pattern per anchor row on plain tensors.
    /// </summary>
    /// <param name="model">The victim (left unchanged; gradients are taken with respect to the masks and patterns only).</param>
    /// <param name="clean">Clean images [M, Ch, H, W].</param>
    /// <param name="anchors">Anchor codes [C, K] in {-1, 0, +1}.</param>
    /// <param name="seed">Seed of the batch draws.</param>
    /// <param name="device">Device of the model.</param>
    /// <param name="progress">Called with the fraction done.</param>
    /// <param name="cancel">Cancels the loop.</param>
    public ReversedTriggers Reverse(HashModel model, Tensor clean, Tensor anchors, long seed, Device device, Action<double>? progress = null, CancellationToken cancel = default)
    {
        long c = anchors.shape[0], k = anchors.shape[1], m = clean.shape[0];
        long ch = clean.shape[1], h = clean.shape[2], w = clean.shape[3];
        var wasTraining = model.training;
        model.eval();
        var grads = model.parameters().Select(p => (p, p.requires_grad)).ToList();
        foreach (var (p, _) in grads) p.requires_grad_(false);
        try
        {
            var maskLogits = new TorchSharp.Modules.Parameter(zeros(new long[] { c, 1, h, w }, dtype: ScalarType.Float32, device: device));
            var patternLogits = new TorchSharp.Modules.Parameter(zeros(new long[] { c, ch, h, w }, dtype: ScalarType.Float32, device: device));
            using var opt = optim.Adam(new[] { maskLogits, patternLogits }, LearningRate);
            using var gen = new Generator().manual_seed(seed);
            var anchorsDev = anchors.to(device).to_type(ScalarType.Float32);
            var cleanDev = clean.to(device);
            for (int step = 0; step < Steps; step++)
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var idx = randint(0, m, new long[] { BatchSize }, generator: gen).to(device);
                var x = cleanDev.index_select(0, idx).unsqueeze(0);                       // [1,B,Ch,H,W]
                var mask = maskLogits.sigmoid().unsqueeze(1);                             // [C,1,1,H,W]
                var pattern = patternLogits.sigmoid().unsqueeze(1);                       // [C,1,Ch,H,W]
                var xs = x.mul(mask.neg().add(1)).add(mask.mul(pattern));                 // [C,B,Ch,H,W]
                var z = model.forward(xs.view(c * BatchSize, ch, h, w)).view(c, BatchSize, k);
                var hinge = nn.functional.relu(z.mul(anchorsDev.unsqueeze(1)).neg().add(Margin)).mean(new long[] { 1, 2 }); // [C]
                var size = maskLogits.sigmoid().mean(new long[] { 1, 2, 3 });             // [C] = L1 / (H W)
                var loss = hinge.add(size.mul(Lambda)).sum();
                opt.zero_grad();
                loss.backward();
                opt.step();
                progress?.Invoke((step + 1) / (double)Steps);
            }
            using var _ = no_grad();
            var masks = maskLogits.detach().sigmoid().cpu();
            var patterns = patternLogits.detach().sigmoid().cpu();
            var norms = masks.sum(new long[] { 1, 2, 3 }).to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
            // Agreement each class reached over (up to) 256 clean images.
            var sum = new double[c];
            long count = Math.Min(m, 256);
            for (int i = 0; i < c; i++)
            {
                using var scope = NewDisposeScope();
                var x = clean.narrow(0, 0, count).to(device);
                var mk = masks[i].to(device);
                var xs = x.mul(mk.neg().add(1)).add(mk.mul(patterns[i].to(device)));
                var z = model.forward(xs);
                var anchor = anchorsDev[i];
                var matched = z.sign().eq(anchor).logical_and(anchor.ne(0)).to_type(ScalarType.Float32).sum(1);
                sum[i] = matched.div(anchor.ne(0).sum().clamp_min(1)).mean().item<float>();
            }
            maskLogits.Dispose();
            patternLogits.Dispose();
            return new ReversedTriggers(masks, patterns, norms, sum);
        }
        finally
        {
            foreach (var (p, g) in grads) p.requires_grad_(g);
            if (wasTraining) model.train();
        }
    }

    /// <summary>Reversed triggers of every class present in the defender's clean pool, with the classes they belong to.</summary>
    private sealed record ClassTriggers(int[] Present, ReversedTriggers Reversed) : IDisposable
    {
        public void Dispose() => Reversed.Dispose();
    }

    private ClassTriggers ReverseClasses(DefenseInputs inputs, DefenseContext context)
    {
        int classes = inputs.Database.NumClasses;
        int take = Math.Min(CleanImages, inputs.Database.Count);
        using var gen = new Generator().manual_seed(context.StreamSeed(41));
        using var perm = randperm(inputs.Database.Count, generator: gen).narrow(0, 0, take);
        using var pool = inputs.Database.Subset(perm.data<long>().ToArray(), "neural-cleanse clean pool");

        // Anchors the defender can compute: majority vote of the victim's codes per class of its clean images.
        using var codes = HashEncoder.Encode(inputs.Victim, pool.Images, 500, null, context.Device);
        var present = Enumerable.Range(0, classes).Where(c => pool.Labels.select(1, c).sum().item<float>() > 0).ToArray();
        var anchorRows = new List<Tensor>();
        foreach (int c in present)
        {
            try { anchorRows.Add(AnchorCode.Compute(codes, pool.Labels, c)); }
            catch (UsageException) { present = present.Where(x => x != c).ToArray(); }
        }
        if (present.Length < 3) throw new UsageException($"defense {Name}: the clean pool covers {present.Length} classes; the MAD needs at least 3");
        using var anchors = stack(anchorRows, 0);
        foreach (var a in anchorRows) a.Dispose();
        var reversed = Reverse(inputs.Victim, pool.Images, anchors, context.StreamSeed(42), context.Device,
            f => context.Progress?.Invoke($"{Name}: {present.Length} masks, {Steps} steps", f), context.Cancel);
        return new ClassTriggers(present, reversed);
    }

    /// <summary>Checks the settings (config section <c>neural-cleanse</c>); throws <see cref="UsageException"/> naming the key.</summary>
    public void Validate()
    {
        if (Steps < 1 || BatchSize < 1) throw new UsageException("neural-cleanse.steps and .batchSize: must be at least 1");
        if (!(LearningRate > 0)) throw new UsageException($"neural-cleanse.learningRate {LearningRate}: must be positive");
        if (CleanImages < 1) throw new UsageException($"neural-cleanse.cleanImages {CleanImages}: must be at least 1");
        if (!(SuccessAgreement > 0 && SuccessAgreement <= 1)) throw new UsageException($"neural-cleanse.successAgreement {SuccessAgreement}: must lie in (0, 1]");
    }

    /// <inheritdoc/>
    public DefenseResult Run(DefenseInputs inputs, DefenseContext context)
    {
        inputs.Require(Needs, Name);
        Validate();
        var sw = Stopwatch.StartNew();
        var result = new DefenseResult(Name, Group);
        foreach (var (key, value) in new (string, object)[] { ("steps", Steps), ("batchSize", BatchSize), ("learningRate", LearningRate), ("lambda", Lambda), ("margin", Margin), ("successAgreement", SuccessAgreement), ("cleanImages", CleanImages), ("anomalyThreshold", AnomalyThreshold) })
            result.Settings[key] = value;
        // The reversed triggers depend on the victim, its clean pool and the settings, not on the target or the attack's
        // trigger: kept per victim (the clean model's runs on every target share them).
        string shareKey = $"neural-cleanse|steps {Steps}|batch {BatchSize}|lr {LearningRate:R}|lambda {Lambda:R}|margin {Margin:R}|images {CleanImages}|seeds {context.StreamSeed(41)} {context.StreamSeed(42)}";
        var (present, reversed) = inputs.Shared.GetOrAdd(shareKey, () => ReverseClasses(inputs, context));
        double whole = inputs.Database.Height * inputs.Database.Width;
        // A class whose trigger was not found needs, as far as the search can tell, the whole image.
        var norms = reversed.Norms.Select((v, i) => reversed.Agreements[i] >= SuccessAgreement ? v : whole).ToArray();
        var index = DetectionMetrics.AnomalyIndex(norms);
        var flagged = DetectionMetrics.FlagSmallOutliers(norms, AnomalyThreshold);
        result.Tables["classes"] = present.Select((c, i) => new OrderedDictionary<string, double>
        {
            ["class"] = c, ["maskL1"] = reversed.Norms[i], ["normUsed"] = norms[i], ["anomalyIndex"] = index[i],
            ["smallSide"] = norms[i] < DetectionMetrics.Median(norms) ? 1 : 0,
            ["flagged"] = flagged[i] ? 1 : 0, ["bitAgreement"] = reversed.Agreements[i], ["found"] = reversed.Agreements[i] >= SuccessAgreement ? 1 : 0,
        }).ToList();
        result.Series["maskL1"] = norms;
        result.Series["anomalyIndex"] = index;
        int t = Array.IndexOf(present, inputs.TargetClass);
        bool[] isTarget = present.Select(c => c == inputs.TargetClass).ToArray();
        // Class-level ROC AUC: a smaller mask is more suspicious; the target is the single positive.
        result.Figures[DefenseFigures.DetectionAuc] = t < 0 ? double.NaN : DetectionMetrics.RocAuc(norms.Select(v => -v).ToArray(), isTarget);
        if (t >= 0)
            result.Detection = new DetectionScores(norms.Select(v => -v).ToArray(), isTarget, present.Select(c => (long)c).ToArray(),
                "classes: item = class index; positive = the attack's target class; score = minus the L1 norm of the reversed mask used").Checked();
        result.Figures["targetAnomalyIndex"] = t < 0 ? double.NaN : index[t];
        result.Figures["targetFlagged"] = t >= 0 && flagged[t] ? 1 : 0;
        result.Figures["targetSmallestMask"] = t >= 0 && norms[t] == norms.Min() ? 1 : 0;
        result.Figures["classesFound"] = reversed.Agreements.Count(a => a >= SuccessAgreement);
        result.Figures["classesFlagged"] = flagged.Count(f => f);
        result.Figures["targetMaskL1"] = t < 0 ? double.NaN : norms[t];
        result.Figures["medianMaskL1"] = DetectionMetrics.Median(norms);
        for (int i = 0; i < present.Length; i++)
        {
            using var mask = reversed.Masks[i];
            string name = present[i] == inputs.TargetClass ? $"mask-class-{present[i]}-target.png" : $"mask-class-{present[i]}.png";
            result.Images[name] = AttackImages.Png(mask, 8);
            if (present[i] == inputs.TargetClass)
            {
                using var pattern = reversed.Patterns[i];
                using var shown = pattern.mul(mask);
                if (shown.shape[0] is 1 or 3) result.Images["trigger-class-target.png"] = AttackImages.Png(shown, 8);
            }
        }
        result.Notes.Add("mapAfter/tMapAfter are not applicable: Neural Cleanse inspects the model and does not change it");
        context.Log?.Invoke($"{Name}: target {inputs.TargetClass} mask L1 {result.Figures["targetMaskL1"]:F1} (median {result.Figures["medianMaskL1"]:F1}), anomaly index {result.Figures["targetAnomalyIndex"]:F2}, flagged {(result.Figures["targetFlagged"] == 1 ? "yes" : "no")}");
        result.Seconds = sw.Elapsed.TotalSeconds;
        return result;
    }
}
