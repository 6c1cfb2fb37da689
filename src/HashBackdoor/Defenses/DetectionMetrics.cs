namespace HashBackdoor.Defenses;

/// <summary>The detection figures of the defenses: ROC AUC (Mann-Whitney, ties counted half), TPR at a fixed FPR,
/// TPR/FPR of a flagged set, and the MAD anomaly index of Neural Cleanse. Plain managed code on small arrays.</summary>
public static class DetectionMetrics
{
    /// <summary>Consistency constant of the median absolute deviation for normal data (Wang et al. 2019).</summary>
    public const double MadConsistency = 1.4826;

    /// <summary>
    /// ROC AUC of <paramref name="scores"/> (higher = more suspicious) against <paramref name="positive"/>: the probability
    /// that a random positive scores above a random negative, ties counting 1/2. Computed with mid-ranks:
    /// <c>AUC = (sum of positives' ranks - P(P+1)/2) / (P N)</c>. NaN when there is no positive or no negative.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        Check(scores, positive);
        int n = scores.Count;
        long p = positive.Count(b => b), q = n - p;
        if (p == 0 || q == 0) return double.NaN;
        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ToArray();
        double rankSum = 0;
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]]) end++;
            double midRank = (start + end) / 2.0 + 1; // ranks are 1-based
            for (int j = start; j <= end; j++) if (positive[order[j]]) rankSum += midRank;
            start = end + 1;
        }
        return (rankSum - p * (p + 1) / 2.0) / ((double)p * q);
    }

    /// <summary>
    /// TPR when the threshold is set on the negatives so that the FPR is at most <paramref name="maxFpr"/>: with N
    /// negatives, k = floor(maxFpr N) of them may be flagged; the threshold t is the (k+1)-th largest negative score and
    /// an item is flagged when its score is strictly above t (ties with t are not flagged, so the FPR never exceeds the
    /// bound). Returns the TPR, the FPR actually reached and t.
    /// </summary>
    public static (double Tpr, double Fpr, double Threshold) TprAtFpr(IReadOnlyList<double> scores, IReadOnlyList<bool> positive, double maxFpr)
    {
        Check(scores, positive);
        if (!(maxFpr >= 0 && maxFpr <= 1)) throw new ArgumentOutOfRangeException(nameof(maxFpr), maxFpr, "must lie in [0, 1]");
        var neg = scores.Where((_, i) => !positive[i]).OrderByDescending(s => s).ToArray();
        var pos = scores.Where((_, i) => positive[i]).ToArray();
        if (neg.Length == 0 || pos.Length == 0) return (double.NaN, double.NaN, double.NaN);
        int k = (int)Math.Floor(maxFpr * neg.Length + 1e-9);
        double t = k >= neg.Length ? double.NegativeInfinity : neg[k];
        double tpr = pos.Count(s => s > t) / (double)pos.Length;
        double fpr = neg.Count(s => s > t) / (double)neg.Length;
        return (tpr, fpr, t);
    }

    /// <summary>TPR and FPR of a flagged set: flagged positives / positives, flagged negatives / negatives (NaN when
    /// there are none).</summary>
    public static (double Tpr, double Fpr) Rates(IReadOnlyList<bool> flagged, IReadOnlyList<bool> positive)
    {
        if (flagged.Count != positive.Count) throw new ArgumentException($"{flagged.Count} flags for {positive.Count} labels");
        int p = 0, q = 0, tp = 0, fp = 0;
        for (int i = 0; i < flagged.Count; i++)
        {
            if (positive[i]) { p++; if (flagged[i]) tp++; }
            else { q++; if (flagged[i]) fp++; }
        }
        return (p == 0 ? double.NaN : tp / (double)p, q == 0 ? double.NaN : fp / (double)q);
    }

    /// <summary>Median (mean of the two middle values for an even count).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("median of no values");
        var s = values.OrderBy(v => v).ToArray();
        int m = s.Length / 2;
        return s.Length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    /// <summary>
    /// Anomaly index of Wang et al. (2019): <c>|v_i - median| / (1.4826 MAD)</c> with MAD = median |v - median|. When the
    /// MAD is 0, values equal to the median get 0 and the others +infinity.
    /// </summary>
    public static double[] AnomalyIndex(IReadOnlyList<double> values)
    {
        double med = Median(values);
        double mad = Median(values.Select(v => Math.Abs(v - med)).ToArray());
        return values.Select(v =>
        {
            double dev = Math.Abs(v - med);
            if (mad == 0) return dev == 0 ? 0 : double.PositiveInfinity;
            return dev / (MadConsistency * mad);
        }).ToArray();
    }

    /// <summary>Items flagged on the small side: value below the median and anomaly index above <paramref name="threshold"/>.</summary>
    public static bool[] FlagSmallOutliers(IReadOnlyList<double> values, double threshold = 2.0)
    {
        double med = Median(values);
        var index = AnomalyIndex(values);
        return values.Select((v, i) => v < med && index[i] > threshold).ToArray();
    }

    private static void Check(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores for {positive.Count} labels");
        if (scores.Any(double.IsNaN)) throw new ArgumentException("a detection score is NaN");
    }
}
