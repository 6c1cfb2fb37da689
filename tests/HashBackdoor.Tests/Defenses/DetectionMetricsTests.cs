using HashBackdoor.Defenses;

namespace HashBackdoor.Tests.Defenses;

/// <summary><see cref="DetectionMetrics"/> against hand-worked cases and a brute-force pair count.</summary>
public class DetectionMetricsTests
{
    [Fact]
    public void RocAucCountsPairsAboveWithoutTies()
    {
        // Positives 0.9 and 0.7; negatives 0.8, 0.6, 0.5. 0.9 beats 3 negatives, 0.7 beats 2: 5 of 6 pairs.
        double auc = DetectionMetrics.RocAuc(new[] { 0.9, 0.8, 0.7, 0.6, 0.5 }, new[] { true, false, true, false, false });
        Assert.Equal(5.0 / 6, auc, 12);
    }

    [Fact]
    public void RocAucCountsTiesAsHalf()
    {
        // Positives 2 and 1, negatives 1 and 0: (2>1) 1, (2>0) 1, (1=1) 1/2, (1>0) 1 -> 3.5 / 4.
        Assert.Equal(0.875, DetectionMetrics.RocAuc(new[] { 2.0, 1, 1, 0 }, new[] { true, true, false, false }), 12);
        // All tied: chance.
        Assert.Equal(0.5, DetectionMetrics.RocAuc(new[] { 1.0, 1, 1, 1 }, new[] { true, false, true, false }), 12);
        // Perfectly inverted ranking.
        Assert.Equal(0.0, DetectionMetrics.RocAuc(new[] { 0.0, 1 }, new[] { true, false }), 12);
        Assert.True(double.IsNaN(DetectionMetrics.RocAuc(new[] { 0.0, 1 }, new[] { true, true })));
    }

    [Fact]
    public void RocAucMatchesBruteForcePairCountWithManyTies()
    {
        var rng = new Random(5);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = rng.Next(2, 60);
            var s = Enumerable.Range(0, n).Select(_ => (double)rng.Next(0, 6)).ToArray();
            var y = Enumerable.Range(0, n).Select(_ => rng.Next(2) == 1).ToArray();
            if (y.All(b => b) || y.All(b => !b)) continue;
            double pairs = 0, wins = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (y[i] && !y[j]) { pairs++; wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0; }
            Assert.Equal(wins / pairs, DetectionMetrics.RocAuc(s, y), 12);
        }
    }

    [Fact]
    public void TprAtFprSetsTheThresholdOnTheNegatives()
    {
        // 20 negatives scored 0..19; 5% FPR allows one: threshold = second largest negative, 18; flagged: score > 18.
        var scores = Enumerable.Range(0, 20).Select(i => (double)i).Concat(new[] { 19.5, 18.5, 17, 5 }).ToArray();
        var labels = Enumerable.Repeat(false, 20).Concat(Enumerable.Repeat(true, 4)).ToArray();
        var (tpr, fpr, t) = DetectionMetrics.TprAtFpr(scores, labels, 0.05);
        Assert.Equal(18, t);
        Assert.Equal(0.5, tpr, 12);   // 19.5 and 18.5
        Assert.Equal(0.05, fpr, 12);  // negative 19
        // 0% FPR: threshold is the largest negative (19); only 19.5 is above.
        Assert.Equal(0.25, DetectionMetrics.TprAtFpr(scores, labels, 0).Tpr, 12);
    }

    [Fact]
    public void RatesCountFlaggedPositivesAndNegatives()
    {
        var (tpr, fpr) = DetectionMetrics.Rates(new[] { true, true, false, true, false }, new[] { true, false, true, false, false });
        Assert.Equal(0.5, tpr, 12);
        Assert.Equal(2.0 / 3, fpr, 12);
    }

    [Fact]
    public void AnomalyIndexIsDeviationOverScaledMad()
    {
        // Median 3, absolute deviations 2, 1, 0, 1, 97 -> MAD 1; index = deviation / 1.4826.
        var index = DetectionMetrics.AnomalyIndex(new[] { 1.0, 2, 3, 4, 100 });
        var expected = new[] { 2 / 1.4826, 1 / 1.4826, 0, 1 / 1.4826, 97 / 1.4826 };
        for (int i = 0; i < 5; i++) Assert.Equal(expected[i], index[i], 9);
        // Values 1, 10, 11, 12, 13: median 11, MAD 1; only 1 is below the median with index 10 / 1.4826 > 2.
        Assert.Equal(new[] { true, false, false, false, false }, DetectionMetrics.FlagSmallOutliers(new[] { 1.0, 10, 11, 12, 13 }));
        // A large outlier is not flagged (small side only).
        Assert.DoesNotContain(true, DetectionMetrics.FlagSmallOutliers(new[] { 10.0, 11, 12, 13, 100 }));
        Assert.Equal(2.5, DetectionMetrics.Median(new[] { 4.0, 1, 2, 3 }));
    }
}
