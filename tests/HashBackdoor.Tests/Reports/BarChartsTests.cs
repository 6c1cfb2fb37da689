using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Tests.Reports;

public class BarChartsTests
{
    [Fact]
    public void MethodBarsIsAPngOfTheRequestedSize()
    {
        var summary = ReportSamples.Results().Summary;
        ReportSamples.AssertPng(BarCharts.MethodBars(summary, "mAP", "mAP per method"), 640, 400);
        ReportSamples.AssertPng(BarCharts.MethodBars(summary, "tMAP", "t-MAP per method", 320, 240), 320, 240);
    }

    [Fact]
    public void MethodBarsIsDeterministic()
    {
        var summary = ReportSamples.Results().Summary;
        byte[] first = BarCharts.MethodBars(summary, "mAP", "m");
        Assert.Equal(first, BarCharts.MethodBars(summary, "mAP", "m"));
        Assert.NotEqual(first, BarCharts.MethodBars(summary, "tMAP", "m"));
    }

    [Fact]
    public void MethodBarsRejectsUnknownMetricsAndEmptySummaries()
    {
        var summary = ReportSamples.Results().Summary;
        Assert.Throws<ArgumentException>(() => BarCharts.MethodBars(summary, "accuracy", "x"));
        Assert.Throws<ArgumentException>(() => BarCharts.MethodBars(Array.Empty<HashBackdoor.Experiments.MethodSummary>(), "mAP", "x"));
    }

    [Fact]
    public void MetricNamesParse()
    {
        Assert.Equal(Metric.Map, Metrics.Parse("mAP"));
        Assert.Equal(Metric.TMap, Metrics.Parse("tMAP"));
        Assert.Equal(Metric.TMap, Metrics.Parse("t-MAP"));
    }

    [Fact]
    public void KnownMethodsKeepTheirColoursAndOthersGetDistinctOnes()
    {
        var colors = MethodStyle.Colors(new[] { "ciba", "x", "clean", "y", "x" });
        Assert.Equal("#d62728", colors[0]);
        Assert.Equal("#7f7f7f", colors[2]);
        Assert.NotEqual(colors[1], colors[3]);
        Assert.Equal(colors[1], colors[4]);
    }
}
