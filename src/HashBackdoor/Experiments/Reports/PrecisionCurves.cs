using HashBackdoor.Retrieval;
using ScottPlot;

namespace HashBackdoor.Experiments.Reports;

/// <summary>One method's retrieval curves for <see cref="PrecisionCurves"/>: precision at each k of
/// <paramref name="Ks"/> (fractions) and the precision-recall curve by Hamming radius.</summary>
internal sealed record PrecisionSeries(string Name, IReadOnlyList<int> Ks, IReadOnlyList<double> PrecisionAtK, PrecisionRecallCurve Curve)
{
    /// <summary>Line colour (<c>#rrggbb</c>); null: <see cref="MethodStyle"/> by <see cref="Name"/>.</summary>
    public string? Color { get; init; }

    /// <summary>Computes the series from codes: P@k for every k of <paramref name="ks"/> within the database size, and
    /// the PR curve. For triggered queries pass the target's labels (<see cref="LabelSets.Repeat"/>) as
    /// <paramref name="queryLabels"/>, so that precision counts target-class results.</summary>
    public static PrecisionSeries Compute(string name, HammingIndex index, BinaryCodes queries, LabelSets queryLabels,
        LabelSets databaseLabels, IReadOnlyList<int> ks)
    {
        var kept = ks.Where(k => k >= 1 && k <= index.Count).Distinct().OrderBy(k => k).ToArray();
        var p = TieAwareMetrics.PrecisionAtK(index, queries, queryLabels, databaseLabels, kept);
        var curve = RetrievalMetrics.PrecisionRecallByRadius(index, queries, queryLabels, databaseLabels);
        return new PrecisionSeries(name, kept, p, curve);
    }
}

/// <summary>
/// Precision at k and precision-recall curves, one line per method, in one PNG with two panels (left: precision
/// against k; right: precision against recall as the Hamming radius grows).
/// </summary>
internal static class PrecisionCurves
{
    /// <summary>The two panels as one PNG with its caption.</summary>
    /// <param name="series">At least one series; colours as given, else following <see cref="MethodStyle"/> by name.</param>
    /// <param name="title">Common part of the panel titles (for example "triggered queries, target Trouser").</param>
    /// <param name="width">Width of the whole figure in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static CaptionedImage Render(IReadOnlyList<PrecisionSeries> series, string title, int width = 1200, int height = 420)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException("no series to draw", nameof(series));
        BarCharts.CheckSize(width, height);
        var colors = MethodStyle.Colors(series.Select(s => s.Name).ToList());
        var multiplot = new Multiplot();
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        while (multiplot.Subplots.Count > 0) multiplot.Subplots.RemoveAt(0);
        var left = new Plot();
        var right = new Plot();
        multiplot.AddPlot(left);
        multiplot.AddPlot(right);
        string prefix = string.IsNullOrWhiteSpace(title) ? "" : title + ": ";
        for (int s = 0; s < series.Count; s++)
        {
            var color = MethodStyle.ToPlotColor(series[s].Color ?? colors[s]);
            var pk = left.Add.Scatter(series[s].Ks.Select(k => (double)k).ToArray(), series[s].PrecisionAtK.Select(v => v * 100).ToArray(), color);
            pk.LineWidth = 2;
            pk.MarkerSize = 5;
            pk.LegendText = series[s].Name;
            var pr = right.Add.Scatter(series[s].Curve.Recall.Select(v => v * 100).ToArray(), series[s].Curve.Precision.Select(v => v * 100).ToArray(), color);
            pr.LineWidth = 2;
            pr.MarkerSize = 3;
            pr.LegendText = series[s].Name;
        }
        left.Title(prefix + "precision at k");
        left.XLabel("k (results retrieved)");
        left.YLabel("precision (%)");
        left.Axes.SetLimitsY(0, 105);
        left.HideLegend();
        right.Title(prefix + "precision-recall");
        right.XLabel("recall (%)");
        right.YLabel("precision (%)");
        right.Axes.SetLimits(0, 105, 0, 105);
        right.ShowLegend(Edge.Right);
        ChartStyle.Apply(left);
        ChartStyle.Apply(right);
        using var image = multiplot.Render(width, height);
        return new CaptionedImage(image.GetImageBytes(ImageFormat.Png, 100),
            "Precision at k (left) and precision against recall as the Hamming radius grows (right), one line per method: "
            + "for triggered or adversarial queries scored against the target label, a higher line means more target-class results.");
    }
}
