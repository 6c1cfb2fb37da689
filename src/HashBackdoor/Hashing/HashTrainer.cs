using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Hashing.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Hashing;

/// <summary>Per-image treatment of a training set beyond the ordinary: which rows may be augmented, and a hook run on
/// each batch after augmentation (CIBA's Tri baseline pastes its trigger there).</summary>
public sealed class TrainingSetPlan
{
    /// <summary>Bool [N]: false for rows that must not be augmented (fixed poisoned tensors). Null: all rows.</summary>
    public Tensor? Augmentable { get; init; }

    /// <summary>Called with (batch images after augmentation, batch row indices [B] int64); returns the batch to train on.</summary>
    public Func<Tensor, Tensor, Tensor>? AfterAugmentation { get; init; }
}

/// <summary>
/// Trains a <see cref="HashModel"/> on an in-memory image set. Every epoch draws its shuffle, augmentation and dropout
/// randomness from generators seeded by (seed, epoch), so a run resumed from an epoch checkpoint continues exactly as
/// the uninterrupted run would have. A non-finite loss stops training with a <see cref="NumericalException"/>.
/// </summary>
public sealed class HashTrainer
{
    private readonly HashTrainerOptions options;

    public HashTrainer(HashTrainerOptions options) => this.options = options.Validate();

    /// <summary>Trains <paramref name="model"/> in place. When <paramref name="checkpointDir"/> is given, a checkpoint
    /// (model, optimizer, epoch) is written there atomically after every epoch, and training resumes from it when
    /// <paramref name="resume"/> is set and a checkpoint exists. With <paramref name="prefix"/> (a
    /// <see cref="FrozenPrefixCache"/> holding the clean training images, whose stages are all frozen here and whose
    /// weights the model's prefix has), the rows of each batch whose pixels equal a cached clean image (or its flip)
    /// read their prefix output from it and every other row (poisoned, triggered) goes through the whole network; the
    /// trainable suffix then runs on the whole batch, so the model trained is the one the uncached path trains.</summary>
    public void Train(HashModel model, Tensor images, Tensor labels, TrainingSetPlan? plan = null, string? checkpointDir = null,
        bool resume = false, Action<TrainProgress>? progress = null, CancellationToken cancel = default, FrozenPrefixCache? prefix = null)
    {
        var o = options;
        long n = images.shape[0];
        if (n < 2) throw new UsageException($"training set has {n} image(s); at least 2 are needed");
        var loss = HashLossFactory.Create(o.Loss, model.Spec.NumClasses, model.Spec.Bits, o.Seed, o.Quantization);
        var frozen = FrozenModules(model);
        var frozenParameters = frozen.SelectMany(m => m.parameters()).ToList();
        foreach (var p in frozenParameters) p.requires_grad = false;
        try
        {
            TrainUnfrozen(model, images, labels, plan, checkpointDir, resume, progress, cancel, loss, frozen, prefix);
        }
        finally
        {
            foreach (var p in frozenParameters) p.requires_grad = true;
        }
        model.eval();
    }

