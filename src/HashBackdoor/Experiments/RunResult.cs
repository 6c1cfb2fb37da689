using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>One (target, seed, method) outcome, in percent. Every retrieval figure is tie-aware (the exact expectation over
/// the orderings of database items tied at the same Hamming distance, <see cref="Retrieval.TieAwareMetrics"/>), so it
/// does not depend on the database's file order; <see cref="DatabaseOrder"/> holds the same figures with ties broken by
/// database order (the reference code's convention), for comparison with the paper.</summary>
public sealed record RunResult
{
    [JsonPropertyName("target")] public int Target { get; init; }
    [JsonPropertyName("targetName")] public string? TargetName { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    /// <summary>Row key: clean, a poisoning attack or a test-time attack (<see cref="MethodNames"/>); folder names and
    /// comparisons use it.</summary>
    [JsonPropertyName("method")] public required string Method { get; init; }
    /// <summary>The name tables show (<see cref="MethodNames.Display"/>: "patch only" for clean, "p2p (test-time)", ...).</summary>
    [JsonPropertyName("displayName")] public string? DisplayName { get; init; }
    /// <summary>Clean mAP@R of clean queries, percent (tie-aware).</summary>
    [JsonPropertyName("mAP")] public double Map { get; init; }
    /// <summary>t-MAP@R of triggered non-target queries, percent (tie-aware).</summary>
    [JsonPropertyName("tMAP")] public double TMap { get; init; }
    /// <summary>Queries counted by the t-MAP: under the skip rule the expected number with a target item in their top R
    /// (a fraction in general); under the zero rule all of them.</summary>
    [JsonPropertyName("tMAPQueriesCounted")] public double TMapQueriesCounted { get; init; }
    [JsonPropertyName("tMAPQueriesTotal")] public int TMapQueriesTotal { get; init; }
    /// <summary>t-MAP under the other query rule, percent (tie-aware).</summary>
    [JsonPropertyName("tMAPOtherRule")] public double TMapOtherRule { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    /// <summary>Control: t-MAP@R of the same non-target queries WITHOUT the trigger (chance level for this model), percent
    /// (tie-aware).</summary>
    [JsonPropertyName("tMAPUntriggered")] public double? TMapUntriggered { get; init; }
    /// <summary>Control (clean row only): the trigger's own effect on the surrogate (mean Hamming distance to the anchor
    /// with the initial and the final patch).</summary>
    [JsonPropertyName("triggerEffect")] public TriggerEffect? TriggerEffect { get; init; }
    /// <summary>Budget (attack rows only): the perturbation alone, poisoned-before-trigger against original images (for a
    /// test-time attack: the adversarial queries against the queries).</summary>
    [JsonPropertyName("perturbation")] public HashBackdoor.Attacks.Perceptibility? Perturbation { get; init; }
    /// <summary>Budget (attack rows only): the poisoned images as the victim receives them (perturbation and trigger)
    /// against the originals.</summary>
    [JsonPropertyName("poisoned")] public HashBackdoor.Attacks.Perceptibility? Poisoned { get; init; }
    /// <summary>The same figures ranked with ties in database order (the reference code's and DeepHash-pytorch's
    /// convention); null in a result written before tie-aware metrics (its figures are all database order: rescore it).</summary>
    [JsonPropertyName("databaseOrder")] public DatabaseOrderFigures? DatabaseOrder { get; init; }
}

/// <summary>A run's figures with ties at equal Hamming distance broken by database order, percent: what the paper's code
/// reports, kept beside the tie-aware figures (which do not depend on the order).</summary>
public sealed record DatabaseOrderFigures
{
    [JsonPropertyName("mAP")] public double Map { get; init; }
    [JsonPropertyName("tMAP")] public double TMap { get; init; }
    /// <summary>Queries with a target item in their top R under the skip rule (all under the zero rule).</summary>
    [JsonPropertyName("tMAPQueriesCounted")] public int TMapQueriesCounted { get; init; }
    [JsonPropertyName("tMAPOtherRule")] public double TMapOtherRule { get; init; }
    [JsonPropertyName("tMAPUntriggered")] public double? TMapUntriggered { get; init; }
}
