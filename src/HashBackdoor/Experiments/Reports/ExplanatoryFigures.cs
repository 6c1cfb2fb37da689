using System.Globalization;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments.Reports;

/// <summary>What <see cref="ExplanatoryFigures.Build"/> made: the report sections, and the histogram's series (each
/// holds one distance per triggered query) so that a check can count them.</summary>
/// <param name="Figures">Report sections, in order: Hamming histogram, code projections, precision curves, retrieval grids.</param>
/// <param name="Histogram">The series of the Hamming histogram (empty when it could not be drawn).</param>
/// <param name="TriggeredQueries">Number of triggered queries of the first seed and target (0 when unknown).</param>
internal sealed record ExplanatoryFigureSet(IReadOnlyList<ReportFigure> Figures, IReadOnlyList<HammingSeries> Histogram, int TriggeredQueries)
{
    /// <summary>Nothing to show (the run folder does not hold the codes yet).</summary>
    public static ExplanatoryFigureSet Empty { get; } = new(Array.Empty<ReportFigure>(), Array.Empty<HammingSeries>(), 0);
}

/// <summary>
/// The pictures that explain a run, for its first seed and target, computed from what the run folder holds (codes of
/// every model for the database, the queries and the triggered or adversarial queries; labels; triggered-query rows;
/// the anchor code; the trigger; the test-time attacks' adversarial queries) and from the protocol split for the
/// images, so a resumed run rebuilds them without training anything:
/// <list type="bullet">
/// <item>a histogram of Hamming distances to the anchor code: untriggered queries and triggered queries on the clean
/// model, triggered queries on each victim, adversarial queries of each test-time attack;</item>
/// <item>a 2-D PCA projection of the database codes with the triggered queries overlaid, for the clean model and the
/// CIBA victim (or the last poisoning method);</item>
/// <item>precision at k and precision-recall curves per method, for clean queries (own labels) and triggered queries
/// (the target label);</item>
/// <item>retrieval grids chosen on purpose: for each method, the triggered query with the highest AP for the target
/// (the attack works) and the one with the lowest (it fails).</item>
/// </list>
/// Each section carries a sentence with the run's own figures saying what to read in it. Report generation stays fast:
/// at most <see cref="MaxDatabasePoints"/> database codes are projected, at most <see cref="MaxCurveQueries"/> queries
/// enter each curve (evenly spaced rows), and the grids search only the queries they show.
/// </summary>
internal sealed class ExplanatoryFigures
{
    /// <summary>Largest number of database codes fitted and drawn by the projection (every ceil(N / this)-th row).</summary>
    public const int MaxDatabasePoints = 3000;
    /// <summary>Largest number of queries per precision curve and per projection overlay (evenly spaced rows).</summary>
    public const int MaxCurveQueries = 500;
    /// <summary>Results shown per retrieval grid row.</summary>
    public const int GridTop = 10;

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly ExperimentConfig config;
    private readonly RunFolder folder;
    private readonly RunContext context;

    /// <summary>Figures of the experiment of <paramref name="config"/> in <paramref name="folder"/>.</summary>
    public ExplanatoryFigures(ExperimentConfig config, RunFolder folder, RunContext context)
    {
        this.config = config;
        this.folder = folder;
        this.context = context;
    }

    private long Seed => config.Seeds[0];
    private int Target => config.Targets[0];

    /// <summary>One reported row's codes: its key, what the pictures call it, and its model's codes.</summary>
    private sealed record Row(string Key, string Name, BinaryCodes Database, BinaryCodes? Queries, BinaryCodes Attacked);