    private void TrainUnfrozen(HashModel model, Tensor images, Tensor labels, TrainingSetPlan? plan, string? checkpointDir, bool resume,
        Action<TrainProgress>? progress, CancellationToken cancel, IHashLoss loss, IReadOnlyList<nn.Module> frozen, FrozenPrefixCache? prefix)
    {
        var o = options;
        var device = model.parameters().First().device;
        long n = images.shape[0];
        using var optimizer = CreateOptimizer(model);
        int startEpoch = 0;
        if (resume && checkpointDir is not null && TrainingCheckpoint.Exists(checkpointDir))
            startEpoch = TrainingCheckpoint.Load(checkpointDir, model, optimizer);
        // The cache serves only a model whose every cached stage stays frozen at the cache's weights.
        var cached = prefix is not null && prefix.Stages <= o.FreezeStages && (o.Augmentation is AugmentationKind.None or AugmentationKind.Flip) && prefix.Matches(model)
            ? prefix.FindRowAligned(images) : null;

        int batches = (int)((n + o.BatchSize - 1) / o.BatchSize);
        using var allowedAll = plan?.Augmentable is null ? ones(n, dtype: ScalarType.Bool) : plan.Augmentable.to_type(ScalarType.Bool);
        for (int epoch = startEpoch; epoch < o.Epochs; epoch++)
        {
            SetLearningRate(optimizer, epoch);
            model.train();
            foreach (var m in frozen) m.eval(); // frozen BatchNorm keeps its statistics
            torch.manual_seed(Mix(o.Seed, epoch, 1));
            using var gen = new Generator().manual_seed(Mix(o.Seed, epoch, 2));
            using var perm = randperm(n, generator: gen);
            var sw = Stopwatch.StartNew();
            double sum = 0;
            for (int bi = 0; bi < batches; bi++)
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                long start = (long)bi * o.BatchSize, len = Math.Min(o.BatchSize, n - start);
                if (len < 2) continue; // a lone last image has no pair
                var idx = perm.narrow(0, start, len);
                var x = images.index_select(0, idx);
                var y = labels.index_select(0, idx);
                x = BatchAugmentation.Apply(x, o.Augmentation, allowedAll.index_select(0, idx), gen);
                if (plan?.AfterAugmentation is not null) x = plan.AfterAugmentation(x, idx);
                if (x.device != device) { x = x.to(device); y = y.to(device); }
                optimizer.zero_grad();
                var z = cached is null ? model.forward(x) : model.ForwardFromPrefix(prefix!.PrefixOf(model, cached, x, idx), prefix.Stages);
                var l = loss.Compute(z, y, (long)epoch * batches + bi);
                double value = l.item<float>();
                if (!double.IsFinite(value))
                    throw new NumericalException($"training loss became {value} at epoch {epoch + 1}, batch {bi + 1} (step {(long)epoch * batches + bi}); lower training.learningRate or check the data");
                l.backward();
                optimizer.step();
                sum += value;
                progress?.Invoke(new TrainProgress(epoch + 1, o.Epochs, bi + 1, batches, value, sum / (bi + 1), (start + len) / Math.Max(1e-9, sw.Elapsed.TotalSeconds), false));
            }
            progress?.Invoke(new TrainProgress(epoch + 1, o.Epochs, batches, batches, sum / batches, sum / batches, n / Math.Max(1e-9, sw.Elapsed.TotalSeconds), true));
            if (checkpointDir is not null) TrainingCheckpoint.Save(checkpointDir, model, optimizer, epoch + 1, o);
        }
    }

    /// <summary>The modules of the first <see cref="HashTrainerOptions.FreezeStages"/> backbone stages.</summary>
    private IReadOnlyList<nn.Module> FrozenModules(HashModel model)
    {
        int n = options.FreezeStages;
        var stages = model.BackboneStages;
        if (n > stages.Count)
            throw new UsageException($"training.freezeStages {n}: {model.Spec.Architecture} has {stages.Count} stages ({string.Join(", ", stages.Select(s => s.Name))})");
        return stages.Take(n).SelectMany(s => s.Modules).ToList();
    }

    /// <summary>A seed derived from (seed, epoch, stream) by SplitMix64 mixing.</summary>
    internal static long Mix(long seed, int epoch, int stream) =>
        SeedMix.ToSeed((ulong)seed * SeedMix.Golden + (ulong)epoch * 0xBF58476D1CE4E5B9UL + (ulong)stream * 0x94D049BB133111EBUL);

    private TorchSharp.Modules.OptimizerHelper CreateOptimizer(HashModel model)
    {
        var o = options;
        var head = model.HashLayerParameters().ToList();
        var body = model.BackboneParameters().Where(p => p.requires_grad).ToList();
        double bodyLr = o.LearningRate * o.BackboneLrScale;
        if (o.Optimizer == OptimizerKind.Sgd)
            return optim.SGD(new[]
            {
                new TorchSharp.Modules.SGD.ParamGroup(head, lr: o.LearningRate, momentum: o.Momentum, weight_decay: o.WeightDecay),
                new TorchSharp.Modules.SGD.ParamGroup(body, lr: bodyLr, momentum: o.Momentum, weight_decay: o.WeightDecay),
            }, o.LearningRate, o.Momentum, weight_decay: o.WeightDecay);
        return optim.Adam(new[]
        {
            new TorchSharp.Modules.Adam.ParamGroup(head, lr: o.LearningRate, weight_decay: o.WeightDecay),
            new TorchSharp.Modules.Adam.ParamGroup(body, lr: bodyLr, weight_decay: o.WeightDecay),
        }, o.LearningRate, weight_decay: o.WeightDecay);
    }

    private void SetLearningRate(TorchSharp.Modules.OptimizerHelper optimizer, int epoch)
    {
        var o = options;
        double factor = o.Schedule == LearningRateSchedule.Cosine ? 0.5 * (1 + Math.Cos(Math.PI * epoch / o.Epochs)) : 1.0;
        var groups = optimizer.ParamGroups.ToList();
        groups[0].LearningRate = o.LearningRate * factor;
        groups[1].LearningRate = o.LearningRate * o.BackboneLrScale * factor;
    }
}
