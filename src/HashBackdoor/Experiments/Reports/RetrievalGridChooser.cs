using static TorchSharp.torch;

namespace HashBackdoor.Experiments.Reports;

/// <summary>The queries a report shows on purpose: one where the attack works and one where it fails.</summary>
/// <param name="Works">Query with the highest AP (ties: lowest index), or -1 when no query has a defined AP.</param>
/// <param name="WorksAP">Its AP (fraction).</param>
/// <param name="Fails">Query with the lowest AP, a query without any relevant result in the top R counting as 0 (ties:
/// lowest index).</param>
/// <param name="FailsAP">Its AP (fraction; 0 for such a query).</param>
internal sealed record RetrievalGridChoice(int Works, double WorksAP, int Fails, double FailsAP);

/// <summary>
/// Chooses and draws retrieval grids: the query where an attack works best and the one where it fails worst, by
/// per-query AP for the target label (<see cref="Retrieval.MapResult.AveragePrecisions"/> of the t-MAP), instead of the
/// first query.
/// </summary>
internal static class RetrievalGridChooser
{
    /// <summary>Picks the best and worst query by AP (NaN = no target-class result in the top R = AP 0 for "fails",
    /// never chosen for "works").</summary>
    public static RetrievalGridChoice Choose(IReadOnlyList<double> averagePrecisions)
    {
        ArgumentNullException.ThrowIfNull(averagePrecisions);
        if (averagePrecisions.Count == 0) throw new ArgumentException("no queries", nameof(averagePrecisions));
        int works = -1, fails = 0;
        double worksAp = double.NaN, failsAp = double.PositiveInfinity;
        for (int i = 0; i < averagePrecisions.Count; i++)
        {
            double ap = averagePrecisions[i];
            if (!double.IsNaN(ap) && (works < 0 || ap > worksAp)) { works = i; worksAp = ap; }
            double asZero = double.IsNaN(ap) ? 0 : ap;
            if (asZero < failsAp) { fails = i; failsAp = asZero; }
        }
        return new RetrievalGridChoice(works, worksAp, fails, failsAp);
    }

    /// <summary>
    /// One row: the query image, then its top results, each framed (1 px, before enlargement): green for a result of
    /// the target class, grey otherwise; the query's frame is black.
    /// </summary>
    /// <param name="query">The (attacked) query image [C, H, W] in 0..1.</param>
    /// <param name="results">The top results' images [C, H, W], in rank order.</param>
    /// <param name="isTarget">Whether each result is of the target class.</param>
    /// <param name="label">What the row shows, for the caption (for example "DHTA, eps 8/255, query #12 (AP 91.2%)").</param>
    /// <param name="scale">Enlargement factor.</param>
    public static CaptionedImage Render(Tensor query, IReadOnlyList<Tensor> results, IReadOnlyList<bool> isTarget, string label, int scale = 3)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count != isTarget.Count) throw new ArgumentException("one flag per result is needed", nameof(isTarget));
        using var scope = NewDisposeScope();
        var tiles = new List<Tensor> { Framed(query, 0f, 0f, 0f) };
        for (int i = 0; i < results.Count; i++)
            tiles.Add(isTarget[i] ? Framed(results[i], 0.1f, 0.7f, 0.2f) : Framed(results[i], 0.6f, 0.6f, 0.6f));
        int hits = isTarget.Count(t => t);
        return new CaptionedImage(ImagePng.Grid(tiles, tiles.Count, scale, pad: 1),
            $"{label}: the query (black frame, left) and its top {results.Count} results, green frame = target class ({hits} of {results.Count}).");
    }

    /// <summary>The image as RGB with a 1-pixel frame of the given colour around it.</summary>
    private static Tensor Framed(Tensor image, float r, float g, float b)
    {
        if (image.dim() != 3 || (image.shape[0] != 1 && image.shape[0] != 3))
            throw new ArgumentException($"expected an image [1 or 3, H, W], got [{string.Join(",", image.shape)}]");
        var rgb = image.detach().cpu().to_type(ScalarType.Float32).expand(3, image.shape[1], image.shape[2]);
        var frame = tensor(new[] { r, g, b }).view(3, 1, 1).expand(3, image.shape[1] + 2, image.shape[2] + 2).clone();
        frame.narrow(1, 1, image.shape[1]).narrow(2, 1, image.shape[2]).copy_(rgb);
        return frame;
    }
}
