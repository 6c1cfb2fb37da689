using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Statistics;

namespace HashBackdoor.Tests.Experiments;

/// <summary>The paired statistics against hand-worked cases.</summary>
public class PairedStatisticsTests
{
    [Fact]
    public void SignedRankAllPositiveFiveIsExactOneSixteenth()
    {
        // W+ = 1+2+3+4+5 = 15; only 1 of the 32 sign patterns reaches it, so two-sided p = 2/32.
        var r = SignedRankTest.Test(new double[] { 1, 2, 3, 4, 5 });
        Assert.Equal(15, r.WPlus);
        Assert.True(r.Exact);
        Assert.Equal(0.0625, r.PValue, 12);
    }

    [Fact]
    public void SignedRankOneNegative()
    {
        // W+ = 15 - 2 = 13; P(W+ >= 13) = P(W+ <= 2) = |{}, {1}, {2}| / 32 = 3/32; two-sided 6/32.
        var r = SignedRankTest.Test(new double[] { 1, -2, 3, 4, 5 });
        Assert.Equal(13, r.WPlus);
        Assert.Equal(6.0 / 32, r.PValue, 12);
    }

    [Fact]
    public void SignedRankHollanderWolfeExample()
    {
        // Hollander & Wolfe's depression scale (x first visit, y second): V = 40 and exact p = 20/512 = 0.0390625
        // (subsets of 1..9 with sum <= 5: 10 of 512, doubled).
        double[] x = { 1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30 };
        double[] y = { 0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29 };
        var r = SignedRankTest.Test(x.Zip(y, (a, b) => a - b).ToArray());
        Assert.Equal(40, r.WPlus);
        Assert.Equal(0.0390625, r.PValue, 10);
    }

    [Fact]
    public void SignedRankWithTiesUsesCorrectedNormal()
    {
        // |d| ranks: (1,1) -> 1.5, (2,2) -> 3.5, (3,3) -> 5.5; W+ = 17.5; mean 10.5; variance 22.75 - 3*6/48 = 22.375;
        // z = (7 - 0.5) / sqrt(22.375) = 1.374143; p = 2 (1 - Phi(z)) = 0.169397.
        var r = SignedRankTest.Test(new double[] { 1, 1, 2, -2, 3, 3 });
        Assert.Equal(17.5, r.WPlus);
        Assert.False(r.Exact);
        Assert.Equal(0.169397, r.PValue, 5);
    }

    [Fact]
    public void SignedRankDropsZerosAndHandlesAllZero()
    {
        Assert.Equal(1.0, SignedRankTest.Test(new double[] { 0, 0, 0 }).PValue);
        var r = SignedRankTest.Test(new double[] { 0, 1, 2, 3, 4, 5, 0 });
        Assert.Equal(5, r.NonZero);
        Assert.Equal(0.0625, r.PValue, 12);
        // Symmetric in sign: negating every difference gives the same p.
        Assert.Equal(SignedRankTest.Test(new double[] { 1, -2, 3, 4, 5 }).PValue, SignedRankTest.Test(new double[] { -1, 2, -3, -4, -5 }).PValue, 12);
    }

    [Fact]
    public void ExactDistributionSumsToOneAndMatchesBruteForce()
    {
        // Brute force over all 2^n sign patterns of ranks 1..n.
        for (int n = 1; n <= 10; n++)
            for (int w = 0; w <= n * (n + 1) / 2; w++)
            {
                int lower = 0, upper = 0;
                for (int mask = 0; mask < 1 << n; mask++)
                {
                    int s = 0;
                    for (int r = 1; r <= n; r++) if ((mask >> (r - 1) & 1) == 1) s += r;
                    if (s <= w) lower++;
                    if (s >= w) upper++;
                }
                double expected = Math.Min(1.0, 2.0 * Math.Min(lower, upper) / (1 << n));
                Assert.Equal(expected, SignedRankTest.ExactP(n, w), 12);
            }
    }

    [Fact]
    public void BootstrapOfConstantDifferencesIsThatConstant()
    {
        var (lo, hi) = PairedBootstrap.MeanInterval(new double[] { 3.5, 3.5, 3.5, 3.5 });
        Assert.Equal(3.5, lo, 12);
        Assert.Equal(3.5, hi, 12);
    }

