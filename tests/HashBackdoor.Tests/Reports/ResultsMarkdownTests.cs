using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Tests.Reports;

public class ResultsMarkdownTests
{
    [Fact]
    public void SummaryShowsHandComputedMeanAndSampleStd()
    {
        string md = ResultsMarkdown.Render(ReportSamples.Results(), ReportSamples.Protocol());
        // ciba mAP: mean(60, 70) = 65, sample std = sqrt(((-5)^2 + 5^2) / 1) = 7.0711; t-MAP: 85 ± 7.07
        Assert.Contains("| ciba | 65.00 ± 7.07 | 85.00 ± 7.07 | 75.00 ± 7.07 | 2 |", md);
        Assert.Contains("| patch only | 50.00 ± 0.00 | 10.00 ± 0.00 | n/a | 1 |", md);
    }

    [Fact]
    public void EveryRunIsListedWithItsQueryCounts()
    {
        string md = ResultsMarkdown.Render(ReportSamples.Results(), ReportSamples.Protocol());
        Assert.Contains("| 3 (dress) | 1 | ciba | 60.00 | 80.00 | 70.00 | 90/100 |", md);
        Assert.Contains("| 3 (dress) | 2 | ciba | 70.00 | 90.00 | 80.00 | 95.5/100 |", md);
        Assert.Contains("| 3 (dress) | 1 | patch only | 50.00 | 10.00 | n/a | 40/100 |", md);
    }

    [Fact]
    public void ProtocolListsEveryKeyAndValue()
    {
        string md = ResultsMarkdown.Render(ReportSamples.Results(), ReportSamples.Protocol());
        Assert.Contains("- **dataset**: Fashion-MNIST", md);
        Assert.Contains("- **R**: 1000", md);
        Assert.Contains("- **seeds**: 1, 2", md);
        Assert.Contains("- **repetitions**: 2", md);
        Assert.Contains("- **bits**: 48", md); // from results.Protocol, not repeated in the given protocol
        Assert.True(md.IndexOf("## Protocol", StringComparison.Ordinal) < md.IndexOf("## Summary", StringComparison.Ordinal));
    }

    [Fact]
    public void JsonProtocolValuesPrintAsPlainText()
    {
        var parsed = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, object?>>(
            """{"dataset":"MNIST","seeds":[1,2,3],"R":100}""")!;
        string md = ResultsMarkdown.Render(ReportSamples.Results(), parsed);
        Assert.Contains("- **dataset**: MNIST", md);
        Assert.Contains("- **seeds**: 1, 2, 3", md);
        Assert.Contains("- **R**: 100", md);
    }
}
