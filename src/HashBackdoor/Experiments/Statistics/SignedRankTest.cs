namespace HashBackdoor.Experiments.Statistics;

/// <summary>
/// Wilcoxon signed-rank test of paired differences against a median of zero, two-sided. Zero differences are dropped
/// (Wilcoxon's convention); the absolute differences are ranked with average ranks for ties; W+ is the sum of the ranks
/// of the positive differences. Without ties and with at most <see cref="ExactLimit"/> non-zero differences the p-value
/// is exact (the null distribution of W+ counted over all 2^n sign patterns); otherwise it is the normal approximation
/// with the tie correction of the variance and a continuity correction of 0.5 (as R's <c>wilcox.test(exact = FALSE)</c>).
/// </summary>
public static class SignedRankTest
{
    /// <summary>Largest number of non-zero differences for which the exact distribution is used.</summary>
    public const int ExactLimit = 50;

    /// <summary>Result: the statistic W+, the number of non-zero differences, the two-sided p-value and whether it is exact.</summary>
    public sealed record Result(double WPlus, int NonZero, double PValue, bool Exact);

    /// <summary>Runs the test on <paramref name="differences"/> (finite values).</summary>
    public static Result Test(IReadOnlyList<double> differences)
    {
        ArgumentNullException.ThrowIfNull(differences);
        if (differences.Any(d => !double.IsFinite(d))) throw new ArgumentException("differences must be finite", nameof(differences));
        var d = differences.Where(x => x != 0).ToArray();
        int n = d.Length;
        if (n == 0) return new Result(0, 0, 1.0, true);
        var order = Enumerable.Range(0, n).OrderBy(i => Math.Abs(d[i])).ToArray();
        var ranks = new double[n];
        bool ties = false;
        double tieTerm = 0; // sum of t^3 - t over tie groups
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && Math.Abs(d[order[j + 1]]) == Math.Abs(d[order[i]])) j++;
            double avg = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) ranks[order[k]] = avg;
            int t = j - i + 1;
            if (t > 1) { ties = true; tieTerm += (double)t * t * t - t; }
            i = j + 1;
        }
        double wPlus = 0;
        for (int i = 0; i < n; i++) if (d[i] > 0) wPlus += ranks[i];
        if (!ties && n <= ExactLimit) return new Result(wPlus, n, ExactP(n, (int)Math.Round(wPlus)), true);
        double mean = n * (n + 1) / 4.0;
        double variance = n * (n + 1) * (2.0 * n + 1) / 24.0 - tieTerm / 48.0;
        if (variance <= 0) return new Result(wPlus, n, 1.0, false);
        double diff = wPlus - mean;
        double z = (Math.Abs(diff) - 0.5) / Math.Sqrt(variance);
        if (z < 0) z = 0;
        double p = 2 * (1 - MathNet.Numerics.Distributions.Normal.CDF(0, 1, z));
        return new Result(wPlus, n, Math.Min(1.0, p), false);
    }

    /// <summary>Exact two-sided p: 2 min(P(W+ &lt;= w), P(W+ &gt;= w)) capped at 1, with the null distribution of W+ for
    /// ranks 1..n counted by dynamic programming.</summary>
    internal static double ExactP(int n, int w)
    {
        int max = n * (n + 1) / 2;
        var counts = new double[max + 1];
        counts[0] = 1;
        for (int r = 1; r <= n; r++)
            for (int s = max; s >= r; s--)
                counts[s] += counts[s - r];
        double total = Math.Pow(2, n);
        double lower = 0, upper = 0;
        for (int s = 0; s <= max; s++)
        {
            if (s <= w) lower += counts[s];
            if (s >= w) upper += counts[s];
        }
        return Math.Min(1.0, 2 * Math.Min(lower, upper) / total);
    }
}
