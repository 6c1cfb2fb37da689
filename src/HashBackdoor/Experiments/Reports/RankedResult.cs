namespace HashBackdoor.Experiments.Reports;

/// <summary>The top of one ranking: each result image, its caption (class name, distance) and whether it is of the target class.</summary>
public sealed record RankedResult(byte[] Png, string Caption, bool IsTarget);
