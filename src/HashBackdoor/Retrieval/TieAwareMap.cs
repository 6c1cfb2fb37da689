namespace HashBackdoor.Retrieval;

/// <summary>
/// Tie-aware mAP@R (or t-MAP@R): the exact expectation over every ordering of the database items that share a Hamming
/// distance with a query (each ordering within a tie group equally likely), so the figure does not depend on the
/// database's file order (<see cref="TieAwareMetrics"/>; derivation in docs/tie-aware-metrics.md). The figure the
/// reference code and DeepHash-pytorch report (ties broken by database order) is kept beside it as
/// <see cref="DatabaseOrder"/>.
/// </summary>
/// <param name="MeanAP">Tie-aware mean AP as a fraction in [0, 1]. Zero rule: mean over all queries of E[AP] (AP = 0 for
/// a query with no relevant item in its top R). Skip rule: sum over queries of E[AP; hit] divided by the expected number
/// of queries with a hit (<see cref="ExpectedQueriesCounted"/>), i.e. each query's expected AP given a hit, weighted by
/// its probability of a hit. 0 when no query can be counted.</param>
/// <param name="ExpectedQueriesCounted">Skip rule: the expected number of queries with at least one relevant item in
/// their top R (the sum of <see cref="HitProbabilities"/>); zero rule: all queries.</param>
/// <param name="QueriesTotal">All queries evaluated.</param>
/// <param name="R">The effective R (reduced to the database size if larger).</param>
/// <param name="Rule">The query rule of <see cref="MeanAP"/>.</param>
/// <param name="ExpectedAveragePrecisions">Per query, in query order: E[AP@R] over the tie orderings, with AP = 0 when
/// the top R holds no relevant item.</param>
/// <param name="HitProbabilities">Per query: the probability over the tie orderings that the top R holds a relevant item.</param>
/// <param name="DatabaseOrder">The same queries ranked with ties broken by database order (the reference code's
/// convention), under the same rule.</param>
public sealed record TieAwareMap(
    double MeanAP,
    double ExpectedQueriesCounted,
    int QueriesTotal,
    int R,
    QueryRule Rule,
    IReadOnlyList<double> ExpectedAveragePrecisions,
    IReadOnlyList<double> HitProbabilities,
    MapResult DatabaseOrder)
{
    /// <summary><see cref="MeanAP"/> in percent.</summary>
    public double Percent => MeanAP * 100.0;

    /// <summary>The same per-query expectations (and the database-order figure) aggregated under <paramref name="rule"/>.</summary>
    public TieAwareMap Under(QueryRule rule) => rule == Rule
        ? this
        : From(ToArray(ExpectedAveragePrecisions), ToArray(HitProbabilities), R, rule, DatabaseOrder.Under(rule));

    /// <summary>Per query, E[AP | the top R holds a relevant item] (NaN when that cannot happen): the tie-aware counterpart
    /// of <see cref="MapResult.AveragePrecisions"/>.</summary>
    public double[] ConditionalAveragePrecisions()
    {
        var result = new double[QueriesTotal];
        for (int i = 0; i < result.Length; i++)
            result[i] = HitProbabilities[i] > 0 ? ExpectedAveragePrecisions[i] / HitProbabilities[i] : double.NaN;
        return result;
    }

    /// <summary>Aggregates per-query expectations under <paramref name="rule"/>, summing in query order (independent of threading).</summary>
    /// <exception cref="UsageException">The two arrays differ in length, or a value is outside [0, 1] or not finite.</exception>
    public static TieAwareMap From(double[] expectedAp, double[] hitProbability, int r, QueryRule rule, MapResult databaseOrder)
    {
        ArgumentNullException.ThrowIfNull(expectedAp);
        ArgumentNullException.ThrowIfNull(hitProbability);
        ArgumentNullException.ThrowIfNull(databaseOrder);
        if (expectedAp.Length != hitProbability.Length)
            throw new UsageException($"{expectedAp.Length} expected APs but {hitProbability.Length} hit probabilities");
        double sumAp = 0, sumHit = 0;
        for (int i = 0; i < expectedAp.Length; i++)
        {
            double a = expectedAp[i], h = hitProbability[i];
            if (!(a >= 0 && a <= 1) || !(h >= 0 && h <= 1) || a > h + 1e-12)
                throw new UsageException($"query {i}: expected AP {a} and hit probability {h} must be in [0, 1] with the AP at most the probability");
            sumAp += a;
            sumHit += h;
        }
        double counted = rule == QueryRule.Skip ? sumHit : expectedAp.Length;
        return new TieAwareMap(counted <= 0 ? 0.0 : sumAp / counted, counted, expectedAp.Length, r, rule, expectedAp, hitProbability, databaseOrder);
    }

    static double[] ToArray(IReadOnlyList<double> values) => values as double[] ?? values.ToArray();

    /// <inheritdoc/>
    public override string ToString() =>
        $"mAP@{R} = {Percent:F2}% tie-aware ({Rule}: {ExpectedQueriesCounted:F1} of {QueriesTotal} queries counted in expectation); "
        + $"{DatabaseOrder.Percent:F2}% in database order ({DatabaseOrder.QueriesCounted} counted)";
}
