namespace HashBackdoor.Experiments.Reports;

/// <summary>One point of an ablation: the varied value and the per-method summaries at it.</summary>
public sealed record AblationPoint(
    [property: System.Text.Json.Serialization.JsonPropertyName("value")] string Value,
    [property: System.Text.Json.Serialization.JsonPropertyName("summary")] IReadOnlyList<MethodSummary> Summary);
