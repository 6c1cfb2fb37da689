namespace HashBackdoor.Retrieval;

/// <summary>
/// The result of a mAP@R (or t-MAP@R) evaluation.
/// </summary>
/// <param name="MeanAP">Mean average precision as a fraction in [0, 1] (see <see cref="Percent"/>). 0 when no query
/// was counted.</param>
/// <param name="QueriesCounted">Queries in the mean: under <see cref="QueryRule.Skip"/> those with at least one
/// relevant item in their top R; under <see cref="QueryRule.Zero"/> all of them.</param>
/// <param name="QueriesTotal">All queries evaluated.</param>
/// <param name="QueriesWithRelevant">Queries with at least one relevant item in their top R (whatever the rule).</param>
/// <param name="R">The effective R: the requested R, reduced to the database size if larger.</param>
/// <param name="Rule">The query rule used.</param>
/// <param name="AveragePrecisions">Per-query AP (fraction), in query order; NaN for a query with no relevant item in
/// its top R.</param>
public sealed record MapResult(
    double MeanAP,
    int QueriesCounted,
    int QueriesTotal,
    int QueriesWithRelevant,
    int R,
    QueryRule Rule,
    IReadOnlyList<double> AveragePrecisions)
{
    /// <summary><see cref="MeanAP"/> in percent (0 to 100), as papers report it.</summary>
    public double Percent => MeanAP * 100.0;

    /// <summary>The same per-query APs aggregated under <paramref name="rule"/>: both rules come from one ranking.</summary>
    public MapResult Under(QueryRule rule) =>
        rule == Rule ? this : FromAveragePrecisions(AveragePrecisions as double[] ?? AveragePrecisions.ToArray(), R, rule);

    /// <summary>Aggregates per-query APs (NaN = no relevant item in the top R) under <paramref name="rule"/>, summing
    /// in query order so that the result does not depend on threading.</summary>
    internal static MapResult FromAveragePrecisions(double[] aps, int r, QueryRule rule)
    {
        double sum = 0;
        int withRelevant = 0;
        foreach (double ap in aps)
        {
            if (double.IsNaN(ap)) continue;
            sum += ap;
            withRelevant++;
        }
        int counted = rule == QueryRule.Skip ? withRelevant : aps.Length;
        return new MapResult(counted == 0 ? 0.0 : sum / counted, counted, aps.Length, withRelevant, r, rule, aps);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"mAP@{R} = {Percent:F2}% ({Rule}: {QueriesCounted} of {QueriesTotal} queries counted, {QueriesWithRelevant} with a relevant item)";
}
