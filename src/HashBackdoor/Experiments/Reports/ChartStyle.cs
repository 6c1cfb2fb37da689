using ScottPlot;

namespace HashBackdoor.Experiments.Reports;

/// <summary>Common look of the report charts: a sans-serif font (the first installed of a few common ones).</summary>
internal static class ChartStyle
{
    static readonly string[] Candidates = { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans" };

    static readonly Lazy<string> LazyFamily = new(() =>
        Candidates.FirstOrDefault(Installed) ?? Fonts.Sans);

    static bool Installed(string family)
    {
        var typeface = Fonts.GetTypeface(family, false, false);
        return typeface != null && string.Equals(typeface.FamilyName, family, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The sans-serif font family used by the charts.</summary>
    public static string Family => LazyFamily.Value;

    /// <summary>
    /// Sets the font of the plot's title, axis labels, tick labels and legend to the sans-serif family. Call it
    /// after the axes are configured; text plottables take <see cref="Family"/> themselves. (Plot.Font.Set is not
    /// used: it also changes the process-wide default font and disposes a typeface ScottPlot keeps cached.)
    /// </summary>
    public static void Apply(Plot plot)
    {
        string family = Family;
        plot.Axes.Title.Label.FontName = family;
        foreach (IAxis axis in plot.Axes.GetAxes())
        {
            axis.Label.FontName = family;
            axis.TickLabelStyle.FontName = family;
        }
        plot.Legend.FontName = family;
    }
}
