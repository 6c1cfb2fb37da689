namespace HashBackdoor.Retrieval;

/// <summary>
/// Precision and recall as functions of the Hamming radius r = 0..K ("hash lookup" curve). At radius r a query
/// retrieves the database items at distance &lt;= r; its precision is relevant retrieved / retrieved (0 when nothing is
/// retrieved) and its recall is relevant retrieved / relevant in the whole database (0 when the database holds no
/// relevant item for it). Both are averaged over all queries at each radius.
/// </summary>
/// <param name="Precision">Mean precision at radius r (index r), fractions, length K + 1.</param>
/// <param name="Recall">Mean recall at radius r (index r), fractions, length K + 1; reaches the share of queries with
/// a relevant item at r = K.</param>
/// <param name="QueriesTotal">All queries (the denominator of every mean).</param>
/// <param name="QueriesWithRelevant">Queries with at least one relevant item in the database.</param>
public sealed record PrecisionRecallCurve(
    IReadOnlyList<double> Precision,
    IReadOnlyList<double> Recall,
    int QueriesTotal,
    int QueriesWithRelevant)
{
    /// <summary>Largest radius, K.</summary>
    public int MaxRadius => Precision.Count - 1;
}
