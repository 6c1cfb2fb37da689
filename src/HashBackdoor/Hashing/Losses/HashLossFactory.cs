namespace HashBackdoor.Hashing.Losses;

/// <summary>Builds a loss from its config name.</summary>
public static class HashLossFactory
{
    public static readonly IReadOnlyList<string> Names = new[] { "pairwise", "pairwise-k", "dpsh", "hashnet", "csq" };

    /// <summary>"pairwise" (reference, batch-size divisor), "pairwise-k" (divisor K), "dpsh", "hashnet", "csq".</summary>
    public static IHashLoss Create(string name, int numClasses, int bits, long seed, double quantization = 0.0) => name switch
    {
        "pairwise" => new PairwiseLoss(PairwiseDivisor.BatchSize, quantization),
        "pairwise-k" => new PairwiseLoss(PairwiseDivisor.Bits, quantization),
        "dpsh" => new DpshLoss(),
        "hashnet" => new HashNetLoss(),
        "csq" => new CsqLoss(numClasses, bits, seed: seed),
        _ => throw new UsageException($"training.loss {name}: unknown loss (known: {string.Join(", ", Names)})"),
    };
}
