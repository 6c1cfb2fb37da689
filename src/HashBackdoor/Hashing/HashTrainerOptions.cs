using System.Text.Json.Serialization;

namespace HashBackdoor.Hashing;

/// <summary>
/// Everything that decides how a hashing model is trained: the options the trainer takes and, without
/// <see cref="Seed"/>, the config section <c>training</c> (<c>TrainingConfig</c> maps its keys onto these and validates
/// through <see cref="Validate"/>). The defaults are the recommended CPU recipe, the one <c>hashbd train</c> and the
/// experiments use (docs/results.md: CSQ, 10 epochs, Adam, cosine schedule, flips); the reference recipe of method.md
/// section 2 is <see cref="Reference"/>.
/// </summary>
public sealed record HashTrainerOptions
{
    /// <summary>Loss, by registry name: pairwise (reference, divisor B), pairwise-k (divisor K), dpsh, hashnet, csq. Default csq.</summary>
    public string Loss { get; init; } = "csq";
    /// <summary>Weight of the optional quantization term of the pairwise loss. Default 0.</summary>
    public double Quantization { get; init; } = 0.0;
    /// <summary>Epochs. Default 10.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Images per batch. Default 64.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Optimiser. Default adam.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    /// <summary>Learning rate of the hash layer. Default 0.001.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Backbone learning rate as a multiple of <see cref="LearningRate"/> (reference: 0.1). Default 1.</summary>
    public double BackboneLrScale { get; init; } = 1.0;
    /// <summary>Number of backbone stages, from the input on, kept fixed during training: their weights get no gradient
    /// and their BatchNorm statistics are not updated (0: none). Stage names per backbone: <see cref="HashModel.BackboneStages"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int FreezeStages { get; init; }
    /// <summary>SGD momentum. Default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>Weight decay. Default 0.</summary>
    public double WeightDecay { get; init; } = 0.0;
    /// <summary>Learning-rate schedule: none (constant) or cosine (cosine decay to 0 over the epochs, set once per
    /// epoch). Default cosine.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;
    /// <summary>Augmentation: none, flip (random horizontal flip), flip-shift (flip plus a random shift of up to 2
    /// pixels). Default flip.</summary>
    public AugmentationKind Augmentation { get; init; } = AugmentationKind.Flip;
    /// <summary>Seed of the weights, shuffling and augmentation (not a config key: a run sets it per model).</summary>
    public long Seed { get; init; } = 0;

    /// <summary>The recipe of the reference code (SGD, momentum 0.9, weight decay 5e-4, lr 1e-3 head / 1e-4 backbone,
    /// batch 24, 200 epochs, no schedule, pairwise loss with divisor B).</summary>
    public static HashTrainerOptions Reference => new()
    {
        Loss = "pairwise", Epochs = 200, BatchSize = 24, Optimizer = OptimizerKind.Sgd, LearningRate = 1e-3, BackboneLrScale = 0.1,
        Momentum = 0.9, WeightDecay = 5e-4, Schedule = LearningRateSchedule.None, Augmentation = AugmentationKind.Flip,
    };

    /// <summary>The one check of a training recipe (for the trainer and the config section <c>training</c>): throws
    /// <see cref="UsageException"/> naming the first bad key (training.epochs, ...).</summary>
    public HashTrainerOptions Validate()
    {
        if (Epochs < 1) throw new UsageException($"training.epochs {Epochs}: must be at least 1");
        if (BatchSize < 2) throw new UsageException($"training.batchSize {BatchSize}: must be at least 2 (pairwise losses need pairs)");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new UsageException($"training.learningRate {LearningRate}: must be positive");
        if (FreezeStages < 0) throw new UsageException($"training.freezeStages {FreezeStages}: must be at least 0");
        if (!(BackboneLrScale >= 0) || double.IsInfinity(BackboneLrScale)) throw new UsageException($"training.backboneLrScale {BackboneLrScale}: must be >= 0");
        if (!(Momentum >= 0) || double.IsInfinity(Momentum)) throw new UsageException($"training.momentum {Momentum}: must be >= 0");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new UsageException($"training.weightDecay {WeightDecay}: must be >= 0");
        if (!(Quantization >= 0) || double.IsInfinity(Quantization)) throw new UsageException($"training.quantization {Quantization}: must be >= 0");
        if (!Enum.IsDefined(Optimizer)) throw new UsageException($"training.optimizer {(int)Optimizer}: unknown (adam, sgd)");
        if (!Enum.IsDefined(Schedule)) throw new UsageException($"training.schedule {(int)Schedule}: unknown (none, cosine)");
        if (!Enum.IsDefined(Augmentation)) throw new UsageException($"training.augmentation {(int)Augmentation}: unknown (none, flip, flip-shift)");
        if (!Losses.HashLossFactory.Names.Contains(Loss))
            throw new UsageException($"training.loss {Loss}: unknown loss (known: {string.Join(", ", Losses.HashLossFactory.Names)})");
        return this;
    }
}

/// <summary>Progress of training, reported once per batch and once per epoch.</summary>
public sealed record TrainProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double EpochMeanLoss, double ImagesPerSecond, bool EpochDone);
