using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments;

/// <summary>
/// The retrieval figures of one (target, seed, method) run from codes: clean mAP, t-MAP of the triggered queries under
/// both query rules, the untriggered control, all tie-aware, with the database-order figures beside them. Used by the
/// experiment as it runs and by <see cref="RescorePipeline"/> on the codes it saved, so both give the same numbers.
/// </summary>
public static class TargetFigures
{
    /// <summary>A poisoning run (or the clean model with the trigger): the metric fields of its <see cref="RunResult"/>
    /// (identity fields are the caller's).</summary>
    /// <param name="clean">The model's clean mAP (tie-aware, database order beside).</param>
    /// <param name="index">The model's database index.</param>
    /// <param name="triggered">Codes of the triggered non-target queries.</param>
    /// <param name="untriggered">Codes of the same queries without the trigger (the chance-level control).</param>
    /// <param name="target">Target class.</param>
    /// <param name="database">The model's database codes and labels.</param>
    /// <param name="topK">R.</param>
    /// <param name="rule">The reported query rule.</param>
    public static RunResult Score(TieAwareMap clean, HammingIndex index, BinaryCodes triggered, BinaryCodes untriggered, int target,
        EncodedSet database, int topK, QueryRule rule)
    {
        var t = RetrievalScoring.TargetMap(index, triggered, target, database, topK, rule);
        var t2 = t.Under(RetrievalScoring.Other(rule));
        var chance = RetrievalScoring.TargetMap(index, untriggered, target, database, topK, rule);
        return new RunResult
        {
            Method = "",
            Map = Round(clean.Percent), TMap = Round(t.Percent), TMapQueriesCounted = Round(t.ExpectedQueriesCounted), TMapQueriesTotal = t.QueriesTotal,
            TMapOtherRule = Round(t2.Percent), TMapUntriggered = Round(chance.Percent),
            DatabaseOrder = new DatabaseOrderFigures
            {
                Map = Round(clean.DatabaseOrder.Percent), TMap = Round(t.DatabaseOrder.Percent), TMapQueriesCounted = t.DatabaseOrder.QueriesCounted,
                TMapOtherRule = Round(t2.DatabaseOrder.Percent), TMapUntriggered = Round(chance.DatabaseOrder.Percent),
            },
        };
    }

    /// <summary>A test-time attack row: t-MAP of the adversarial queries against the clean model; mAP and the chance
    /// level are the clean model's (<paramref name="cleanRun"/>, the "patch only" row of the same target).</summary>
    public static RunResult TestTime(RunResult cleanRun, TieAwareMap t, QueryRule otherRule)
    {
        var t2 = t.Under(otherRule);
        return new RunResult
        {
            Method = "",
            Map = cleanRun.Map, TMap = Round(t.Percent), TMapQueriesCounted = Round(t.ExpectedQueriesCounted), TMapQueriesTotal = t.QueriesTotal,
            TMapOtherRule = Round(t2.Percent), TMapUntriggered = cleanRun.TMapUntriggered,
            DatabaseOrder = new DatabaseOrderFigures
            {
                Map = cleanRun.DatabaseOrder?.Map ?? cleanRun.Map, TMap = Round(t.DatabaseOrder.Percent), TMapQueriesCounted = t.DatabaseOrder.QueriesCounted,
                TMapOtherRule = Round(t2.DatabaseOrder.Percent), TMapUntriggered = cleanRun.DatabaseOrder?.TMapUntriggered ?? cleanRun.TMapUntriggered,
            },
        };
    }

    static double Round(double v) => Math.Round(v, 4);
}
