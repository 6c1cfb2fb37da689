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
            ["notes"] = Notes,
            ["seconds"] = Math.Round(Seconds, 1),
        };
        return JsonSerializer.Serialize(doc, Json);
    }

    /// <summary>Writes the images, then result.json, into <paramref name="dir"/>, each atomically (result.json last, so
    /// its presence means the folder is complete).</summary>
    public void Save(string dir, IReadOnlyDictionary<string, object?>? run = null)
    {
        string json = ToJson(run); // serialise before anything is written
        Directory.CreateDirectory(dir);
        foreach (var (name, png) in Images) AtomicFile.WriteAllBytes(Path.Combine(dir, name), png);
        AtomicFile.WriteAllText(Path.Combine(dir, "result.json"), json);
    }
}
