namespace HashBackdoor.Experiments.Statistics;

/// <summary>
/// One method against another over the same (target, seed) blocks: the mean paired difference (A - B) of a metric, its
/// 95% percentile bootstrap interval and the two-sided Wilcoxon signed-rank p-value. A difference whose interval holds 0
/// is reported as "no significant difference".
/// </summary>
public sealed record PairedComparison
{
    /// <summary>The method compared (A).</summary>
    public required string Method { get; init; }
    /// <summary>The method it is compared against (B).</summary>
    public required string Against { get; init; }
    /// <summary>The metric ("tMap", "map", ...).</summary>
    public required string Metric { get; init; }
    /// <summary>Number of (target, seed) blocks that have both methods.</summary>
    public int Blocks { get; init; }
    /// <summary>Mean of A - B over the blocks, in the metric's units (percentage points for mAP and t-MAP).</summary>
    public double MeanDifference { get; init; }
    /// <summary>Lower end of the 95% bootstrap interval of the mean difference.</summary>
    public double Lower { get; init; }
    /// <summary>Upper end of the 95% bootstrap interval of the mean difference.</summary>
    public double Upper { get; init; }
    /// <summary>Blocks in which A is above B.</summary>
    public int Wins { get; init; }
    /// <summary>Two-sided Wilcoxon signed-rank p-value.</summary>
    public double PValue { get; init; }
    /// <summary>True when the p-value is exact (no ties, few blocks), false for the normal approximation.</summary>
    public bool ExactP { get; init; }
    /// <summary>True when the interval excludes 0.</summary>
    public bool Significant => Blocks > 0 && (Lower > 0 || Upper < 0);
    /// <summary>"A above B", "A below B" or "no significant difference".</summary>
    public string Verdict => !Significant ? "no significant difference" : Lower > 0 ? $"{Method} above {Against}" : $"{Method} below {Against}";

    /// <summary>Compares paired values: <paramref name="pairs"/> holds (A, B) per block.</summary>
    public static PairedComparison Of(string method, string against, string metric, IReadOnlyList<(double A, double B)> pairs, long seed = 0)
    {
        var d = pairs.Select(p => p.A - p.B).ToArray();
        if (d.Length == 0) return new PairedComparison { Method = method, Against = against, Metric = metric, PValue = 1, ExactP = true };
        var (lo, hi) = PairedBootstrap.MeanInterval(d, 0.95, seed);
        var w = SignedRankTest.Test(d);
        return new PairedComparison
        {
            Method = method, Against = against, Metric = metric, Blocks = d.Length, MeanDifference = d.Average(),
            Lower = lo, Upper = hi, Wins = d.Count(x => x > 0), PValue = w.PValue, ExactP = w.Exact,
        };
    }
}