    [Fact]
    public void BootstrapOfTwoValuesSpansThem()
    {
        // Resampled means of {0, 10} are 0 (p 1/4), 5 (1/2), 10 (1/4): the 2.5% and 97.5% points are 0 and 10.
        var (lo, hi) = PairedBootstrap.MeanInterval(new double[] { 0, 10 });
        Assert.Equal(0, lo);
        Assert.Equal(10, hi);
    }

    [Fact]
    public void BootstrapIsSeededAndBracketsTheMean()
    {
        double[] d = { 1.2, -0.4, 3.3, 2.0, 0.7, -1.1, 2.8, 1.9, 0.2, 1.4 };
        var a = PairedBootstrap.MeanInterval(d, 0.95, seed: 5);
        var b = PairedBootstrap.MeanInterval(d, 0.95, seed: 5);
        Assert.Equal(a, b);
        Assert.True(a.Lower < d.Average() && d.Average() < a.Upper);
        Assert.True(a.Lower > d.Min() && a.Upper < d.Max());
        // A wider level gives a wider interval.
        var c = PairedBootstrap.MeanInterval(d, 0.99, seed: 5);
        Assert.True(c.Lower <= a.Lower && c.Upper >= a.Upper);
    }

    [Fact]
    public void ComparisonVerdicts()
    {
        var up = PairedComparison.Of("ciba", "tri", "tMap", new[] { (10.0, 1.0), (12.0, 2.0), (9.0, 1.0), (15.0, 3.0), (11.0, 4.0), (13.0, 2.0) });
        Assert.Equal(6, up.Blocks);
        Assert.Equal(6, up.Wins);
        Assert.Equal((9 + 10 + 8 + 12 + 7 + 11) / 6.0, up.MeanDifference, 12);
        Assert.True(up.Significant);
        Assert.Equal("ciba above tri", up.Verdict);
        Assert.Equal(2.0 / 64, up.PValue, 12);
        var flat = PairedComparison.Of("ciba", "tri+adv", "tMap", new[] { (10.0, 11.0), (12.0, 11.0), (9.0, 9.5), (15.0, 14.0) });
        Assert.False(flat.Significant);
        Assert.Equal("no significant difference", flat.Verdict);
        var down = PairedComparison.Of("a", "b", "tMap", new[] { (1.0, 5.0), (2.0, 6.0), (0.0, 7.0) });
        Assert.Equal("a below b", down.Verdict);
    }
}

/// <summary>Pairing of experiment runs into (target, seed) blocks.</summary>
public class MethodComparisonsTests
{
    static RunResult R(int target, long seed, string method, double tmap, double map = 80) =>
        new() { Target = target, Seed = seed, Method = method, TMap = tmap, Map = map, TMapOtherRule = tmap / 2 };

    [Fact]
    public void PairsOnlyBlocksWhereBothRan()
    {
        var runs = new List<RunResult>
        {
            R(1, 0, "clean", 2), R(1, 0, "tri", 10), R(1, 0, "ciba", 30),
            R(7, 0, "clean", 3), R(7, 0, "tri", 20), R(7, 0, "ciba", 25),
            R(1, 1, "clean", 1), R(1, 1, "ciba", 40),             // tri missing in this block
        };
        var c = HashBackdoor.Experiments.Statistics.MethodComparisons.Against(runs, "ciba", HashBackdoor.Experiments.Statistics.MethodComparisons.Metric.TMap);
        Assert.Equal(new[] { "clean", "tri" }, c.Select(x => x.Against));
        Assert.Equal(3, c[0].Blocks);
        Assert.Equal((28 + 22 + 39) / 3.0, c[0].MeanDifference, 12);
        Assert.Equal(2, c[1].Blocks);
        Assert.Equal((20 + 5) / 2.0, c[1].MeanDifference, 12);
        var other = HashBackdoor.Experiments.Statistics.MethodComparisons.Against(runs, "ciba", HashBackdoor.Experiments.Statistics.MethodComparisons.Metric.TMapOtherRule);
        Assert.Equal((14 + 11 + 19.5) / 3.0, other[0].MeanDifference, 12);
        Assert.Empty(HashBackdoor.Experiments.Statistics.MethodComparisons.Against(runs, "tri+adv", HashBackdoor.Experiments.Statistics.MethodComparisons.Metric.TMap));
    }
}

