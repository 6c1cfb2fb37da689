using System.Text.Json;
using System.Text.Json.Serialization;

namespace HashBackdoor.Defenses;

/// <summary>Names of the figures every defense reports where they apply, so that an attack x defense matrix can read
/// the same cells from every defense. NaN (written as null) = not applicable.</summary>
public static class DefenseFigures
{
    /// <summary>Clean mAP@R (%) of the victim before the defense.</summary>
    public const string MapBefore = "mapBefore";
    /// <summary>t-MAP@R (%) of the victim before the defense.</summary>
    public const string TMapBefore = "tMapBefore";
    /// <summary>Clean mAP@R (%) after the defense (repaired or retrained model, or refused queries counted as 0).</summary>
    public const string MapAfter = "mapAfter";
    /// <summary>t-MAP@R (%) after the defense.</summary>
    public const string TMapAfter = "tMapAfter";
    /// <summary>ROC AUC of the defense's detection score (poisoned images, triggered queries or the target class
    /// against the rest); 0.5 is chance.</summary>
    public const string DetectionAuc = "detectionAuc";
    /// <summary>Training images a filtering defense removed (the cost of its detection: those images are lost to training).</summary>
    public const string Removed = "removed";
    /// <summary>Training images a filtering defense looked at.</summary>
    public const string TrainingImages = "trainingImages";
}

/// <summary>
/// The per-item detection scores behind a detection defense's ROC AUC, with the true flags they are scored against, so
/// that the ROC can be redrawn and the AUC recomputed outside the toolkit (<see cref="DefenseResult.Save"/> writes them
/// as scores.npy, poison_flags.npy and score_items.npy).
/// </summary>
/// <param name="Scores">One score per item; higher = more suspicious (the sign the AUC is computed with).</param>
/// <param name="Positive">The truth per item: a poisoned training image, a triggered query, the target class.</param>
/// <param name="Items">What each item is, as an index (a training-set row, a query row, a class).</param>
/// <param name="ItemsAre">What the items and their indices are, in words (written to result.json).</param>
public sealed record DetectionScores(double[] Scores, bool[] Positive, long[] Items, string ItemsAre)
{
    /// <summary>File of the scores: float64 [N].</summary>
    public const string ScoresFile = "scores.npy";
    /// <summary>File of the true flags: uint8 [N], 1 = positive.</summary>
    public const string FlagsFile = "poison_flags.npy";
    /// <summary>File of the items' indices: int64 [N].</summary>
    public const string ItemsFile = "score_items.npy";

    /// <summary>Checks that the three arrays have one entry per item.</summary>
    public DetectionScores Checked()
    {
        if (Positive.Length != Scores.Length || Items.Length != Scores.Length)
            throw new ArgumentException($"detection scores: {Scores.Length} scores, {Positive.Length} flags, {Items.Length} items");
        return this;
    }
}

/// <summary>What a defense reports: named figures (the numbers a paper would print), per-item series (scores, anomaly
/// indices), tables (curves), PNG images and notes. <see cref="Save"/> writes it as result.json plus the images.</summary>
public sealed class DefenseResult
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public DefenseResult(string defense, DefenseGroup group)
    {
        Defense = defense;
        Group = group;
    }

    /// <summary>Registry name of the defense.</summary>
    public string Defense { get; }

    /// <summary>Its group.</summary>
    public DefenseGroup Group { get; }

    /// <summary>Named figures in the order they were set (see <see cref="DefenseFigures"/> for the shared names).</summary>
    public OrderedDictionary<string, double> Figures { get; } = new();

    /// <summary>Named per-item values (per class, per training image, per query), in item order.</summary>
    public OrderedDictionary<string, double[]> Series { get; } = new();

    /// <summary>Named tables: rows of named values (e.g. the pruning curve: ratio, mAP, t-MAP per row).</summary>
    public OrderedDictionary<string, List<OrderedDictionary<string, double>>> Tables { get; } = new();

    /// <summary>PNG images by file name (e.g. "mask-target.png").</summary>
    public OrderedDictionary<string, byte[]> Images { get; } = new();

    /// <summary>Settings the defense used, for the record (name to value).</summary>
    public OrderedDictionary<string, object> Settings { get; } = new();

    /// <summary>Free-text notes: decisions, departures.</summary>
    public List<string> Notes { get; } = new();

    /// <summary>The per-item scores behind <see cref="DefenseFigures.DetectionAuc"/> (null for a defense that detects
    /// nothing).</summary>
    public DetectionScores? Detection { get; set; }

    /// <summary>Wall-clock seconds of <see cref="IDefense.Run"/>.</summary>
    public double Seconds { get; set; }

    /// <summary>A figure, or NaN when the defense did not set it.</summary>
    public double Figure(string name) => Figures.TryGetValue(name, out double v) ? v : double.NaN;

    /// <summary>The result as JSON (NaN and infinities as null; images by file name only).</summary>
    public string ToJson(IReadOnlyDictionary<string, object?>? run = null)
    {
        static double? F(double v) => double.IsFinite(v) ? Math.Round(v, 6) : null;
        var doc = new Dictionary<string, object?>
        {
            ["defense"] = Defense,
            ["group"] = Group.ToString(),
            ["run"] = run,
            ["figures"] = Figures.ToDictionary(kv => kv.Key, kv => F(kv.Value)),
            ["settings"] = Settings,
            ["tables"] = Tables.ToDictionary(t => t.Key, t => t.Value.Select(row => row.ToDictionary(kv => kv.Key, kv => F(kv.Value))).ToList()),
            ["series"] = Series.ToDictionary(kv => kv.Key, kv => kv.Value.Select(F).ToArray()),
            ["images"] = Images.Keys.ToArray(),
            ["detectionScores"] = Detection is null ? null : new Dictionary<string, object?>
            {
                ["items"] = Detection.ItemsAre, ["count"] = Detection.Scores.Length, ["positives"] = Detection.Positive.Count(p => p),
                ["scores"] = DetectionScores.ScoresFile, ["flags"] = DetectionScores.FlagsFile, ["itemIndices"] = DetectionScores.ItemsFile,
            },
            ["notes"] = Notes,
            ["seconds"] = Math.Round(Seconds, 1),
        };
        return JsonSerializer.Serialize(doc, Json);
    }

    /// <summary>Writes the images and the detection scores (<see cref="Detection"/>), then result.json, into
    /// <paramref name="dir"/>, each atomically (result.json last, so its presence means the folder is complete).</summary>
    public void Save(string dir, IReadOnlyDictionary<string, object?>? run = null)
    {
        string json = ToJson(run); // serialise before anything is written
        Directory.CreateDirectory(dir);
        foreach (var (name, png) in Images) AtomicFile.WriteAllBytes(Path.Combine(dir, name), png);
        if (Detection is { } d)
        {
            d.Checked();
            int n = d.Scores.Length;
            Retrieval.NpyFile.Write(Path.Combine(dir, DetectionScores.ScoresFile), d.Scores, n);
            Retrieval.NpyFile.Write(Path.Combine(dir, DetectionScores.FlagsFile), d.Positive.Select(p => (byte)(p ? 1 : 0)).ToArray(), n);
            Retrieval.NpyFile.Write(Path.Combine(dir, DetectionScores.ItemsFile), d.Items, n);
        }
        AtomicFile.WriteAllText(Path.Combine(dir, "result.json"), json);
    }
}
