using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>What <see cref="RunBrowser"/> tells a page about a run: its title, classes, the seeds, targets and methods of
/// its config, which models and triggers exist, the query set's labels and the per-run numbers of results.json.</summary>
public sealed record RunBrowserSummary
{
    /// <summary>The report's title: experiment name and protocol.</summary>
    [JsonPropertyName("title")] public required string Title { get; init; }
    /// <summary>Protocol name, e.g. fashion-mnist/q100-t500.</summary>
    [JsonPropertyName("protocol")] public required string Protocol { get; init; }
    /// <summary>Class names, by class index.</summary>
    [JsonPropertyName("classNames")] public required IReadOnlyList<string> ClassNames { get; init; }
    /// <summary>The config's seeds.</summary>
    [JsonPropertyName("seeds")] public required IReadOnlyList<long> Seeds { get; init; }
    /// <summary>The config's target classes.</summary>
    [JsonPropertyName("targets")] public required IReadOnlyList<int> Targets { get; init; }
    /// <summary>"clean" then the config's attack methods.</summary>
    [JsonPropertyName("models")] public required IReadOnlyList<string> Models { get; init; }
    /// <summary>Keys "seed/target/model" (the clean model under every target of its seed) of the models found on disk.</summary>
    [JsonPropertyName("available")] public required IReadOnlyList<string> Available { get; init; }
    /// <summary>Keys "seed/target" of the triggers found on disk.</summary>
    [JsonPropertyName("triggers")] public required IReadOnlyList<string> Triggers { get; init; }
    /// <summary>Code length K.</summary>
    [JsonPropertyName("bits")] public int Bits { get; init; }
    /// <summary>Number of database images.</summary>
    [JsonPropertyName("databaseCount")] public int DatabaseCount { get; init; }
    /// <summary>Class indices of each query image, in query order.</summary>
    [JsonPropertyName("queryLabels")] public required IReadOnlyList<int[]> QueryLabels { get; init; }
    /// <summary>Whether the run folder holds report.html.</summary>
    [JsonPropertyName("hasReport")] public bool HasReport { get; init; }
    /// <summary>results.json's per-run rows (empty when the run has not written it).</summary>
    [JsonPropertyName("runs")] public required IReadOnlyList<RunResult> Runs { get; init; }
    /// <summary>Version of the toolkit serving the run.</summary>
    [JsonPropertyName("toolkitVersion")] public required string ToolkitVersion { get; init; }
}

/// <summary>One query's top-k under one model: the query image as the model saw it and the retrieved database images,
/// nearest first (Hamming distance, ties in database order).</summary>
public sealed record RetrievalView
{
    /// <summary>Seed of the models and trigger used.</summary>
    [JsonPropertyName("seed")] public long Seed { get; init; }
    /// <summary>Target class whose trigger (and victim) was used.</summary>
    [JsonPropertyName("target")] public int Target { get; init; }
    /// <summary>"clean" or the attack method of the victim.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }
    /// <summary>Index of the query in the protocol's query set.</summary>
    [JsonPropertyName("query")] public int Query { get; init; }
    /// <summary>Whether the trigger was pasted on the query.</summary>
    [JsonPropertyName("triggered")] public bool Triggered { get; init; }
    /// <summary>Class indices of the query image.</summary>
    [JsonPropertyName("queryLabels")] public required int[] QueryLabels { get; init; }
    /// <summary>The query image (trigger pasted when <see cref="Triggered"/>) as a PNG data URI.</summary>
    [JsonPropertyName("queryImage")] public required string QueryImage { get; init; }
    /// <summary>The top-k, nearest first.</summary>
    [JsonPropertyName("results")] public required IReadOnlyList<RetrievedItem> Results { get; init; }
    /// <summary>How many of the results carry the target label.</summary>
    [JsonPropertyName("targetCount")] public int TargetCount { get; init; }
    /// <summary>Database images at the distance of the k-th result (the tie group the top-k cut falls in).</summary>
    [JsonPropertyName("tiedAtCut")] public int TiedAtCut { get; init; }
    /// <summary>How many of that group are shown (the first in database order).</summary>
    [JsonPropertyName("tiedShown")] public int TiedShown { get; init; }
    /// <summary>Tie-aware expected number of target images in the top k (over the orderings of tied images).</summary>
    [JsonPropertyName("expectedTargetCount")] public double ExpectedTargetCount { get; init; }
}

/// <summary>One retrieved database image.</summary>
public sealed record RetrievedItem
{
    /// <summary>1-based rank.</summary>
    [JsonPropertyName("rank")] public int Rank { get; init; }
    /// <summary>Index in the protocol's database.</summary>
    [JsonPropertyName("index")] public long Index { get; init; }
    /// <summary>Hamming distance between the query's code and this image's code.</summary>
    [JsonPropertyName("distance")] public int Distance { get; init; }
    /// <summary>Class indices of the image.</summary>
    [JsonPropertyName("labels")] public required int[] Labels { get; init; }
    /// <summary>Whether the image carries the target label.</summary>
    [JsonPropertyName("isTarget")] public bool IsTarget { get; init; }
    /// <summary>The database image as a PNG data URI.</summary>
    [JsonPropertyName("image")] public required string Image { get; init; }
}
