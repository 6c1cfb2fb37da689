using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>How a defense runs: device, seed of its random choices, whether to retrain (the slow part of training-set
/// filtering), progress and cancellation. Same inputs, context and seed give the same figures.</summary>
public sealed record DefenseContext
{
    /// <summary>Device for the model's forward and backward passes.</summary>
    public Device Device { get; init; } = CPU;

    /// <summary>Seed of the defense's random choices (clean subsets, blend partners, optimisation batches).</summary>
    public long Seed { get; init; }

    /// <summary>Training-set filtering retrains a victim on the kept rows (victim's recipe) and reports its mAP and
    /// t-MAP; false skips that step (detection figures only), which keeps tests fast.</summary>
    public bool Retrain { get; init; } = true;

    /// <summary>Called with (stage, fraction done in 0..1) during long steps. Optional.</summary>
    public Action<string, double>? Progress { get; init; }

    /// <summary>Called with one line of information (a figure, a decision). Optional.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Cancels long loops (training, optimisation).</summary>
    public CancellationToken Cancel { get; init; }

    /// <summary>A seed for one independent random stream of this defense (SplitMix64 of seed and stream).</summary>
    public long StreamSeed(int stream)
    {
        ulong x = (ulong)Seed * 0x9E3779B97F4A7C15UL + (ulong)stream * 0xD1B54A32D192ED03UL + 0x2545F4914F6CDD1DUL;
        x ^= x >> 30; x *= 0xBF58476D1CE4E5B9UL; x ^= x >> 27; x *= 0x94D049BB133111EBUL; x ^= x >> 31;
        return (long)(x >> 1);
    }
}
