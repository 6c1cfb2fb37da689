namespace HashBackdoor.Experiments;

/// <summary>The queries a run is scored on (config <c>evaluation.queries</c>; <see cref="TestTimeAttackRequest.QuerySet"/>,
/// where the command line calls them query and validation).</summary>
public enum QuerySet
{
    /// <summary>"test": the protocol's query split (drawn from the test split): the numbers a paper reports.</summary>
    Test,
    /// <summary>"validation": the protocol's validation queries (from the training side, disjoint from query, training and
    /// database images): for choosing settings. For <c>hashbd attack-queries</c>: the test split's database images.</summary>
    Validation,
}
