namespace HashBackdoor.Experiments;

/// <summary>The queries a run is scored on (config <c>evaluation.queries</c>).</summary>
public enum QuerySet
{
    /// <summary>"test": the protocol's query split (drawn from the test split): the numbers a paper reports.</summary>
    Test,
    /// <summary>"validation": the protocol's validation queries (from the training side, disjoint from query, training and
    /// database images): for choosing settings.</summary>
    Validation,
}