    /// <summary>Builds every picture whose inputs the folder holds (none when the first target has no codes yet).</summary>
    /// <param name="split">The run's protocol split (images for the grids; training images when the anchor must be recomputed).</param>
    /// <param name="spec">The victim's model spec (to load the surrogate when the folder has no anchor).</param>
    /// <param name="trigger">The first target's trigger (null: grids of triggered queries are left out).</param>
    public ExplanatoryFigureSet Build(ProtocolSplit split, HashModelSpec spec, PatchTrigger? trigger)
    {
        var triggeredRows = folder.ReadTriggeredQueries(Seed, Target);
        if (triggeredRows is null || triggeredRows.Length == 0 || !File.Exists(folder.QueryLabelsPath) || !File.Exists(folder.DatabaseLabelsPath))
            return ExplanatoryFigureSet.Empty;
        var queryLabels = LabelSets.FromNpy(NpyFile.Read(folder.QueryLabelsPath));
        var dbLabels = LabelSets.FromNpy(NpyFile.Read(folder.DatabaseLabelsPath));
        var rows = Rows(triggeredRows.Length);
        if (rows.Count == 0) return ExplanatoryFigureSet.Empty;

        var figures = new List<ReportFigure>();
        var histogram = Histogram(rows, triggeredRows, dbLabels, split, spec);
        if (histogram.Figure is not null) figures.Add(histogram.Figure);
        if (Projection(rows, dbLabels, split) is { } projection) figures.Add(projection);
        figures.Add(Curves(rows, triggeredRows, queryLabels, dbLabels));
        if (Grids(rows, triggeredRows, queryLabels, dbLabels, split, trigger) is { } grids) figures.Add(grids);
        return new ExplanatoryFigureSet(figures, histogram.Series, triggeredRows.Length);
    }

    /// <summary>The rows of the first seed and target whose codes the folder holds, in report order.</summary>
    private List<Row> Rows(int triggeredCount)
    {
        var list = new List<Row>();
        foreach (string key in MethodNames.Rows(config))
        {
            var attacked = RunFolder.ReadCodes(folder.CodesPath(Seed, Target, key, CodeSet.TriggeredQueries));
            var database = RunFolder.ReadCodes(folder.CodesPath(Seed, Target, key, CodeSet.Database));
            if (attacked is null || database is null || attacked.Count != triggeredCount) continue;
            var queries = RunFolder.ReadCodes(folder.CodesPath(Seed, Target, key, CodeSet.Query));
            list.Add(new Row(key, ModelName(key), database, queries, attacked));
        }
        return list;
    }

    /// <summary>"patch only", "ciba victim", "dhta (test-time)".</summary>
    private static string ModelName(string key) =>
        key == MethodNames.Clean || MethodNames.IsTestTime(key) ? MethodNames.Display(key) : $"{key} victim";

    // ------------------------------------------------------------------ Hamming histogram

