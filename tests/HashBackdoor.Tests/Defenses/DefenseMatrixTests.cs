using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Tests.Defenses;

/// <summary><see cref="DefenseMatrix"/>: cells average over targets x seeds with the sample standard deviation and
/// leave not-applicable figures out.</summary>
public class DefenseMatrixTests
{
    private static DefenseRunFigures Run(string m, string d, long seed, double map, double tmap, double auc) =>
        new() { Method = m, Defense = d, Seed = seed, MapAfter = map, TMapAfter = tmap, DetectionAuc = auc, Seconds = 1 };

    [Fact]
    public void CellsAverageOverRunsAndRenderMeanAndSpread()
    {
        var cells = DefenseMatrix.Cells(new[]
        {
            Run("ciba", "strip", 0, 80, 10, 0.9), Run("ciba", "strip", 1, 82, 20, 0.7),
            Run("ciba", "fine-tuning", 0, 70, 5, double.NaN), Run("tri", "strip", 0, 81, 30, 0.6),
        });
        var c = cells.Single(x => x.Method == "ciba" && x.Defense == "strip");
        Assert.Equal(2, c.Runs);
        Assert.Equal(81, c.MapAfter, 12);
        Assert.Equal(Math.Sqrt(2), c.MapAfterStd, 12);          // values 80, 82
        Assert.Equal(15, c.TMapAfter, 12);
        Assert.Equal(Math.Sqrt(50), c.TMapAfterStd, 12);        // values 10, 20
        Assert.Equal(0.8, c.DetectionAuc, 12);
        Assert.True(double.IsNaN(cells.Single(x => x.Defense == "fine-tuning").DetectionAuc));
        string md = DefenseMatrix.Markdown(cells);
        Assert.Contains("| ciba | 81.0 ± 1.4 / 15.0 ± 7.1 / 0.800 ± 0.141 | 70.0 / 5.0 / – (n=1) |", md);   // fewer runs than the fullest cell: marked
        Assert.Contains("| tri | 81.0 / 30.0 / 0.600 (n=1) | not run |", md);
    }
}
