using HashBackdoor.Hashing;

namespace HashBackdoor.Experiments;

/// <summary>
/// Config section <c>training</c>: how every model of an experiment (clean model, surrogate, victims) is trained. The
/// defaults are the recommended CPU recipe (docs/results.md: CSQ, 10 epochs, Adam, cosine schedule, flips), which is
/// also what <c>hashbd train</c> uses when no flag says otherwise. There is no seed key: the run sets each model's
/// seed from <c>seeds</c> (<see cref="RunSeeds"/>). The keys are <see cref="HashTrainerOptions"/>' (their defaults and
/// their one check), mapped in <see cref="ToTrainerOptions"/>.
/// </summary>
public sealed record TrainingConfig
{
    private static readonly HashTrainerOptions Defaults = new();

    /// <summary>Loss, by registry name (pairwise, pairwise-k, dpsh, hashnet, csq; a new loss is one file and one registry
    /// line in Hashing/Losses, so this stays a validated name). Default csq.</summary>
    public string Loss { get; init; } = Defaults.Loss;
    /// <summary>Weight of the optional quantization term of the pairwise loss. Default 0.</summary>
    public double Quantization { get; init; } = Defaults.Quantization;
    /// <summary>Epochs. Default 10.</summary>
    public int Epochs { get; init; } = Defaults.Epochs;
    /// <summary>Images per batch. Default 64.</summary>
    public int BatchSize { get; init; } = Defaults.BatchSize;
    /// <summary>Optimiser. Default adam.</summary>
    public OptimizerKind Optimizer { get; init; } = Defaults.Optimizer;
    /// <summary>Learning rate of the hash layer. Default 0.001.</summary>
    public double LearningRate { get; init; } = Defaults.LearningRate;
    /// <summary>Backbone learning rate as a multiple of <see cref="LearningRate"/> (reference: 0.1). Default 1.</summary>
    public double BackboneLrScale { get; init; } = Defaults.BackboneLrScale;
    /// <summary>Backbone stages kept fixed during training (pretrained backbones: the paper's recipe fine-tunes the rest).
    /// Default 0.</summary>
    public int FreezeStages { get; init; } = Defaults.FreezeStages;
    /// <summary>SGD momentum. Default 0.9.</summary>
    public double Momentum { get; init; } = Defaults.Momentum;
    /// <summary>Weight decay. Default 0.</summary>
    public double WeightDecay { get; init; } = Defaults.WeightDecay;
    /// <summary>Learning-rate schedule. Default cosine.</summary>
    public LearningRateSchedule Schedule { get; init; } = Defaults.Schedule;
    /// <summary>Augmentation. Default flip.</summary>
    public AugmentationKind Augmentation { get; init; } = Defaults.Augmentation;

    /// <summary>The recommended recipe (the defaults).</summary>
    public static TrainingConfig Recommended { get; } = new();

    /// <summary>The trainer's options for a model trained with <paramref name="seed"/>.</summary>
    public HashTrainerOptions ToTrainerOptions(long seed) => new()
    {
        Loss = Loss, Quantization = Quantization, Epochs = Epochs, BatchSize = BatchSize,
        Optimizer = Optimizer, LearningRate = LearningRate, BackboneLrScale = BackboneLrScale,
        Momentum = Momentum, WeightDecay = WeightDecay, Schedule = Schedule,
        Augmentation = Augmentation, Seed = seed, FreezeStages = FreezeStages,
    };

    /// <summary>The section for the trainer options <paramref name="options"/> (their seed is dropped: the run sets it).</summary>
    public static TrainingConfig From(HashTrainerOptions options) => new()
    {
        Loss = options.Loss, Quantization = options.Quantization, Epochs = options.Epochs, BatchSize = options.BatchSize,
        Optimizer = options.Optimizer, LearningRate = options.LearningRate,
        BackboneLrScale = options.BackboneLrScale, Momentum = options.Momentum, WeightDecay = options.WeightDecay,
        Schedule = options.Schedule, Augmentation = options.Augmentation,
        FreezeStages = options.FreezeStages,
    };

    /// <summary>Code written against the trainer's options keeps working (their seed is dropped: the run sets it).</summary>
    public static implicit operator TrainingConfig(HashTrainerOptions options) => From(options);

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (training.epochs, ...): the trainer's own check
    /// (<see cref="HashTrainerOptions.Validate"/>).</summary>
    public TrainingConfig Validate()
    {
        ToTrainerOptions(0).Validate();
        return this;
    }
}
