using ScottPlot;

namespace HashBackdoor.Experiments.Reports;

/// <summary>Bar charts of per-method results (ScottPlot 5), rendered to PNG bytes.</summary>
internal static class BarCharts
{
    /// <summary>
    /// One bar per method (in the order given) showing the mean of <paramref name="metric"/> in percent, an error bar
    /// of ± one standard deviation over runs, and the mean printed with two decimals above the error bar. Method
    /// names are the tick labels; the y axis shows 0..100 % (with headroom above 100 for the printed values).
    /// Colours follow <see cref="MethodStyle"/>.
    /// </summary>
    /// <param name="summary">Per-method means and standard deviations, in percent; at least one.</param>
    /// <param name="metric"><c>"mAP"</c> (clean queries) or <c>"tMAP"</c> (triggered queries); also accepts <c>"t-MAP"</c>, any case.</param>
    /// <param name="title">Chart title.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <returns>The PNG file's bytes.</returns>
    public static byte[] MethodBars(IReadOnlyList<MethodSummary> summary, string metric, string title, int width = 640, int height = 400)
    {
        ArgumentNullException.ThrowIfNull(summary);
        if (summary.Count == 0) throw new ArgumentException("no methods to chart", nameof(summary));
        CheckSize(width, height);
        var m = Metrics.Parse(metric);
        var colors = MethodStyle.Colors(summary.Select(s => s.Method).ToList());

        var plot = new Plot();
        ChartStyle.Apply(plot);
        var bars = new Bar[summary.Count];
        double top = 100;
        for (int i = 0; i < summary.Count; i++)
        {
            var (mean, std) = Metrics.Of(summary[i], m);
            bars[i] = new Bar
            {
                Position = i,
                Value = Finite(mean),
                Error = Finite(std),
                Size = 0.6,
                FillColor = MethodStyle.ToPlotColor(colors[i]),
                LineWidth = 0,
            };
            top = Math.Max(top, Finite(mean) + Finite(std));
        }
        plot.Add.Bars(bars);
        for (int i = 0; i < summary.Count; i++)
        {
            var (mean, std) = Metrics.Of(summary[i], m);
            var label = plot.Add.Text(ReportText.Percent(mean), i, Finite(mean) + Finite(std));
            label.LabelAlignment = Alignment.LowerCenter;
            label.LabelFontSize = 13;
            label.LabelFontName = ChartStyle.Family;
            label.LabelBold = true;
            label.LabelOffsetY = -3;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, summary.Count).Select(i => (double)i).ToArray(),
            summary.Select(s => MethodNames.Display(s.Method)).ToArray());
        plot.Axes.Left.TickGenerator = PercentTicks();
        plot.Axes.SetLimits(-0.6, summary.Count - 0.4, 0, top + 12);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Grid.XAxisStyle.IsVisible = false;
        plot.Title(title ?? "");
        plot.YLabel(Metrics.Label(m) + " (%)");
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>Major ticks at 0, 20, ..., 100 % and minor ticks every 10 %.</summary>
    internal static ScottPlot.TickGenerators.NumericManual PercentTicks()
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int v = 0; v <= 100; v += 10)
            if (v % 20 == 0) ticks.AddMajor(v, v.ToString(System.Globalization.CultureInfo.InvariantCulture));
            else ticks.AddMinor(v);
        return ticks;
    }

    internal static void CheckSize(int width, int height)
    {
        if (width < 50 || width > 8192) throw new ArgumentOutOfRangeException(nameof(width), width, "must be 50..8192 pixels");
        if (height < 50 || height > 8192) throw new ArgumentOutOfRangeException(nameof(height), height, "must be 50..8192 pixels");
    }

    static double Finite(double v) => double.IsFinite(v) ? v : 0;
}
