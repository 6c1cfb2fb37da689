namespace HashBackdoor.Experiments.Reports;

/// <summary>One point of an ablation: the varied value and the per-method summaries at it.</summary>
public sealed record AblationPoint(string Value, IReadOnlyList<MethodSummary> Summary);
