using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Tests.Reports;

public class AblationPlotTests
{
    static MethodSummary S(string method, double tmap, double tstd, double map, double mstd, int runs = 2) =>
        new() { Method = method, TMap = tmap, TMapStd = tstd, Map = map, MapStd = mstd, Runs = runs };

    static List<AblationPoint> Points(params string[] values) => values.Select((v, i) => new AblationPoint(v, new[]
    {
        S("tri", 20 + i, 1, 60, 0.5),
        S("ciba", 50 + 10 * i, 2.5, 61, 0.25),
    })).ToList();

    [Fact]
    public void NumericAndCategoricalValuesRenderPngs()
    {
        ReportSamples.AssertPng(AblationPlot.Render("eps", Points("2", "4", "8"), "tMAP", "t-MAP vs eps"), 640, 400);
        ReportSamples.AssertPng(AblationPlot.Render("trigger", Points("patch", "blend"), "mAP", "mAP vs trigger", 400, 300), 400, 300);
    }

    [Fact]
    public void RenderBothIsOneTwoPanelPng()
    {
        ReportSamples.AssertPng(AblationPlot.RenderBoth("rate", Points("0.01", "0.05"), "poisoning rate"), 1200, 420);
    }

    [Fact]
    public void MarkdownTableListsEveryValueAndMethod()
    {
        string md = AblationPlot.MarkdownTable("eps", Points("2", "4", "8"));
        Assert.StartsWith("| eps | Method | t-MAP (%) | mAP (%) | Runs |", md);
        foreach (var v in new[] { "2", "4", "8" })
        {
            Assert.Contains($"| {v} | tri |", md);
            Assert.Contains($"| {v} | ciba |", md);
        }
        Assert.Contains("| 8 | ciba | 70.00 ± 2.50 | 61.00 ± 0.25 | 2 |", md);
        Assert.Equal(2 + 6, md.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void RejectsNoPoints()
    {
        Assert.Throws<ArgumentException>(() => AblationPlot.Render("eps", Array.Empty<AblationPoint>(), "mAP", "x"));
    }
}
