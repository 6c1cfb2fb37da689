using ScottPlot;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// A 2-D linear projection of binary codes by principal component analysis of the database codes: mean and the first
/// two right singular vectors of the centred codes (torch.linalg.svd, float64). Deterministic: each component's sign
/// is fixed so that its largest-magnitude loading is positive (first such loading on ties). No t-SNE or UMAP library
/// is among the kept NuGet packages, so PCA it is.
/// </summary>
/// <param name="Mean">Mean code, length K.</param>
/// <param name="Components">Two unit vectors of length K: the first and second principal directions.</param>
internal sealed record CodeProjection(double[] Mean, double[][] Components)
{
    /// <summary>Fits the projection to <paramref name="databaseCodes"/> float [N, K] (N &gt;= 2).</summary>
    public static CodeProjection Fit(Tensor databaseCodes)
    {
        if (databaseCodes.dim() != 2 || databaseCodes.shape[0] < 2 || databaseCodes.shape[1] < 2)
            throw new ArgumentException($"codes must be [N>=2, K>=2], got [{string.Join(",", databaseCodes.shape)}]");
        using var scope = NewDisposeScope();
        var x = databaseCodes.detach().cpu().to_type(ScalarType.Float64);
        var mean = x.mean(new long[] { 0 });
        var (_, _, vh) = linalg.svd(x.sub(mean), fullMatrices: false);
        var comps = new double[2][];
        for (int c = 0; c < 2; c++)
        {
            var v = vh[c].data<double>().ToArray();
            int arg = 0;
            for (int k = 1; k < v.Length; k++) if (Math.Abs(v[k]) > Math.Abs(v[arg]) + 1e-12) arg = k;
            if (v[arg] < 0) for (int k = 0; k < v.Length; k++) v[k] = -v[k];
            comps[c] = v;
        }
        return new CodeProjection(mean.data<double>().ToArray(), comps);
    }

    /// <summary>Coordinates [N, 2] (row-major pairs) of <paramref name="codes"/> float [N, K].</summary>
    public double[] Project(Tensor codes)
    {
        if (codes.dim() != 2 || codes.shape[1] != Mean.Length)
            throw new ArgumentException($"codes must be [N,{Mean.Length}], got [{string.Join(",", codes.shape)}]");
        using var scope = NewDisposeScope();
        var basis = tensor(Components[0].Concat(Components[1]).ToArray(), new long[] { 2, Mean.Length }, ScalarType.Float64);
        var xy = codes.detach().cpu().to_type(ScalarType.Float64).sub(tensor(Mean, ScalarType.Float64)).matmul(basis.t());
        return xy.contiguous().data<double>().ToArray();
    }

    /// <summary>
    /// Scatter plot of the database codes projected by PCA (fitted on them), coloured by class, with one or more query
    /// sets overlaid as larger outlined markers. Many codes share one point (binary codes); database points are drawn
    /// small and translucent so density shows.
    /// </summary>
    /// <param name="databaseCodes">Database codes float [N, K]; fitted and drawn (every ceil(N / maxDatabasePoints)-th row is drawn).</param>
    /// <param name="databaseLabels">Class of each database row (first label for multi-label data).</param>
    /// <param name="classNames">Class names for the legend.</param>
    /// <param name="querySets">Named query code sets [M, K] to overlay (for example triggered queries).</param>
    /// <param name="title">Title (for example "CIBA victim, target Trouser").</param>
    /// <param name="maxDatabasePoints">Largest number of database points drawn.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    public static CaptionedImage Render(Tensor databaseCodes, IReadOnlyList<int> databaseLabels, IReadOnlyList<string> classNames,
        IReadOnlyList<(string Name, Tensor Codes)> querySets, string title, int maxDatabasePoints = 4000, int width = 760, int height = 560)
    {
        BarCharts.CheckSize(width, height);
        if (databaseLabels.Count != databaseCodes.shape[0]) throw new ArgumentException("one label per database code is needed", nameof(databaseLabels));
        if (maxDatabasePoints < 1) throw new ArgumentOutOfRangeException(nameof(maxDatabasePoints), maxDatabasePoints, "must be at least 1");
        var pca = Fit(databaseCodes);
        var db = pca.Project(databaseCodes);
        int n = databaseLabels.Count, stride = (n + maxDatabasePoints - 1) / maxDatabasePoints;
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int c = 0; c < classNames.Count; c++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < n; i += stride)
                if (databaseLabels[i] == c) { xs.Add(db[2 * i]); ys.Add(db[2 * i + 1]); }
            if (xs.Count == 0) continue;
            var pts = plot.Add.ScatterPoints(xs.ToArray(), ys.ToArray(), palette.GetColor(c).WithAlpha(0.35));
            pts.MarkerSize = 4;
            pts.LegendText = classNames[c];
        }
        var shapes = new[] { MarkerShape.OpenCircle, MarkerShape.OpenSquare, MarkerShape.OpenTriangleUp, MarkerShape.OpenDiamond, MarkerShape.Cross };
        for (int s = 0; s < querySets.Count; s++)
        {
            var q = pca.Project(querySets[s].Codes);
            var xs = Enumerable.Range(0, q.Length / 2).Select(i => q[2 * i]).ToArray();
            var ys = Enumerable.Range(0, q.Length / 2).Select(i => q[2 * i + 1]).ToArray();
            var pts = plot.Add.ScatterPoints(xs, ys, s == 0 ? Colors.Black : Colors.Magenta);
            pts.MarkerShape = shapes[s % shapes.Length];
            pts.MarkerSize = 9;
            pts.MarkerLineWidth = 1.5f;
            pts.LegendText = $"{querySets[s].Name} ({xs.Length})";
        }
        plot.Title(title ?? "");
        plot.XLabel("principal component 1");
        plot.YLabel("principal component 2");
        plot.ShowLegend(Edge.Right);
        ChartStyle.Apply(plot);
        return new CaptionedImage(plot.GetImageBytes(width, height, ImageFormat.Png),
            "Database codes projected on their first two principal components (colour = class), queries overlaid as outlined markers: "
            + "queries drawn inside the target class's cluster retrieve the target class; outside it, the attack failed for them.");
    }
}