    /// <summary>
    /// Distances to the target code of the model each query is sent to: <see cref="AnchorCode.Compute"/> over that model's
    /// codes of the database images labelled with the target alone (the code by which the model retrieves the target
    /// class). Not the attacker's anchor: with an independent surrogate that code lives in another model's code space
    /// (another init and CSQ centres), so a victim that learned the backdoor sits far from it; the reading gives the
    /// anchor's distance to the clean model's target code instead.
    /// </summary>
    private (ReportFigure? Figure, IReadOnlyList<HammingSeries> Series) Histogram(IReadOnlyList<Row> rows, long[] triggeredRows, LabelSets dbLabels,
        ProtocolSplit split, HashModelSpec spec)
    {
        int bits = rows[0].Attacked.Bits;
        if (dbLabels.Count != rows[0].Database.Count) return (null, Array.Empty<HammingSeries>());
        using var labels = DatabaseLabelTensor();
        var series = new List<HammingSeries>();
        var targetCodes = new Dictionary<string, BinaryCodes>();
        BinaryCodes TargetCode(Row row)
        {
            string model = folder.ModelDir(Seed, Target, row.Key);
            if (!targetCodes.TryGetValue(model, out var code))
                targetCodes[model] = code = BinaryCodes.FromSigns(ModelTargetCode(row.Database, labels), bits);
            return code;
        }
        var clean = rows.FirstOrDefault(r => r.Key == MethodNames.Clean);
        if (clean?.Queries is { } cleanQueries && triggeredRows.All(r => r < cleanQueries.Count))
            series.Add(new HammingSeries("untriggered (clean model)", HammingHistogram.Distances(Gather(cleanQueries, triggeredRows), TargetCode(clean)), "#000000"));
        foreach (var row in rows)
            series.Add(new HammingSeries(row.Name, HammingHistogram.Distances(row.Attacked, TargetCode(row)), MethodStyle.Colors(new[] { row.Key })[0]));
        string targetName = split.ClassNames[Target];
        var image = HammingHistogram.Render(series, bits, targetName, width: 980, reference: "the queried model's target code");
        string reading = $"Seed {Seed}, target {Target} ({targetName}), {triggeredRows.Length} non-target queries, K = {bits}. Each query is measured "
            + "against the target code of the model it is sent to (AnchorCode's vote over that model's codes of the database images of the target "
            + "class alone: the code that retrieves the target class). Median distance (share within distance 2, the radius of P@r<=2): "
            + string.Join("; ", series.Select(s => $"{s.Name} {Median(s.Distances).ToString("0.#", Inv)} ({Share(s.Distances.Count(d => d <= 2), s.Distances.Count)})"))
            + $". Chance is about K/2 = {bits / 2}: a series far left of the untriggered one is pulled to the target's code.";
        float[]? anchor = folder.ReadAnchor(Seed, Target) ?? RecomputeAnchor(split, spec);
        if (anchor is not null && anchor.Length == bits && clean is not null)
        {
            int d = HammingHistogram.Distances(BinaryCodes.FromSigns(anchor, bits), TargetCode(clean))[0];
            reading += $" The attacker's anchor (the surrogate's vote, anchor.npy) is {d} bits from the clean model's target code"
                + (config.Surrogate.Kind == SurrogateKind.Independent ? " (an independent surrogate codes the target class its own way)." : " (twin surrogate: the clean model itself).");
        }
        return (new ReportFigure("Hamming distance to the target's code", reading, new[] { image }), series);
    }

    /// <summary>A model's target code: <see cref="AnchorCode.Compute"/> over its database codes and the database labels.</summary>
    internal float[] ModelTargetCode(BinaryCodes database, Tensor databaseLabels)
    {
        using var scope = NewDisposeScope();
        return AnchorCode.Compute(Signs(database), databaseLabels, Target).data<float>().ToArray();
    }

    /// <summary>The multi-hot database labels of the folder as float [N, C].</summary>
    private Tensor DatabaseLabelTensor()
    {
        var array = NpyFile.Read(folder.DatabaseLabelsPath).Require2D();
        using var bytes = tensor(array.AsBytes(), new long[] { array.Rows, array.Columns }, ScalarType.Byte);
        return bytes.to_type(ScalarType.Float32);
    }

    /// <summary>The anchor from the surrogate's training codes, for folders written before anchor.npy was kept (null when
    /// the surrogate's model file is missing).</summary>
    private float[]? RecomputeAnchor(ProtocolSplit split, HashModelSpec spec)
    {
        bool independent = config.Surrogate.Kind == SurrogateKind.Independent;
        string path = RunFolder.ModelFileIn(independent ? folder.SurrogateModelDir(Seed) : folder.CleanModelDir(Seed));
        if (!File.Exists(path)) return null;
        var surrogateSpec = independent ? spec with { Architecture = config.Surrogate.Architecture ?? spec.Architecture } : spec;
        var (model, _) = ModelFile.Load(path, surrogateSpec);
        using (model)
        {
            using var scope = NewDisposeScope();
            var codes = HashEncoder.Encode(model, split.Train.Images, RetrievalScoring.EncodeBatch, null, context.Device);
            return AnchorCode.Compute(codes, split.Train.Labels, Target).cpu().data<float>().ToArray();
        }
    }

    // ------------------------------------------------------------------ PCA projection

    private ReportFigure? Projection(IReadOnlyList<Row> rows, LabelSets dbLabels, ProtocolSplit split)
    {
        var clean = rows.FirstOrDefault(r => r.Key == MethodNames.Clean);
        var victimKey = config.Methods.Contains("ciba") ? "ciba" : config.Methods.LastOrDefault();
        var victim = rows.FirstOrDefault(r => r.Key == victimKey);
        var panels = new List<(Row Model, List<Row> Overlaid)>();
        if (clean is not null) panels.Add((clean, rows.Where(r => r.Key == MethodNames.Clean || MethodNames.IsTestTime(r.Key)).ToList()));
        if (victim is not null) panels.Add((victim, new List<Row> { victim }));
        if (panels.Count == 0 || dbLabels.Count != panels[0].Model.Database.Count) return null;

        string targetName = split.ClassNames[Target];
        var images = new List<CaptionedImage>();
        var shares = new List<string>();
        var dbRows = Spaced(dbLabels.Count, MaxDatabasePoints);
        var dbClasses = dbRows.Select(i => FirstLabel(dbLabels, (int)i)).ToArray();
        foreach (var (model, overlaid) in panels)
        {
            using var scope = NewDisposeScope();
            var db = Signs(Gather(model.Database, dbRows));
            var sets = overlaid.Select(r => (Name: OverlayName(r), Codes: Signs(Gather(r.Attacked, Spaced(r.Attacked.Count, MaxCurveQueries))))).ToList();
            var pca = CodeProjection.Fit(db);
            var centroids = Centroids(pca.Project(db), dbClasses, split.ClassNames.Count);
            foreach (var set in sets)
            {
                var xy = pca.Project(set.Codes);
                int n = xy.Length / 2, nearTarget = 0;
                for (int i = 0; i < n; i++) if (NearestCentroid(centroids, xy[2 * i], xy[2 * i + 1]) == Target) nearTarget++;
                shares.Add($"{set.Name} on the {ModelPanel(model)}: {Share(nearTarget, n)}");
            }
            images.Add(CodeProjection.Render(db, dbClasses, split.ClassNames, sets, $"{ModelPanel(model)}, target {targetName}", MaxDatabasePoints));
        }
        string reading = $"Share of the overlaid queries whose projected point lies nearest the centre of the target class ({targetName}) in the plane: "
            + string.Join("; ", shares) + ". Database codes are subsampled to at most " + MaxDatabasePoints.ToString(Inv)
            + " points and each overlay to at most " + MaxCurveQueries.ToString(Inv) + " queries (evenly spaced rows).";
        return new ReportFigure("Database codes in two dimensions", reading, images);
    }

    private static string OverlayName(Row r) => r.Key == MethodNames.Clean ? "triggered queries" : MethodNames.IsTestTime(r.Key) ? $"{MethodNames.Display(r.Key)} queries" : "triggered queries";
    private static string ModelPanel(Row r) => r.Key == MethodNames.Clean ? "clean model" : $"{r.Key} victim";

    private static double[][] Centroids(double[] xy, int[] classes, int classCount)
    {
        var sum = new double[classCount][];
        var count = new int[classCount];
        for (int c = 0; c < classCount; c++) sum[c] = new double[2];
        for (int i = 0; i < classes.Length; i++)
        {
            int c = classes[i];
            if (c < 0) continue;
            sum[c][0] += xy[2 * i];
            sum[c][1] += xy[2 * i + 1];
            count[c]++;
        }
        return sum.Select((s, c) => count[c] == 0 ? new[] { double.NaN, double.NaN } : new[] { s[0] / count[c], s[1] / count[c] }).ToArray();
    }

    private static int NearestCentroid(double[][] centroids, double x, double y)
    {
        int best = -1;
        double bestD = double.PositiveInfinity;
        for (int c = 0; c < centroids.Length; c++)
        {
            double d = (centroids[c][0] - x) * (centroids[c][0] - x) + (centroids[c][1] - y) * (centroids[c][1] - y);
            if (d < bestD) { bestD = d; best = c; }
        }
        return best;
    }

    // ------------------------------------------------------------------ precision curves

    private ReportFigure Curves(IReadOnlyList<Row> rows, long[] triggeredRows, LabelSets queryLabels, LabelSets dbLabels)
    {
        int n = rows[0].Database.Count;
        var ks = new[] { 1, 5, 10, 20, 50, 100, 200, 500, 1000 }.Where(k => k <= n && k <= Math.Max(config.Evaluation.TopK, 1)).ToArray();
        if (ks.Length == 0) ks = new[] { 1 };
        int readK = ks.Contains(100) ? 100 : ks[^1];
        var images = new List<CaptionedImage>();
        var readings = new List<string>();

        // Clean queries with their own labels, one line per model (the test-time rows share the clean model's).
        var models = rows.Where(r => !MethodNames.IsTestTime(r.Key) && r.Queries is not null && r.Queries.Count == queryLabels.Count).ToList();
        if (models.Count > 0)
        {
            var pick = Spaced(queryLabels.Count, MaxCurveQueries);
            var labels = GatherLabels(queryLabels, pick);
            var series = models.Select(r => PrecisionSeries.Compute(r.Key == MethodNames.Clean ? "clean model" : $"{r.Key} victim",
                new HammingIndex(r.Database), Gather(r.Queries!, pick), labels, dbLabels, ks)).ToList();
            series = series.Select((x, i) => x with { Color = MethodStyle.Colors(new[] { models[i].Key })[0] }).ToList();
            images.Add(PrecisionCurves.Render(series, "clean queries"));
            readings.Add($"clean queries, P@{readK} for their own class: " + string.Join(", ", series.Select(s => $"{s.Name} {At(s, readK)}")));
        }

        // Triggered (or adversarial) queries with the target label, one line per row.
        var tPick = Spaced(triggeredRows.Length, MaxCurveQueries);
        var targetLabels = LabelSets.Repeat(Target, tPick.Length, dbLabels.Classes);
        var tSeries = rows.Select(r => PrecisionSeries.Compute(MethodNames.Display(r.Key), new HammingIndex(r.Database), Gather(r.Attacked, tPick),
            targetLabels, dbLabels, ks) with { Color = MethodStyle.Colors(new[] { r.Key })[0] }).ToList();
        images.Add(PrecisionCurves.Render(tSeries, "triggered queries"));
        readings.Add($"triggered queries, P@{readK} for the target class: " + string.Join(", ", tSeries.Select(s => $"{s.Name} {At(s, readK)}")));

        string reading = string.Join("; ", readings) + $". Curves use at most {MaxCurveQueries} queries (evenly spaced rows). "
            + "An attack that works leaves the clean lines where the clean model's are and lifts its triggered line far above patch only.";
        return new ReportFigure("Precision at k and precision-recall", reading, images);
    }

    private static string At(PrecisionSeries s, int k)
    {
        int i = s.Ks.ToList().IndexOf(k);
        return i < 0 ? "n/a" : (s.PrecisionAtK[i] * 100).ToString("F1", Inv) + "%";
    }

    // ------------------------------------------------------------------ retrieval grids

    private ReportFigure? Grids(IReadOnlyList<Row> rows, long[] triggeredRows, LabelSets queryLabels, LabelSets dbLabels, ProtocolSplit split, PatchTrigger? trigger)
    {
        var queries = config.Queries(split);
        if (queries.Count != queryLabels.Count || split.Database.Count != dbLabels.Count) return null;
        var images = new List<CaptionedImage>();
        var majority = new List<string>();
        var targetLabels = LabelSets.Repeat(Target, triggeredRows.Length, dbLabels.Classes);
        foreach (var row in rows)
        {
            using var scope = NewDisposeScope();
            bool testTime = MethodNames.IsTestTime(row.Key);
            var adversarial = testTime ? folder.ReadAdversarialQueries(Seed, Target, row.Key, queries.Channels, queries.Height, queries.Width) : null;
            if (testTime ? adversarial is null || adversarial.shape[0] != triggeredRows.Length : trigger is null) continue;
            var index = new HammingIndex(row.Database);
            var map = RetrievalMetrics.MeanAveragePrecision(index, row.Attacked, targetLabels, dbLabels, config.Evaluation.TopK, config.Evaluation.QueryRule);
            var top = index.Search(row.Attacked, GridTop);
            int k = top.Length / triggeredRows.Length, mostly = 0;
            for (int q = 0; q < triggeredRows.Length; q++)
            {
                int hits = 0;
                for (int j = 0; j < k; j++) if (dbLabels.Has((int)top[q * k + j], Target)) hits++;
                if (2 * hits > k) mostly++;
            }
            majority.Add($"{MethodNames.Display(row.Key)} {Share(mostly, triggeredRows.Length)}");
            var choice = RetrievalGridChooser.Choose(map.AveragePrecisions);
            var shown = choice.Works >= 0 && choice.Works != choice.Fails ? new[] { (choice.Works, "works") , (choice.Fails, "fails") } : new[] { (choice.Fails, "fails") };
            foreach (var (q, how) in shown)
            {
                var image = testTime ? adversarial![q] : trigger!.Paste(queries.Images.narrow(0, triggeredRows[q], 1))[0];
                var results = Enumerable.Range(0, k).Select(j => split.Database.Images[top[q * k + j]]).ToList();
                var isTarget = Enumerable.Range(0, k).Select(j => dbLabels.Has((int)top[q * k + j], Target)).ToList();
                double ap = map.AveragePrecisions[q];
                string apText = double.IsNaN(ap) ? "no target-class result in the top " + map.R.ToString(Inv) : $"AP {(ap * 100).ToString("F1", Inv)}%";
                string trueClass = split.ClassNames[FirstLabel(queryLabels, (int)triggeredRows[q])];
                images.Add(RetrievalGridChooser.Render(image, results, isTarget,
                    $"{MethodNames.Display(row.Key)}, {how}: query #{triggeredRows[q].ToString(Inv)} ({trueClass}), {apText}"));
            }
        }
        if (images.Count == 0) return null;
        string reading = $"For each method, the triggered query with the highest AP for the target class {split.ClassNames[Target]} (works) and the one with the lowest (fails), "
            + "instead of an arbitrary query. Share of the triggered queries whose top " + GridTop.ToString(Inv) + " is mostly the target class: "
            + string.Join(", ", majority) + ".";
        return new ReportFigure("Retrieval where the attack works and where it fails", reading, images, Pixels: true);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Evenly spaced rows 0, s, 2s, ... (s = ceil(count / max)): all rows when count &lt;= max.</summary>
    internal static long[] Spaced(int count, int max)
    {
        int stride = Math.Max(1, (count + max - 1) / max);
        var rows = new long[(count + stride - 1) / stride];
        for (int i = 0; i < rows.Length; i++) rows[i] = (long)i * stride;
        return rows;
    }

    /// <summary>The codes of <paramref name="rows"/>, in that order.</summary>
    internal static BinaryCodes Gather(BinaryCodes codes, IReadOnlyList<long> rows)
    {
        int wpc = codes.WordsPerCode;
        var words = new ulong[(long)rows.Count * wpc];
        for (int i = 0; i < rows.Count; i++) codes.Get((int)rows[i]).CopyTo(words.AsSpan(i * wpc, wpc));
        return BinaryCodes.FromWords(words, rows.Count, codes.Bits);
    }

    private static LabelSets GatherLabels(LabelSets labels, IReadOnlyList<long> rows)
    {
        int w = labels.WordsPerItem;
        var masks = new ulong[(long)rows.Count * w];
        for (int i = 0; i < rows.Count; i++) labels.Get((int)rows[i]).CopyTo(masks.AsSpan(i * w, w));
        return LabelSets.FromBitmasks(masks, rows.Count, labels.Classes);
    }

    /// <summary>Codes as float [N, K] in {-1, +1}, unpacked from the FAISS layout by torch (bit i = bit i % 8 of byte i / 8).</summary>
    internal static Tensor Signs(BinaryCodes codes)
    {
        using var scope = NewDisposeScope();
        var bytes = tensor(codes.ToFaissBytes(), new long[] { codes.Count, codes.BytesPerCode }, ScalarType.Byte).to_type(ScalarType.Int64);
        var bits = bytes.unsqueeze(-1).bitwise_right_shift(arange(8, ScalarType.Int64)).bitwise_and(1);
        return bits.view(codes.Count, codes.Bits).to_type(ScalarType.Float32).mul(2).sub(1).MoveToOuterDisposeScope();
    }

    /// <summary>The lowest class an item has (-1 for none).</summary>
    private static int FirstLabel(LabelSets labels, int item)
    {
        for (int c = 0; c < labels.Classes; c++) if (labels.Has(item, c)) return c;
        return -1;
    }

    private static double Median(IReadOnlyList<int> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2.0;
    }

    private static string Share(int part, int whole) => whole == 0 ? "n/a" : (100.0 * part / whole).ToString("F0", Inv) + "%";
}
