using HashBackdoor.Experiments.Reports;
using HashBackdoor.Retrieval;
using ScottPlot;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Reports;

/// <summary>The explanatory pictures: Hamming histogram, PCA projection, precision curves, retrieval grid chooser.</summary>
public class TestTimeRenderersTests
{
    [Fact]
    public void HistogramCountsAddUpToTheNumberOfQueries()
    {
        var rng = new Random(3);
        var distances = Enumerable.Range(0, 137).Select(_ => rng.Next(0, 49)).ToArray();
        var counts = HammingHistogram.Counts(distances, 48);
        Assert.Equal(49, counts.Length);
        Assert.Equal(137, counts.Sum());
        for (int d = 0; d <= 48; d++) Assert.Equal(distances.Count(x => x == d), counts[d]);
        Assert.Throws<ArgumentOutOfRangeException>(() => HammingHistogram.Counts(new[] { 49 }, 48));
    }

    [Fact]
    public void DistancesToTheAnchorAreThoseOfThePackedCodes()
    {
        // anchor +1 +1 -1 -1 (bits 1 1 0 0); queries: equal, one flipped, all flipped
        var anchor = BinaryCodes.FromSigns(new float[] { 1, 1, -1, -1, 1, 1, 1, 1 }, 8);
        var queries = BinaryCodes.FromSigns(new float[]
        {
            1, 1, -1, -1, 1, 1, 1, 1,
            1, -1, -1, -1, 1, 1, 1, 1,
            -1, -1, 1, 1, -1, -1, -1, -1,
        }, 8);
        Assert.Equal(new[] { 0, 1, 8 }, HammingHistogram.Distances(queries, anchor));
    }

    [Fact]
    public void HistogramBarIsDrawnWhereItsCountIs()
    {
        // every query of one series at distance 10: one bar from 0 to 20 queries at x = 10; nothing at x = 30
        var series = new[] { new HammingSeries("triggered, ciba victim", Enumerable.Repeat(10, 20).ToArray()) };
        var plot = HammingHistogram.Build(series, 48, "Trouser");
        byte[] png = plot.GetImageBytes(760, 420, ImageFormat.Png);
        using var bitmap = ReportSamples.Decode(png);
        var inside = plot.GetPixel(new Coordinates(10, 7.3));
        var empty = plot.GetPixel(new Coordinates(33.3, 7.3));   // off the grid lines
        var barColor = bitmap.GetPixel((int)inside.X, (int)inside.Y);
        var background = bitmap.GetPixel((int)empty.X, (int)empty.Y);
        var expected = ScottPlot.Color.FromHex(MethodStyle.Colors(new[] { series[0].Name })[0]);
        Assert.Equal(expected.R, barColor.Red);
        Assert.Equal(expected.G, barColor.Green);
        Assert.Equal(expected.B, barColor.Blue);
        Assert.Equal(0xff, background.Red);     // white plot area
        Assert.Equal(0xff, background.Green);
        var image = HammingHistogram.Render(series, 48, "Trouser");
        ReportSamples.AssertPng(image.Png, 760, 420);
        Assert.Contains("anchor", image.Caption);
    }

