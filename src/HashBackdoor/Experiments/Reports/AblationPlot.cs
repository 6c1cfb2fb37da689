using System.Globalization;
using System.Text;
using ScottPlot;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// Charts and tables of an ablation: one metric against a varied setting (e.g. the perturbation budget or the
/// poisoning rate), one line per method with ± one standard deviation error bars over runs.
/// </summary>
/// <remarks>
/// The x axis is numeric when every varied value parses as a finite number (invariant culture, e.g. "0.05", "8"):
/// points sit at their values on a linear axis. Otherwise the values are categories at positions 0, 1, 2, ... in the
/// order given, labelled with the values, and the methods are shifted slightly sideways so their error bars do not
/// hide each other. Methods are drawn in order of first appearance, coloured as in <see cref="MethodStyle"/>; a
/// method missing at some value is simply absent there.
/// </remarks>
internal static class AblationPlot
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Line plot of <paramref name="metric"/> against the varied value, as PNG bytes.</summary>
    /// <param name="variedName">Name of the varied setting (x axis label), e.g. "eps".</param>
    /// <param name="points">The ablation points, in the order to show categorical values; at least one.</param>
    /// <param name="metric"><c>"tMAP"</c> or <c>"mAP"</c> (see <see cref="Metrics.Parse"/>).</param>
    /// <param name="title">Chart title.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    public static byte[] Render(string variedName, IReadOnlyList<AblationPoint> points, string metric, string title,
        int width = 640, int height = 400)
    {
        Check(points);
        BarCharts.CheckSize(width, height);
        var plot = new Plot();
        Build(plot, variedName, points, Metrics.Parse(metric), title, legend: true);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>
    /// One PNG with two panels side by side: t-MAP against the varied value on the left, mAP on the right, titled
    /// "<paramref name="title"/>: t-MAP" and "<paramref name="title"/>: mAP". The legend is drawn once, to the right
    /// of the right panel.
    /// </summary>
    /// <param name="variedName">Name of the varied setting (x axis label).</param>
    /// <param name="points">The ablation points; at least one.</param>
    /// <param name="title">Common part of the panel titles (may be empty).</param>
    /// <param name="width">Width of the whole figure in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] RenderBoth(string variedName, IReadOnlyList<AblationPoint> points, string title,
        int width = 1200, int height = 420)
    {
        Check(points);
        BarCharts.CheckSize(width, height);
        var multiplot = new Multiplot();
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        while (multiplot.Subplots.Count > 0) multiplot.Subplots.RemoveAt(0);
        var left = new Plot();
        var right = new Plot();
        // added before they are built: adding a plot may copy the first plot's style onto it
        multiplot.AddPlot(left);
        multiplot.AddPlot(right);
        string prefix = string.IsNullOrWhiteSpace(title) ? "" : title + ": ";
        Build(left, variedName, points, Metric.TMap, prefix + Metrics.Label(Metric.TMap), legend: false);
        Build(right, variedName, points, Metric.Map, prefix + Metrics.Label(Metric.Map), legend: true);
        using var image = multiplot.Render(width, height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }

    /// <summary>
    /// Markdown table of every point and method: columns <paramref name="variedName"/>, Method, t-MAP (%) and
    /// mAP (%) as "mean ± std" with two decimals, and Runs.
    /// </summary>
    public static string MarkdownTable(string variedName, IReadOnlyList<AblationPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var sb = new StringBuilder();
        sb.Append("| ").Append(ReportText.MarkdownCell(variedName ?? "value")).Append(" | Method | t-MAP (%) | mAP (%) | Runs |\n");
        sb.Append("|---|---|---:|---:|---:|\n");
        foreach (var p in points)
            foreach (var s in p.Summary ?? Array.Empty<MethodSummary>())
                sb.Append("| ").Append(ReportText.MarkdownCell(p.Value ?? ""))
                  .Append(" | ").Append(ReportText.MarkdownCell(MethodNames.Display(s.Method)))
                  .Append(" | ").Append(ReportText.MeanStd(s.TMap, s.TMapStd))
                  .Append(" | ").Append(ReportText.MeanStd(s.Map, s.MapStd))
                  .Append(" | ").Append(s.Runs.ToString(Inv)).Append(" |\n");
        return sb.ToString();
    }

    static void Check(IReadOnlyList<AblationPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0) throw new ArgumentException("no ablation points", nameof(points));
    }

    /// <summary>The x positions of the points and whether they are numeric values (else categorical indices).</summary>
    static (double[] Xs, bool Numeric) Positions(IReadOnlyList<AblationPoint> points)
    {
        var xs = new double[points.Count];
        for (int i = 0; i < points.Count; i++)
        {
            if (!double.TryParse(points[i].Value, NumberStyles.Float, Inv, out xs[i]) || !double.IsFinite(xs[i]))
                return (Enumerable.Range(0, points.Count).Select(k => (double)k).ToArray(), false);
        }
        return (xs, true);
    }

    static void Build(Plot plot, string variedName, IReadOnlyList<AblationPoint> points, Metric metric, string title, bool legend)
    {
        var (xs, numeric) = Positions(points);
        var methods = points.SelectMany(p => p.Summary ?? Array.Empty<MethodSummary>()).Select(s => s.Method).Distinct().ToList();
        var colors = MethodStyle.Colors(methods);
        double top = 100;
        for (int k = 0; k < methods.Count; k++)
        {
            double dodge = numeric || methods.Count < 2 ? 0 : (k - (methods.Count - 1) / 2.0) * Math.Min(0.3 / methods.Count, 0.06);
            var mx = new List<double>();
            var my = new List<double>();
            var me = new List<double>();
            for (int i = 0; i < points.Count; i++)
            {
                var s = points[i].Summary?.FirstOrDefault(x => x.Method == methods[k]);
                if (s is null) continue;
                var (mean, std) = Metrics.Of(s, metric);
                if (!double.IsFinite(mean)) continue;
                mx.Add(xs[i] + dodge);
                my.Add(mean);
                me.Add(double.IsFinite(std) ? std : 0);
                top = Math.Max(top, mean + me[^1]);
            }
            if (mx.Count == 0) continue;
            var color = MethodStyle.ToPlotColor(colors[k]);
            if (numeric)
            {
                // a line goes through the values in increasing order
                var order = Enumerable.Range(0, mx.Count).OrderBy(i => mx[i]).ToArray();
                mx = order.Select(i => mx[i]).ToList();
                my = order.Select(i => my[i]).ToList();
                me = order.Select(i => me[i]).ToList();
            }
            var line = plot.Add.Scatter(mx.ToArray(), my.ToArray(), color);
            line.LegendText = MethodNames.Display(methods[k]);
            line.LineWidth = 2;
            line.MarkerSize = 7;
            var err = plot.Add.ErrorBar(mx, my, me);
            err.Color = color;
            err.LineWidth = 1.5f;
            err.CapSize = 5;
        }

        if (numeric)
        {
            double min = xs.Min(), max = xs.Max(), span = max - min;
            if (span == 0) span = Math.Abs(max) > 0 ? Math.Abs(max) : 1;
            plot.Axes.SetLimitsX(min - 0.08 * span, max + 0.08 * span);
        }
        else
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs, points.Select(p => p.Value ?? "").ToArray());
            plot.Axes.SetLimitsX(-0.5, points.Count - 0.5);
        }
        plot.Axes.Left.TickGenerator = BarCharts.PercentTicks();
        plot.Axes.SetLimitsY(0, top + 5);
        plot.Title(title ?? "");
        plot.XLabel(variedName ?? "");
        plot.YLabel(Metrics.Label(metric) + " (%)");
        if (legend && methods.Count > 0) plot.ShowLegend(Edge.Right);
        else plot.HideLegend();
        ChartStyle.Apply(plot);
    }
}
