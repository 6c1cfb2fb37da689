using HashBackdoor.Retrieval;
using ScottPlot;

namespace HashBackdoor.Experiments.Reports;

/// <summary>One set of queries for <see cref="HammingHistogram"/>: a name (for example "clean queries",
/// "triggered, clean model", "triggered, ciba victim"), each query's Hamming distance to the anchor code, and its bar
/// colour (<c>#rrggbb</c>; null: <see cref="MethodStyle"/> by name).</summary>
internal sealed record HammingSeries(string Name, IReadOnlyList<int> Distances, string? Color = null);

/// <summary>
/// Histogram of Hamming distances from query codes to the target's anchor code, one bar colour per series, bars of the
/// series side by side at each distance 0..K. Shows why a run came out as it did: a backdoor works when its
/// triggered queries' codes sit near the anchor (left) while clean queries sit near K/2.
/// </summary>
internal static class HammingHistogram
{
    /// <summary>Distance of each query code to the anchor, using the packed codes retrieval ranks with (a tied, 0,
    /// anchor component is packed as bit 0, as <see cref="BinaryCodes.FromSigns(ReadOnlySpan{float}, int)"/> does).</summary>
    /// <param name="queries">Query codes.</param>
    /// <param name="anchor">One code (row 0 is used), of the same length.</param>
    public static int[] Distances(BinaryCodes queries, BinaryCodes anchor)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(anchor);
        if (queries.Bits != anchor.Bits) throw new ArgumentException($"query codes have {queries.Bits} bits, the anchor {anchor.Bits}");
        if (anchor.Count < 1) throw new ArgumentException("no anchor code", nameof(anchor));
        var d = new int[queries.Count];
        for (int i = 0; i < d.Length; i++) d[i] = queries.HammingDistance(i, anchor, 0);
        return d;
    }

    /// <summary>Number of queries at each distance 0..<paramref name="bits"/> (length bits + 1; sums to the number of
    /// distances).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A distance outside 0..bits.</exception>
    public static int[] Counts(IReadOnlyList<int> distances, int bits)
    {
        ArgumentNullException.ThrowIfNull(distances);
        if (bits < 1) throw new ArgumentOutOfRangeException(nameof(bits), bits, "must be at least 1");
        var counts = new int[bits + 1];
        foreach (int d in distances)
        {
            if (d < 0 || d > bits) throw new ArgumentOutOfRangeException(nameof(distances), d, $"a Hamming distance must lie in 0..{bits}");
            counts[d]++;
        }
        return counts;
    }

    /// <summary>The histogram as PNG with its caption.</summary>
    /// <param name="series">At least one series; colours as given, else following <see cref="MethodStyle"/> by series name.</param>
    /// <param name="bits">Code length K (the x axis runs 0..K).</param>
    /// <param name="targetName">Name of the target class, for the title and caption.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="reference">What the distances are measured to, for the title, axis and caption (default "the anchor
    /// code"; for example "the target code of the model queried").</param>
    public static CaptionedImage Render(IReadOnlyList<HammingSeries> series, int bits, string targetName, int width = 760, int height = 420,
        string reference = "the anchor code")
    {
        var plot = Build(series, bits, targetName, reference);
        BarCharts.CheckSize(width, height);
        return new CaptionedImage(plot.GetImageBytes(width, height, ImageFormat.Png),
            $"Hamming distance from each query's code to {reference} of target {targetName} (K = {bits}), queries per distance: "
            + "bars near 0 mean codes that retrieve the target class; clean queries sit near K/2, and an attack works where its bars move left.");
    }

    /// <summary>The plot before rendering (tests locate bars through it).</summary>
    internal static Plot Build(IReadOnlyList<HammingSeries> series, int bits, string targetName, string reference = "the anchor code")
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException("no series to draw", nameof(series));
        var colors = MethodStyle.Colors(series.Select(s => s.Name).ToList());
        var plot = new Plot();
        double width = 0.8 / series.Count;
        int top = 1;
        for (int s = 0; s < series.Count; s++)
        {
            var counts = Counts(series[s].Distances, bits);
            top = Math.Max(top, counts.Max());
            var color = MethodStyle.ToPlotColor(series[s].Color ?? colors[s]);
            var bars = new List<Bar>();
            for (int d = 0; d <= bits; d++)
            {
                if (counts[d] == 0) continue;
                bars.Add(new Bar { Position = d + (s - (series.Count - 1) / 2.0) * width, Value = counts[d], Size = width, FillColor = color, LineWidth = 0 });
            }
            var added = plot.Add.Bars(bars);
            added.LegendText = $"{series[s].Name} ({series[s].Distances.Count})";
            added.Color = color;
        }
        plot.Axes.SetLimits(-1, bits + 1, 0, top * 1.08);
        plot.Title($"Hamming distance to {reference} of {targetName}");
        plot.XLabel($"Hamming distance to {reference}");
        plot.YLabel("queries");
        plot.ShowLegend(Edge.Right);
        ChartStyle.Apply(plot);
        return plot;
    }
}
