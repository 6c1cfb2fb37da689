using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>What <see cref="RunBrowser"/> tells a page about a run: its title, classes, the seeds, targets and methods of
/// its config, which models and triggers exist, the query set's labels and the per-run numbers of results.json.</summary>
public sealed record RunBrowserSummary
{
    [JsonPropertyName("title")] public required string Title { get; init; }
    [JsonPropertyName("protocol")] public required string Protocol { get; init; }
    [JsonPropertyName("classNames")] public required IReadOnlyList<string> ClassNames { get; init; }
    [JsonPropertyName("seeds")] public required IReadOnlyList<long> Seeds { get; init; }
    [JsonPropertyName("targets")] public required IReadOnlyList<int> Targets { get; init; }
    /// <summary>"clean" then the config's attack methods.</summary>
    [JsonPropertyName("models")] public required IReadOnlyList<string> Models { get; init; }
    /// <summary>Keys "seed/target/model" (the clean model under every target of its seed) of the models found on disk.</summary>
    [JsonPropertyName("available")] public required IReadOnlyList<string> Available { get; init; }
    /// <summary>Keys "seed/target" of the triggers found on disk.</summary>
    [JsonPropertyName("triggers")] public required IReadOnlyList<string> Triggers { get; init; }
    [JsonPropertyName("bits")] public int Bits { get; init; }
    [JsonPropertyName("databaseCount")] public int DatabaseCount { get; init; }
    /// <summary>Class indices of each query image, in query order.</summary>
    [JsonPropertyName("queryLabels")] public required IReadOnlyList<int[]> QueryLabels { get; init; }
    [JsonPropertyName("hasReport")] public bool HasReport { get; init; }
    /// <summary>results.json's per-run rows (empty when the run has not written it).</summary>
    [JsonPropertyName("runs")] public required IReadOnlyList<RunResult> Runs { get; init; }
    [JsonPropertyName("toolkitVersion")] public required string ToolkitVersion { get; init; }
}

/// <summary>One query's top-k under one model: the query image as the model saw it and the retrieved database images,
/// nearest first (Hamming distance, ties in database order).</summary>
public sealed record RetrievalView
{
    [JsonPropertyName("seed")] public long Seed { get; init; }
    [JsonPropertyName("target")] public int Target { get; init; }
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("query")] public int Query { get; init; }
    [JsonPropertyName("triggered")] public bool Triggered { get; init; }
    [JsonPropertyName("queryLabels")] public required int[] QueryLabels { get; init; }
    /// <summary>The query image (trigger pasted when <see cref="Triggered"/>) as a PNG data URI.</summary>
    [JsonPropertyName("queryImage")] public required string QueryImage { get; init; }
    [JsonPropertyName("results")] public required IReadOnlyList<RetrievedItem> Results { get; init; }
    /// <summary>How many of the results carry the target label.</summary>
    [JsonPropertyName("targetCount")] public int TargetCount { get; init; }
}

/// <summary>One retrieved database image.</summary>
public sealed record RetrievedItem
{
    [JsonPropertyName("rank")] public int Rank { get; init; }
    /// <summary>Index in the protocol's database.</summary>
    [JsonPropertyName("index")] public long Index { get; init; }
    [JsonPropertyName("distance")] public int Distance { get; init; }
    [JsonPropertyName("labels")] public required int[] Labels { get; init; }
    [JsonPropertyName("isTarget")] public bool IsTarget { get; init; }
    /// <summary>The database image as a PNG data URI.</summary>
    [JsonPropertyName("image")] public required string Image { get; init; }
}
