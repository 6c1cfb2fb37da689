using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>One (target, seed, method) outcome, in percent.</summary>
public sealed record RunResult
{
    [JsonPropertyName("target")] public int Target { get; init; }
    [JsonPropertyName("targetName")] public string? TargetName { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    [JsonPropertyName("method")] public required string Method { get; init; }
    /// <summary>Clean mAP@R of clean queries, percent.</summary>
    [JsonPropertyName("mAP")] public double Map { get; init; }
    /// <summary>t-MAP@R of triggered non-target queries, percent.</summary>
    [JsonPropertyName("tMAP")] public double TMap { get; init; }
    [JsonPropertyName("tMAPQueriesCounted")] public int TMapQueriesCounted { get; init; }
    [JsonPropertyName("tMAPQueriesTotal")] public int TMapQueriesTotal { get; init; }
    /// <summary>t-MAP under the other query rule, percent.</summary>
    [JsonPropertyName("tMAPOtherRule")] public double TMapOtherRule { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    /// <summary>Control: t-MAP@R of the same non-target queries WITHOUT the trigger (chance level for this model), percent.</summary>
    [JsonPropertyName("tMAPUntriggered")] public double? TMapUntriggered { get; init; }
    /// <summary>Control (clean row only): the trigger's own effect on the surrogate (mean Hamming distance to the anchor
    /// with the initial and the final patch).</summary>
    [JsonPropertyName("triggerEffect")] public TriggerEffect? TriggerEffect { get; init; }
    /// <summary>Budget (attack rows only): the perturbation alone, poisoned-before-trigger against original images.</summary>
    [JsonPropertyName("perturbation")] public HashBackdoor.Attacks.Perceptibility? Perturbation { get; init; }
    /// <summary>Budget (attack rows only): the poisoned images as the victim receives them (perturbation and trigger)
    /// against the originals.</summary>
    [JsonPropertyName("poisoned")] public HashBackdoor.Attacks.Perceptibility? Poisoned { get; init; }
}
