namespace HashBackdoor.Hashing.Losses;

/// <summary>What a loss is built for: the training set's classes, the code length, the seed of its fixed random parts
/// (CSQ's centres) and the quantization weight (losses that have one).</summary>
public sealed record LossShape(int NumClasses, int Bits, long Seed, double Quantization);

/// <summary>
/// The losses by config name (<c>training.loss</c>), in the toolkit's one registry mechanism
/// (<see cref="ExtensionRegistry{T}"/>): a new loss is one class implementing <see cref="IHashLoss"/> plus one line
/// here, or a <c>Registry.Register</c> call from another assembly.
/// </summary>
public static class HashLossFactory
{
    /// <summary>The registry: each name maps to a builder of the loss for a <see cref="LossShape"/>.</summary>
    public static readonly ExtensionRegistry<Func<LossShape, IHashLoss>> Registry = CreateRegistry();

    private static ExtensionRegistry<Func<LossShape, IHashLoss>> CreateRegistry()
    {
        var r = new ExtensionRegistry<Func<LossShape, IHashLoss>>("loss", "training.loss", _ => "");
        r.Register("pairwise", () => s => new PairwiseLoss(PairwiseDivisor.BatchSize, s.Quantization)); // reference: batch-size divisor
        r.Register("pairwise-k", () => s => new PairwiseLoss(PairwiseDivisor.Bits, s.Quantization));
        r.Register("dpsh", () => _ => new DpshLoss());
        r.Register("hashnet", () => _ => new HashNetLoss());
        r.Register("csq", () => s => new CsqLoss(s.NumClasses, s.Bits, seed: s.Seed));
        return r;
    }

    /// <summary>Registered names: pairwise (reference, batch-size divisor), pairwise-k (divisor K), dpsh, hashnet, csq,
    /// then any registered later.</summary>
    public static IReadOnlyList<string> Names => Registry.Names;

    /// <summary>The loss called <paramref name="name"/> for the given shape.</summary>
    /// <exception cref="UsageException">Unknown name: "training.loss NAME: unknown loss (known: ...)".</exception>
    public static IHashLoss Create(string name, int numClasses, int bits, long seed, double quantization = 0.0) =>
        Registry.Create(name)(new LossShape(numClasses, bits, seed, quantization));
}
