using System.Text.Json.Serialization;

namespace HashBackdoor.Hashing;

/// <summary>
/// Everything that decides how a hashing model is trained. Defaults are the CPU recipe for the small CNN on
/// Fashion-MNIST (docs/results.md); the reference recipe of method.md section 2 is <see cref="Reference"/>.
/// </summary>
public sealed record HashTrainerOptions
{
    /// <summary>Loss name: pairwise (reference, divisor B), pairwise-k (divisor K), dpsh, hashnet, csq.</summary>
    public string Loss { get; init; } = "pairwise-k";
    /// <summary>Weight of the optional quantization term of the pairwise loss.</summary>
    public double Quantization { get; init; } = 0.0;
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 64;
    /// <summary>"adam" or "sgd".</summary>
    public string Optimizer { get; init; } = "adam";
    /// <summary>Learning rate of the hash layer.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Backbone learning rate as a multiple of <see cref="LearningRate"/> (reference: 0.1).</summary>
    public double BackboneLrScale { get; init; } = 1.0;
    /// <summary>Number of backbone stages, from the input on, kept fixed during training: their weights get no gradient
    /// and their BatchNorm statistics are not updated (0: none). Stage names per backbone: <see cref="HashModel.BackboneStages"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int FreezeStages { get; init; }
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 0.0;
    /// <summary>"none" (constant) or "cosine" (cosine decay to 0 over the epochs, set once per epoch).</summary>
    public string Schedule { get; init; } = "cosine";
    /// <summary>"none", "flip" (random horizontal flip), "flip-shift" (flip plus a random shift of up to 2 pixels).</summary>
    public string Augmentation { get; init; } = "flip";
    public long Seed { get; init; } = 0;

    /// <summary>The recipe of the reference code (SGD, momentum 0.9, weight decay 5e-4, lr 1e-3 head / 1e-4 backbone,
    /// batch 24, 200 epochs, no schedule, pairwise loss with divisor B).</summary>
    public static HashTrainerOptions Reference => new()
    {
        Loss = "pairwise", Epochs = 200, BatchSize = 24, Optimizer = "sgd", LearningRate = 1e-3, BackboneLrScale = 0.1,
        Momentum = 0.9, WeightDecay = 5e-4, Schedule = "none", Augmentation = "flip",
    };

    /// <summary>Throws <see cref="UsageException"/> naming the first bad option.</summary>
    public HashTrainerOptions Validate()
    {
        if (Epochs < 1) throw new UsageException($"training.epochs {Epochs}: must be at least 1");
        if (BatchSize < 2) throw new UsageException($"training.batchSize {BatchSize}: must be at least 2 (pairwise losses need pairs)");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new UsageException($"training.learningRate {LearningRate}: must be positive");
        if (!(BackboneLrScale >= 0)) throw new UsageException($"training.backboneLrScale {BackboneLrScale}: must be >= 0");
        if (FreezeStages < 0) throw new UsageException($"training.freezeStages {FreezeStages}: must be >= 0");
        if (Optimizer is not ("adam" or "sgd")) throw new UsageException($"training.optimizer {Optimizer}: unknown (adam, sgd)");
        if (Schedule is not ("none" or "cosine")) throw new UsageException($"training.schedule {Schedule}: unknown (none, cosine)");
        if (Augmentation is not ("none" or "flip" or "flip-shift")) throw new UsageException($"training.augmentation {Augmentation}: unknown (none, flip, flip-shift)");
        if (!Losses.HashLossFactory.Names.Contains(Loss)) throw new UsageException($"training.loss {Loss}: unknown loss (known: {string.Join(", ", Losses.HashLossFactory.Names)})");
        return this;
    }
}

/// <summary>Progress of training, reported once per batch and once per epoch.</summary>
public sealed record TrainProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double EpochMeanLoss, double ImagesPerSecond, bool EpochDone);
