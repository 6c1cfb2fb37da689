using HashBackdoor.Data;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments;

/// <summary>
/// The protocol printed next to every number, written in one place for <c>hashbd evaluate</c> (metrics.json) and
/// <c>hashbd experiment</c> (results.json): how ties are ranked, which queries count, what is relevant.
/// </summary>
public static class ProtocolDescription
{
    /// <summary>The ranking and its tie rule.</summary>
    public const string TieRule = "Hamming distance; every figure is tie-aware: the exact expectation over all orderings of database items at the same distance (docs/tie-aware-metrics.md)";

    /// <summary>What "tie-aware" means, written beside the figures.</summary>
    public const string RankingText = "tie-aware (expectation over the orderings of tied database items; does not depend on the database's file order)";

    /// <summary>What the database-order figures are.</summary>
    public const string DatabaseOrderText = "ties broken by database order (stable sort), the reference code's and DeepHash-pytorch's convention; depends on the database's file order";

    /// <summary>What the skip rule means for tie-aware figures.</summary>
    public const string TieAwareSkipText = "tie-aware skip rule: sum over queries of E[AP; hit] / expected number of queries with a hit (each query's expected AP given a hit, weighted by its hit probability); queriesCounted is that expectation";

    /// <summary>Relevance of a database item to a clean query.</summary>
    public const string Relevance = "shares at least one label";

    /// <summary>The queries of t-MAP and their relevance.</summary>
    public const string TriggeredQueries = "query images sharing no label with the target, trigger pasted; relevant = database image has the target label";

    /// <summary>The name of a query rule (skip, zero).</summary>
    public static string RuleName(QueryRule rule) => ConfigEnumConverter.NameOf(rule);

    /// <summary>What a query rule does.</summary>
    public static string RuleText(QueryRule rule) => rule == QueryRule.Skip
        ? "skip: mean over queries with at least one relevant item in the top R (reference code); " + TieAwareSkipText
        : "zero: queries with no relevant item in the top R count as 0 (DeepHash-pytorch)";

    /// <summary>The protocol of a trained model's evaluation (metrics.json).</summary>
    public static Dictionary<string, object?> ForModel(LoadedRun run, int r, QueryRule rule) => new()
    {
        ["dataset"] = run.Record.Dataset,
        ["protocol"] = run.Split.Name,
        ["seed"] = run.Record.Protocol.Seed,
        ["query"] = run.Split.Query.Count,
        ["database"] = run.Split.Database.Count,
        ["train"] = run.Split.Train.Count,
        ["bits"] = run.Record.Model.Bits,
        ["architecture"] = run.Record.Model.Architecture,
        ["loss"] = run.Record.Trainer.Loss,
        ["R"] = r,
        ["tieRule"] = TieRule,
        ["queryRule"] = RuleText(rule),
        ["relevance"] = Relevance,
    };

    /// <summary>The protocol of an experiment (results.json), with its wall time.</summary>
    public static Dictionary<string, object?> ForExperiment(ExperimentConfig config, ProtocolSplit split, double wallSeconds)
    {
        int classSize = config.Targets.Select(t => Attacks.TargetRows.Indices(split.Train, t).Length).Min();
        return new()
        {
            ["dataset"] = config.Dataset,
            ["protocol"] = split.Name,
            ["protocolSeed"] = config.Protocol.Seed,
            ["query"] = split.Query.Count,
            ["train"] = split.Train.Count,
            ["database"] = split.Database.Count,
            ["reportedQueries"] = config.Evaluation.Queries == QuerySet.Validation
                ? $"validation ({config.Queries(split).Count} validation queries from the training side; for choosing settings, not for reporting)"
                : $"test ({split.Query.Count} protocol queries)",
            ["architecture"] = config.Model.Architecture,
            ["bits"] = config.Model.Bits,
            ["loss"] = config.Training.Loss,
            ["epochs"] = config.Training.Epochs,
            ["surrogate"] = ConfigEnumConverter.NameOf(config.Surrogate.Kind),
            ["threatModel"] = config.Surrogate.Describe(config.Training.Loss, config.Model.Architecture),
            ["targets"] = config.Targets.Select(t => $"{t} ({split.ClassNames[t]})").ToArray(),
            ["seeds"] = config.Seeds,
            ["repetitions"] = config.Targets.Count * config.Seeds.Count,
            ["poisons"] = config.Poison.Count,
            ["poisonFractionOfTargetClass"] = Math.Round((double)config.Poison.Count / classSize, 4),
            ["poisonFractionOfTrainingSet"] = Math.Round((double)config.Poison.Count / split.Train.Count, 5),
            ["triggerSize"] = config.Trigger.Size,
            ["triggerSteps"] = config.Trigger.Steps,
            ["triggerInit"] = ConfigEnumConverter.NameOf(config.Trigger.Init),
            ["epsilon"] = $"{config.Perturbation.Epsilon * 255:F1}/255 (pixel units)",
            ["lambda"] = config.Perturbation.Lambda,
            ["perturbationRounds"] = config.Perturbation.Rounds,
            ["R"] = config.Evaluation.TopK,
            ["tieRule"] = TieRule,
            ["ranking"] = RankingText,
            ["databaseOrder"] = "runs[].databaseOrder and summary[].tMAPDatabaseOrder: " + DatabaseOrderText,
            ["queryRule"] = RuleText(config.Evaluation.QueryRule),
            ["relevance"] = Relevance,
            ["tMAPQueries"] = TriggeredQueries,
            ["spread"] = "sample standard deviation over targets x seeds",
            ["wallSeconds"] = Math.Round(wallSeconds, 0),
            ["machine"] = RunRecord.DescribeMachine(),
            ["toolkitVersion"] = ToolkitInfo.Version,
        };
    }
}
