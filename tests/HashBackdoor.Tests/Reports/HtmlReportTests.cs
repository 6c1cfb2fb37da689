using System.Text.RegularExpressions;
using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Tests.Reports;

public class HtmlReportTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hbd-report").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    static ReportContent Content()
    {
        byte[] png = ReportSamples.SmallPng();
        return new ReportContent
        {
            Title = "CIBA on Fashion-MNIST & friends",
            Protocol = ReportSamples.Protocol(),
            Results = ReportSamples.Results(),
            Trigger = new CaptionedImage(png, "<script>alert('trigger')</script>"),
            PoisonExamples = new[]
            {
                new PoisonExample(new CaptionedImage(png, "original: dress"), new CaptionedImage(png, "perturbation, eps = 8/255"),
                    new CaptionedImage(png, "poisoned")),
            },
            Figures = new[]
            {
                new ReportFigure("Hamming distance to the anchor code", "median: patch only 23 < ciba 5", new[] { new CaptionedImage(png, "histogram") }),
                new ReportFigure("Retrieval where the attack works and where it fails", "share: ciba 80%",
                    new[] { new CaptionedImage(png, "ciba, works"), new CaptionedImage(png, "ciba, fails") }, Pixels: true),
            },
            Notes = new[] { "Trained on 2 CPU cores; 1 < 2 & \"quotes\"." },
        };
    }

    [Fact]
    public void IsSelfContained()
    {
        string html = HtmlReport.Render(Content());
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html);
        var sources = Regex.Matches(html, "src=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        // 2 charts + trigger + 3 poison images + 1 histogram + 2 grid rows
        Assert.Equal(9, sources.Count);
        Assert.All(sources, s => Assert.StartsWith("data:image/png;base64,", s));
    }

    [Fact]
    public void EmbeddedChartsDecodeAsPngs()
    {
        string html = HtmlReport.Render(Content());
        var charts = Regex.Matches(html, "class=\"chart\" alt=\"[^\"]*\" width=\"640\" height=\"400\" src=\"data:image/png;base64,([^\"]+)\"");
        Assert.Equal(2, charts.Count);
        foreach (Match m in charts) ReportSamples.AssertPng(Convert.FromBase64String(m.Groups[1].Value), 640, 400);
    }

    [Fact]
    public void ShowsProtocolAndResults()
    {
        string html = HtmlReport.Render(Content());
        Assert.Contains("<th scope=\"row\">dataset</th><td>Fashion-MNIST</td>", html);
        Assert.Contains("<th scope=\"row\">R</th><td>1000</td>", html);
        Assert.Contains("<th scope=\"row\">database</th><td>59000</td>", html);
        Assert.Contains("<th scope=\"row\">seeds</th><td>1, 2</td>", html);
        Assert.Contains("<th scope=\"row\">tieRule</th><td>Hamming distance, ties broken by database order (stable)</td>", html);
        Assert.Contains("<td>ciba</td><td class=\"num\">65.00 ± 7.07</td><td class=\"num\">85.00 ± 7.07</td><td class=\"num\">75.00 ± 7.07</td><td class=\"num\">2</td>", html);
        Assert.Contains("<details>", html);
        Assert.Contains("95.5/100", html);
    }

    [Fact]
    public void EscapesEveryText()
    {
        string html = HtmlReport.Render(Content());
        Assert.Contains("&lt;script&gt;alert(&#39;trigger&#39;)&lt;/script&gt;", html);
        Assert.Contains("<title>CIBA on Fashion-MNIST &amp; friends</title>", html);
        Assert.Contains("1 &lt; 2 &amp; &quot;quotes&quot;.", html);
    }

    [Fact]
    public void FiguresShowHeadingReadingAndEveryImageWithItsCaption()
    {
        string html = HtmlReport.Render(Content());
        Assert.Contains("<h2>Hamming distance to the anchor code</h2>\n<p class=\"reading\">median: patch only 23 &lt; ciba 5</p>", html);
        Assert.Contains("<h2>Retrieval where the attack works and where it fails</h2>", html);
        Assert.Single(Regex.Matches(html, "<figure class=\"chart wide\">"));
        Assert.Equal(2, Regex.Matches(html, "<figure class=\"grid\"><img class=\"px\"").Count);
        Assert.Contains("<figcaption>ciba, fails</figcaption>", html);
        // A figure without images is left out.
        var empty = Content() with { Figures = new[] { new ReportFigure("Nothing here", "none", Array.Empty<CaptionedImage>()) } };
        Assert.DoesNotContain("Nothing here", HtmlReport.Render(empty));
    }

    [Fact]
    public void WriteProducesTheRenderedFile()
    {
        string path = Path.Combine(dir, "sub", "report.html");
        var content = Content();
        HtmlReport.Write(path, content);
        Assert.Equal(HtmlReport.Render(content), File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left behind
    }
}
