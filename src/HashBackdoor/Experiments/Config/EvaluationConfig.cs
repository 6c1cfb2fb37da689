using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments;

/// <summary>Config section <c>evaluation</c>.</summary>
public sealed record EvaluationConfig
{
    /// <summary>R of mAP@R and t-MAP@R. Default 1000.</summary>
    public int TopK { get; init; } = 1000;

    /// <summary>skip (reference code: queries with no relevant item in the top R are left out) or zero (DeepHash-pytorch:
    /// they count as 0). Default skip.</summary>
    public QueryRule QueryRule { get; init; } = QueryRule.Skip;

    /// <summary>Which queries the run reports on: test (the protocol's queries, the numbers of record) or validation (the
    /// protocol's validation queries, <c>protocol.validationPerClass</c>; what tuning and <c>hashbd ablate</c> look at, so
    /// that no reported query chooses a setting). Default test.</summary>
    public QuerySet Queries { get; init; } = QuerySet.Test;

    /// <summary>Throws <see cref="UsageException"/> naming evaluation.topK.</summary>
    public EvaluationConfig Validate()
    {
        if (TopK < 1) throw new UsageException($"evaluation.topK {TopK}: must be at least 1");
        return this;
    }
}
