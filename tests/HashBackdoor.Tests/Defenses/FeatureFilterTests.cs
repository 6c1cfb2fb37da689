using HashBackdoor.Defenses;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Defenses;

/// <summary>Spectral signatures and activation clustering on plain synthetic features: planted, separable outliers are
/// found (AUC near 1); Gaussian classes without outliers give chance AUC and no flagged class.</summary>
public class FeatureFilterTests
{
    private const int Dim = 32;

    /// <summary>Two classes of 200 standard-normal rows (D = 32); with <paramref name="planted"/> rows of class 0
    /// shifted by <paramref name="shift"/> along one fixed direction. Returns features, classes and the planted mask.</summary>
    private static (Tensor Features, int[] Classes, bool[] Planted) Make(int planted, double shift, long seed)
    {
        var g = new Generator().manual_seed(seed);
        int n = 400 + planted;
        var f = randn(new long[] { n, Dim }, generator: g);
        var classes = Enumerable.Range(0, n).Select(i => i < 200 ? 0 : i < 400 ? 1 : 0).ToArray();
        var mask = Enumerable.Range(0, n).Select(i => i >= 400).ToArray();
        if (planted > 0)
        {
            var dir = randn(new long[] { Dim }, generator: g);
            dir = dir.div(dir.norm());
            f.narrow(0, 400, planted).add_(dir.mul(shift));
        }
        return (f, classes, mask);
    }

    [Fact]
    public void SpectralSignaturesRankPlantedOutliersFirst()
    {
        var (f, classes, planted) = Make(20, 6.0, 1);
        using (f)
        {
            var scores = SpectralSignatureDefense.Scores(f, classes);
            Assert.True(DetectionMetrics.RocAuc(scores, planted) > 0.98);
            // Remove 1.5 eps of every class, eps = 20 / 220: 30 rows of class 0 (and 30 of class 1).
            var flagged = SpectralSignatureDefense.FlagTop(scores, classes, 1.5 * 20 / 220.0);
            Assert.Equal(30, flagged.Where((x, i) => x && classes[i] == 0).Count());
            Assert.True(DetectionMetrics.Rates(flagged, planted).Tpr >= 0.95);
        }
    }

    [Fact]
    public void SpectralScoresAreSquaredProjectionsOnTheTopSingularVector()
    {
        // Hand-worked: one class, rows (2,0), (-2,0), (0,1), (0,-1): centred already, top direction (1,0); scores 4,4,0,0.
        using var f = tensor(new float[] { 2, 0, -2, 0, 0, 1, 0, -1 }, new long[] { 4, 2 });
        var s = SpectralSignatureDefense.Scores(f, new[] { 0, 0, 0, 0 });
        Assert.Equal(new[] { 4.0, 4, 0, 0 }, s.Select(v => Math.Round(v, 6)).ToArray());
    }

    [Fact]
    public void SpectralSignaturesOnCleanFeaturesAreAtChance()
    {
        var (f, classes, _) = Make(0, 0, 2);
        using (f)
        {
            var scores = SpectralSignatureDefense.Scores(f, classes);
            // 20 arbitrary rows of class 0 called "poison": their ranking is chance.
            var fake = Enumerable.Range(0, 400).Select(i => i % 10 == 3 && i < 200).ToArray();
            Assert.InRange(DetectionMetrics.RocAuc(scores, fake), 0.3, 0.7);
        }
    }

    [Fact]
    public void ActivationClusteringFlagsThePlantedClusterOnly()
    {
        var (f, classes, planted) = Make(40, 8.0, 3);
        using (f)
        {
            var (flagged, scores, perClass) = new ActivationClusteringDefense().Analyse(f, classes, seed: 5);
            Assert.True(perClass.Single(c => c.Class == 0).Flagged);
            Assert.False(perClass.Single(c => c.Class == 1).Flagged);
            Assert.True(DetectionMetrics.RocAuc(scores, planted) > 0.98);
            var (tpr, fpr) = DetectionMetrics.Rates(flagged, planted);
            Assert.True(tpr >= 0.95, $"TPR {tpr}");
            Assert.True(fpr <= 0.02, $"FPR {fpr}");
        }
    }

    [Fact]
    public void ActivationClusteringFlagsNothingOnCleanFeatures()
    {
        var (f, classes, _) = Make(0, 0, 4);
        using (f)
        {
            var (flagged, _, perClass) = new ActivationClusteringDefense().Analyse(f, classes, seed: 5);
            Assert.DoesNotContain(perClass, c => c.Flagged);
            Assert.DoesNotContain(true, flagged);
            Assert.All(perClass, c => Assert.True(c.Silhouette < 0.15, $"class {c.Class} silhouette {c.Silhouette}"));
        }
    }

    [Fact]
    public void SilhouetteOfTwoTightFarClustersIsNearOne()
    {
        // Points at 0, 0.1 and 10, 10.1 (1-D): a = 0.1, b about 10 for every point -> (b - a) / b about 0.99.
        using var x = tensor(new double[] { 0, 0.1, 10, 10.1 }, new long[] { 4, 1 });
        using var assign = tensor(new long[] { 0, 0, 1, 1 });
        double s = ActivationClusteringDefense.Silhouette(x, assign);
        double expected = new[] { (10.05 - 0.1) / 10.05, (9.95 - 0.1) / 9.95, (9.95 - 0.1) / 9.95, (10.05 - 0.1) / 10.05 }.Average();
        Assert.Equal(expected, s, 9);
    }
}
