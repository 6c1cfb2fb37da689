namespace HashBackdoor.Retrieval;

/// <summary>How mAP@R treats a query with no relevant item among its top R results (its AP is 0/0).</summary>
public enum QueryRule
{
    /// <summary>Reference rule: such a query is left out; the mean is over the queries with at least one relevant
    /// item in their top R (<see cref="MapResult.QueriesCounted"/> of them).</summary>
    Skip,

    /// <summary>DeepHash-pytorch rule: such a query counts with AP = 0; the mean is over all queries.</summary>
    Zero,
}
