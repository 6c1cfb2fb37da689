using System.Text.Json.Serialization;

namespace HashBackdoor.Hashing;

/// <summary>The optimiser of training (config <c>training.optimizer</c>).</summary>
[JsonConverter(typeof(ConfigEnumConverter))]
public enum OptimizerKind
{
    /// <summary>"adam": Adam (the CPU recipe).</summary>
    Adam,
    /// <summary>"sgd": SGD with momentum (the reference recipe).</summary>
    Sgd,
}
