namespace HashBackdoor.Experiments.Reports;

/// <summary>A PNG image with a caption.</summary>
public sealed record CaptionedImage(byte[] Png, string Caption);

/// <summary>One poisoned training image shown as original | perturbation (amplified) | poisoned.</summary>
public sealed record PoisonExample(CaptionedImage Original, CaptionedImage Perturbation, CaptionedImage Poisoned);

/// <summary>The top of one ranking: each result image, its caption (class name, distance) and whether it is of the target class.</summary>
public sealed record RankedResult(byte[] Png, string Caption, bool IsTarget);

/// <summary>A triggered query and its top results from the clean and from a backdoored model.</summary>
public sealed record RetrievalExample(CaptionedImage Query, string CleanModelName, IReadOnlyList<RankedResult> CleanTop,
    string BackdooredModelName, IReadOnlyList<RankedResult> BackdooredTop);

/// <summary>Everything report.html shows.</summary>
public sealed record ReportContent
{
    public required string Title { get; init; }
    public required IReadOnlyDictionary<string, object?> Protocol { get; init; }
    public required ExperimentResults Results { get; init; }
    public CaptionedImage? Trigger { get; init; }
    public IReadOnlyList<PoisonExample> PoisonExamples { get; init; } = Array.Empty<PoisonExample>();
    public RetrievalExample? Retrieval { get; init; }
    /// <summary>Free-form notes (departures, machine, wall time), one paragraph each.</summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();
}

/// <summary>One point of an ablation: the varied value and the per-method summaries at it.</summary>
public sealed record AblationPoint(string Value, IReadOnlyList<MethodSummary> Summary);
