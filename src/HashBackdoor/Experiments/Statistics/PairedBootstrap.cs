using HashBackdoor.Data;

namespace HashBackdoor.Experiments.Statistics;

/// <summary>
/// Percentile bootstrap interval of the mean of paired differences: <see cref="Resamples"/> resamples of the blocks with
/// replacement, drawn with a seeded <see cref="SplitMix64"/>, so the same differences and seed give the same interval.
/// </summary>
public static class PairedBootstrap
{
    /// <summary>Number of bootstrap resamples.</summary>
    public const int Resamples = 10_000;

    /// <summary>The percentile interval (lower, upper) of the resampled means at <paramref name="level"/> (e.g. 0.95):
    /// the order statistics at (1-level)/2 and (1+level)/2 of the sorted resampled means (nearest rank).</summary>
    public static (double Lower, double Upper) MeanInterval(IReadOnlyList<double> differences, double level = 0.95, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(differences);
        if (differences.Count == 0) throw new ArgumentException("no differences to resample", nameof(differences));
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), "level must lie in (0, 1)");
        int n = differences.Count;
        var rng = new SplitMix64(seed);
        var means = new double[Resamples];
        for (int b = 0; b < Resamples; b++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += differences[(int)rng.NextBelow(n)];
            means[b] = sum / n;
        }
        Array.Sort(means);
        double alpha = (1 - level) / 2;
        int lo = Math.Clamp((int)Math.Ceiling(alpha * Resamples) - 1, 0, Resamples - 1);
        int hi = Math.Clamp((int)Math.Ceiling((1 - alpha) * Resamples) - 1, 0, Resamples - 1);
        return (means[lo], means[hi]);
    }
}