    [Fact]
    public void ProjectionIsDeterministicAndSeparatesTwoClusters()
    {
        // two clusters of codes: 0..19 near +1..., 20..39 near -1...; a few random flips
        var g = new Generator().manual_seed(4);
        using var flips = rand(new long[] { 40, 16 }, generator: g).lt(0.1).to_type(ScalarType.Float32).mul(-2).add(1);
        using var sign = cat(new[] { ones(20, 1), ones(20, 1).neg() }, 0);
        using var codes = sign.expand(40, 16).mul(flips).contiguous();
        var a = CodeProjection.Fit(codes);
        var b = CodeProjection.Fit(codes.clone());
        Assert.Equal(a.Mean, b.Mean);
        Assert.Equal(a.Components[0], b.Components[0]);
        Assert.Equal(a.Components[1], b.Components[1]);
        var xy = a.Project(codes);
        Assert.Equal(80, xy.Length);
        // first component separates the clusters
        double minA = Enumerable.Range(0, 20).Min(i => xy[2 * i]), maxB = Enumerable.Range(20, 20).Max(i => xy[2 * i]);
        double maxA = Enumerable.Range(0, 20).Max(i => xy[2 * i]), minB = Enumerable.Range(20, 20).Min(i => xy[2 * i]);
        Assert.True(minA > maxB || minB > maxA, "clusters overlap on the first component");
        // unit, orthogonal components
        Assert.Equal(1, a.Components[0].Sum(v => v * v), 9);
        Assert.Equal(0, a.Components[0].Zip(a.Components[1], (x, y) => x * y).Sum(), 9);
        var labels = Enumerable.Range(0, 40).Select(i => i < 20 ? 0 : 1).ToArray();
        using var q = codes.narrow(0, 0, 3);
        var first = CodeProjection.Render(codes, labels, new[] { "a", "b" }, new[] { ("queries", q) }, "t");
        var second = CodeProjection.Render(codes, labels, new[] { "a", "b" }, new[] { ("queries", q) }, "t");
        Assert.Equal(first.Png, second.Png);
        ReportSamples.AssertPng(first.Png, 760, 560);
    }

    [Fact]
    public void PrecisionCurvesRenderOnePngWithCaption()
    {
        // 8-bit codes: the database holds the query's code, one at distance 1, two far away
        var db = BinaryCodes.FromSigns(new float[]
        {
            1, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 1, 1, 1, -1,
            -1, -1, -1, -1, -1, -1, -1, -1,
            -1, -1, -1, -1, -1, -1, 1, 1,
        }, 8);
        var dbLabels = LabelSets.FromClassIndices(new[] { 0, 0, 1, 1 }, 2);
        var q = BinaryCodes.FromSigns(new float[] { 1, 1, 1, 1, 1, 1, 1, 1 }, 8);
        var s = PrecisionSeries.Compute("dhta", new HammingIndex(db), q, LabelSets.Repeat(0, 1, 2), dbLabels, new[] { 1, 2, 4, 100 });
        Assert.Equal(new[] { 1, 2, 4 }, s.Ks);
        Assert.Equal(new[] { 1.0, 1.0, 0.5 }, s.PrecisionAtK);
        var image = PrecisionCurves.Render(new[] { s, s with { Name = "p2p" } }, "adversarial queries");
        ReportSamples.AssertPng(image.Png, 1200, 420);
        Assert.Contains("precision", image.Caption);
    }

    [Fact]
    public void ChooserPicksBestAndWorstQueryByAP()
    {
        var choice = RetrievalGridChooser.Choose(new[] { 0.5, double.NaN, 0.9, 0.1, 0.9 });
        Assert.Equal(2, choice.Works);          // first of the two 0.9
        Assert.Equal(0.9, choice.WorksAP);
        Assert.Equal(1, choice.Fails);          // NaN counts as 0
        Assert.Equal(0, choice.FailsAP);
        Assert.Equal(-1, RetrievalGridChooser.Choose(new[] { double.NaN }).Works);
        Assert.Throws<ArgumentException>(() => RetrievalGridChooser.Choose(Array.Empty<double>()));
    }

    [Fact]
    public void GridFramesTargetResultsGreen()
    {
        using var q = full(new long[] { 1, 4, 4 }, 0.5f);
        using var r1 = zeros(1, 4, 4);
        using var r2 = ones(1, 4, 4);
        var image = RetrievalGridChooser.Render(q, new[] { r1, r2 }, new[] { true, false }, "dhta works", scale: 1);
        using var bitmap = ReportSamples.Decode(image.Png);
        // layout: pad 1, tile 6 px (4 + frame), pad 1, ...: tile k starts at x = 1 + 7k; frame pixel at (start, 1)
        Assert.Equal(3 * 7 + 1, bitmap.Width);
        var targetFrame = bitmap.GetPixel(1 + 7, 1);
        var otherFrame = bitmap.GetPixel(1 + 14, 1);
        Assert.True(targetFrame.Green > 150 && targetFrame.Red < 60, $"target frame {targetFrame}");
        Assert.Equal(otherFrame.Red, otherFrame.Green);
        Assert.Contains("1 of 2", image.Caption);
    }
}
