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
    /// <summary>The hashing model: backbone, code length, pretrained weights, input size, layout and normalisation (the
    /// config section <c>model</c>, so train and experiment describe a model the same way).</summary>
    public ModelConfig Model { get; init; } = new();
    public HashTrainerOptions Trainer { get; init; } = new();
    public required string OutDir { get; init; }
    public bool Resume { get; init; }
    public string Device { get; init; } = "cpu";
}
