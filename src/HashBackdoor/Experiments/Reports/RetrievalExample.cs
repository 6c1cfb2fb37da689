namespace HashBackdoor.Experiments.Reports;

/// <summary>A triggered query and its top results from the clean and from a backdoored model.</summary>
public sealed record RetrievalExample(CaptionedImage Query, string CleanModelName, IReadOnlyList<RankedResult> CleanTop,
    string BackdooredModelName, IReadOnlyList<RankedResult> BackdooredTop);
