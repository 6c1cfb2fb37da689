using System.Text.Json.Serialization;

namespace HashBackdoor.Hashing;

/// <summary>The learning-rate schedule of training (config <c>training.schedule</c>).</summary>
[JsonConverter(typeof(ConfigEnumConverter))]
public enum LearningRateSchedule
{
    /// <summary>"none": constant.</summary>
    None,
    /// <summary>"cosine": cosine decay to 0 over the epochs, set once per epoch.</summary>
    Cosine,
}
