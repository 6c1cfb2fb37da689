using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Options of <see cref="EvaluatePipeline"/>.</summary>
public sealed record EvaluateOptions
{
    public int TopK { get; init; } = 1000;
    public QueryRule Rule { get; init; } = QueryRule.Skip;
    public IReadOnlyList<int> PrecisionAt { get; init; } = new[] { 100, 500, 1000 };
    public string Device { get; init; } = "cpu";
    public bool WriteCodes { get; init; } = true;
}
