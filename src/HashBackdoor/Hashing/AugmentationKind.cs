using System.Text.Json.Serialization;

namespace HashBackdoor.Hashing;

/// <summary>Training-time augmentation (config <c>training.augmentation</c>).</summary>
[JsonConverter(typeof(ConfigEnumConverter))]
public enum AugmentationKind
{
    /// <summary>"none".</summary>
    None,
    /// <summary>"flip": random horizontal flip.</summary>
    Flip,
    /// <summary>"flip-shift": flip plus a random shift of up to 2 pixels.</summary>
    [JsonStringEnumMemberName("flip-shift")]
    FlipShift,
}