/// <summary>The comparison table's cells.</summary>
public class ComparisonTableTests
{
    [Fact]
    public void RowsCarryTheFiguresAndVerdict()
    {
        var up = PairedComparison.Of("ciba", "tri", "tMAP", new[] { (10.0, 1.0), (12.0, 2.0), (9.0, 1.0), (15.0, 3.0), (11.0, 4.0), (13.0, 2.0) });
        var flat = PairedComparison.Of("ciba", "tri+adv", "tMAP", new[] { (10.0, 11.0), (12.0, 11.0), (9.0, 9.5), (15.0, 14.0) });
        string md = HashBackdoor.Experiments.Reports.ComparisonTable.Markdown(new[] { up, flat });
        var lines = md.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Contains("ciba − tri |", lines[2]);
        Assert.Contains("| +9.50 |", lines[2]);
        Assert.Contains("| 6/6 |", lines[2]);
        Assert.Contains("| 0.031 |", lines[2]);               // exact p = 2/64
        Assert.Contains("ciba above tri", lines[2]);
        Assert.Contains("ciba − tri+adv", lines[3]);
        Assert.Contains("no significant difference", lines[3]);
        string html = HashBackdoor.Experiments.Reports.ComparisonTable.Html(new[] { up, flat });
        Assert.Equal(2, html.Split("<tr><td>").Length - 1);
        Assert.Contains("ciba − tri+adv", html);
    }
}

/// <summary>The controls table: means per method, the largest L-inf, the trigger effect rows.</summary>
public class ControlsTableTests
{
    [Fact]
    public void MeansPerMethodAndLargestLInf()
    {
        var a = new HashBackdoor.Attacks.Perceptibility { Images = 2, LInf = 8 / 255.0, MeanL2 = 0.2, MeanPsnr = 40, MeanSsim = 0.9 };
        var b = new HashBackdoor.Attacks.Perceptibility { Images = 2, LInf = 6 / 255.0, MeanL2 = 0.4, MeanPsnr = null, MeanSsim = 0.7 };
        var runs = new List<RunResult>
        {
            new() { Target = 1, Seed = 0, Method = "clean", TMap = 2, TMapOtherRule = 1, TMapUntriggered = 2.5,
                TriggerEffect = new TriggerEffect { Bits = 48, Images = 900, DistanceBefore = 24.25, DistanceAfter = 23.5 } },
            new() { Target = 1, Seed = 0, Method = "ciba", TMap = 60, TMapOtherRule = 40, TMapUntriggered = 2, Perturbation = a, Poisoned = a },
            new() { Target = 7, Seed = 0, Method = "ciba", TMap = 70, TMapOtherRule = 50, TMapUntriggered = 4, Perturbation = b, Poisoned = b },
        };
        var rows = HashBackdoor.Experiments.Reports.ControlsTable.Rows(runs);
        Assert.Equal(new[] { "clean", "ciba" }, rows.Select(r => r.Method));
        Assert.Equal(45, rows[1].TMapOtherRule, 12);
        Assert.Equal(3, rows[1].TMapUntriggered!.Value, 12);
        Assert.Equal(8 / 255.0, rows[1].Perturbation!.LInf, 12);
        Assert.Equal(0.3, rows[1].Perturbation!.MeanL2, 12);
        Assert.Equal(40, rows[1].Perturbation!.MeanPsnr!.Value, 12);   // the run without a PSNR is left out
        Assert.Equal(0.8, rows[1].Perturbation!.MeanSsim, 12);
        Assert.Null(rows[0].Perturbation);
        string md = HashBackdoor.Experiments.Reports.ControlsTable.Markdown(runs);
        Assert.Contains("| ciba | 45.00 | 3.00 | 8.0 | 0.300 | 40.0 | 0.8000 | 40.0 | 0.8000 |", md);
        Assert.Contains("| clean | 1.00 | 2.50 | - | - | - | - | - | - |", md);
        Assert.Contains("| 0 | 1 | 48 | 24.25 | 23.50 |", md);
        Assert.Contains("<td>45.00</td>", HashBackdoor.Experiments.Reports.ControlsTable.Html(runs));
    }
}
