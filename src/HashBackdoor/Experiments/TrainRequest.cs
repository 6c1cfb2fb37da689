using System.Diagnostics;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Inputs of <see cref="TrainPipeline"/>.</summary>
public sealed record TrainRequest
{
    public string Dataset { get; init; } = "fashion-mnist";
    public ProtocolOptions Protocol { get; init; } = new();
    public string Architecture { get; init; } = "small-cnn";
    public int Bits { get; init; } = 48;
    /// <summary>Pretrained backbone, input size, layout and normalisation: see the same members of <see cref="HashBackdoor.Hashing.HashModelSpec"/>.</summary>
    public string? Pretrained { get; init; }
    /// <summary>See <see cref="HashBackdoor.Hashing.HashModelSpec.InputSize"/>.</summary>
    public int? InputSize { get; init; }
    /// <summary>See <see cref="HashBackdoor.Hashing.HashModelSpec.Layout"/>.</summary>
    public string? Layout { get; init; }
    /// <summary>See <see cref="HashBackdoor.Hashing.HashModelSpec.Normalization"/>.</summary>
    public string? Normalization { get; init; }
    public HashTrainerOptions Trainer { get; init; } = new();
    public required string OutDir { get; init; }
    public bool Resume { get; init; }
    public string Device { get; init; } = "cpu";
}
