using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>The content of results.json.</summary>
public sealed record ExperimentResults
{
    [JsonPropertyName("protocol")] public required IReadOnlyDictionary<string, object?> Protocol { get; init; }
    [JsonPropertyName("runs")] public required IReadOnlyList<RunResult> Runs { get; init; }
    [JsonPropertyName("summary")] public required IReadOnlyList<MethodSummary> Summary { get; init; }
}
