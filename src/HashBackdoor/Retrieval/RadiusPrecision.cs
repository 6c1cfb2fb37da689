namespace HashBackdoor.Retrieval;

/// <summary>
/// Precision within a Hamming radius, DeepHash convention: per query, the fraction of relevant items among the database
/// items at distance &lt;= <see cref="Radius"/>; a query with no item within the radius counts as 0; the mean is over
/// all queries.
/// </summary>
/// <param name="Precision">Mean precision as a fraction in [0, 1].</param>
/// <param name="Radius">The Hamming radius (2 by convention).</param>
/// <param name="QueriesTotal">All queries (the denominator of the mean).</param>
/// <param name="QueriesWithinRadius">Queries with at least one database item within the radius (the others count 0).</param>
public sealed record RadiusPrecision(double Precision, int Radius, int QueriesTotal, int QueriesWithinRadius)
{
    /// <summary><see cref="Precision"/> in percent.</summary>
    public double Percent => Precision * 100.0;
}
