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

    /// <summary>Rows (top to bottom) of each column whose pixel has exactly the colour <paramref name="hex"/>.</summary>
    private static Dictionary<int, List<int>> ColumnsOf(SkiaSharp.SKBitmap bmp, string hex)
    {
        var want = SkiaSharp.SKColor.Parse(hex);
        var cols = new Dictionary<int, List<int>>();
        for (int x = 0; x < bmp.Width; x++)
            for (int y = 0; y < bmp.Height; y++)
            {
                var c = bmp.GetPixel(x, y);
                if (c.Red == want.Red && c.Green == want.Green && c.Blue == want.Blue)
                    (cols.TryGetValue(x, out var l) ? l : cols[x] = new List<int>()).Add(y);
            }
        return cols;
    }

    [Fact]
    public void BarsStandWhereTheirValuesSay()
    {
        // tri 20 %, ciba 80 %, no spread: each bar is a solid block of its method's colour, tri's on the left, both
        // standing on the same baseline, ciba's four times as tall (to within the rounding of two pixel edges).
        var summary = new[]
        {
            new HashBackdoor.Experiments.MethodSummary { Method = "tri", Map = 20, Runs = 1 },
            new HashBackdoor.Experiments.MethodSummary { Method = "ciba", Map = 80, Runs = 1 },
        };
        using var bmp = SkiaSharp.SKBitmap.Decode(BarCharts.MethodBars(summary, "mAP", "bars"));
        var tri = ColumnsOf(bmp, "#1f77b4");
        var ciba = ColumnsOf(bmp, "#d62728");
        Assert.NotEmpty(tri);
        Assert.NotEmpty(ciba);
        Assert.True(tri.Keys.Max() < ciba.Keys.Min(), "tri's bar must be left of ciba's");
        // Solid blocks: every column of a bar has the same contiguous run of rows.
        int Height(Dictionary<int, List<int>> cols, out int bottom)
        {
            int mid = cols.Keys.OrderBy(k => k).ElementAt(cols.Count / 2);
            var rows = cols[mid];
            Assert.Equal(rows.Count, rows.Max() - rows.Min() + 1);
            bottom = rows.Max();
            return rows.Count;
        }
        int hTri = Height(tri, out int bTri), hCiba = Height(ciba, out int bCiba);
        Assert.InRange(bTri - bCiba, -1, 1);
        Assert.InRange(hCiba, 4 * hTri - 4, 4 * hTri + 4);
        // The bars are equally wide (size 0.6 of a slot) and take a sensible share of the 640 px width.
        Assert.InRange(tri.Count - ciba.Count, -1, 1);
        Assert.InRange(tri.Count, 60, 320);
        // Nothing else in the picture has the bars' colours: between the bars there is none.
        Assert.DoesNotContain(Enumerable.Range(tri.Keys.Max() + 1, ciba.Keys.Min() - tri.Keys.Max() - 1), x => tri.ContainsKey(x) || ciba.ContainsKey(x));
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
