namespace HashBackdoor.Data;

/// <summary>Parameters of a <see cref="RetrievalProtocol"/> split.</summary>
public sealed record ProtocolOptions
{
    /// <summary>Protocol name; null: "DATASET/qQ-tT", e.g. "fashion-mnist/q100-t500".</summary>
    public string? Name { get; init; }

    /// <summary>Queries per class, from the test split (<c>--query-per-class</c>, default 100).</summary>
    public int QueryPerClass { get; init; } = 100;

    /// <summary>Training images per class, from the training split (<c>--train-per-class</c>, default 500).</summary>
    public int TrainPerClass { get; init; } = 500;

    /// <summary>Validation queries per class (<c>protocol.validationPerClass</c>, default 0: none). They are drawn from the
    /// training split after the training images, are disjoint from the query, training and database sets, and are what
    /// tuning and ablations look at, so that the reported queries never choose a setting. With 0 the split is exactly the
    /// one without validation.</summary>
    public int ValidationPerClass { get; init; }

    /// <summary>Seed of the selection (<c>--seed</c>, default 0).</summary>
    public long Seed { get; init; }
}
