using HashBackdoor.Hashing;

namespace HashBackdoor.Experiments;

/// <summary>
/// Config section <c>training</c>: how every model of an experiment (clean model, surrogate, victims) is trained. The
/// defaults are the recommended CPU recipe (docs/results.md: CSQ, 10 epochs, Adam, cosine schedule, flips), which is
/// also what <c>hashbd train</c> uses when no flag says otherwise. There is no seed key: the run sets each model's
/// seed from <c>seeds</c> (<see cref="RunSeeds"/>).
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Loss, by registry name (pairwise, pairwise-k, dpsh, hashnet, csq; a new loss is one file and one registry
    /// line in Hashing/Losses, so this stays a validated name). Default csq.</summary>
    public string Loss { get; init; } = "csq";
    /// <summary>Weight of the optional quantization term of the pairwise loss. Default 0.</summary>
    public double Quantization { get; init; }
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
    /// <summary>Backbone stages kept fixed during training (pretrained backbones: the paper's recipe fine-tunes the rest).
    /// Default 0.</summary>
    public int FreezeStages { get; init; }
    /// <summary>SGD momentum. Default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>Weight decay. Default 0.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Learning-rate schedule. Default cosine.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;
    /// <summary>Augmentation. Default flip.</summary>
    public AugmentationKind Augmentation { get; init; } = AugmentationKind.Flip;

    /// <summary>The recommended recipe (the defaults).</summary>
    public static TrainingConfig Recommended { get; } = new();

    /// <summary>The trainer's options for a model trained with <paramref name="seed"/>.</summary>
    public HashTrainerOptions ToTrainerOptions(long seed) => new()
    {
        Loss = Loss, Quantization = Quantization, Epochs = Epochs, BatchSize = BatchSize,
        Optimizer = ConfigEnumConverter.NameOf(Optimizer), LearningRate = LearningRate, BackboneLrScale = BackboneLrScale,
        Momentum = Momentum, WeightDecay = WeightDecay, Schedule = ConfigEnumConverter.NameOf(Schedule),
        Augmentation = ConfigEnumConverter.NameOf(Augmentation), Seed = seed, FreezeStages = FreezeStages,
    };

    /// <summary>The section for the trainer options <paramref name="options"/> (their seed is dropped: the run sets it).</summary>
    public static TrainingConfig From(HashTrainerOptions options) => new()
    {
        Loss = options.Loss, Quantization = options.Quantization, Epochs = options.Epochs, BatchSize = options.BatchSize,
        Optimizer = ConfigEnumConverter.Parse<OptimizerKind>(options.Optimizer, "training.optimizer"), LearningRate = options.LearningRate,
        BackboneLrScale = options.BackboneLrScale, Momentum = options.Momentum, WeightDecay = options.WeightDecay,
        Schedule = ConfigEnumConverter.Parse<LearningRateSchedule>(options.Schedule, "training.schedule"),
        Augmentation = ConfigEnumConverter.Parse<AugmentationKind>(options.Augmentation, "training.augmentation"),
        FreezeStages = options.FreezeStages,
    };

    /// <summary>Code written against the trainer's options keeps working (their seed is dropped: the run sets it).</summary>
    public static implicit operator TrainingConfig(HashTrainerOptions options) => From(options);

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (training.epochs, ...).</summary>
    public TrainingConfig Validate()
    {
        if (Epochs < 1) throw new UsageException($"training.epochs {Epochs}: must be at least 1");
        if (BatchSize < 2) throw new UsageException($"training.batchSize {BatchSize}: must be at least 2 (pairwise losses need pairs)");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new UsageException($"training.learningRate {LearningRate}: must be positive");
        if (FreezeStages < 0) throw new UsageException($"training.freezeStages {FreezeStages}: must be at least 0");
        if (!(BackboneLrScale >= 0) || double.IsInfinity(BackboneLrScale)) throw new UsageException($"training.backboneLrScale {BackboneLrScale}: must be >= 0");
        if (!(Momentum >= 0) || double.IsInfinity(Momentum)) throw new UsageException($"training.momentum {Momentum}: must be >= 0");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new UsageException($"training.weightDecay {WeightDecay}: must be >= 0");
        if (!(Quantization >= 0) || double.IsInfinity(Quantization)) throw new UsageException($"training.quantization {Quantization}: must be >= 0");
        if (!Hashing.Losses.HashLossFactory.Names.Contains(Loss))
            throw new UsageException($"training.loss {Loss}: unknown loss (known: {string.Join(", ", Hashing.Losses.HashLossFactory.Names)})");
        return this;
    }
}
