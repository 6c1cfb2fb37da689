using System.Globalization;
using System.Text;
using HashBackdoor.Experiments.Statistics;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// ablation.md: which queries the ablation was scored on, the per-value table (mean ± sample standard deviation over the
/// (target, seed) blocks, <see cref="AblationPlot.MarkdownTable"/>), and each value's t-MAP paired against the first
/// value's (<see cref="ValueComparison"/>).
/// </summary>
internal static class AblationMarkdown
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The sentence saying which queries an ablation was scored on.</summary>
    public static string QueriesSentence(QuerySet queries) => queries == QuerySet.Validation
        ? "Scored on the validation queries (evaluation.queries: validation; protocol.validationPerClass per class, drawn from the "
          + "training side and disjoint from the training, query and database images), so that no reported query chooses a setting. "
          + "`--queries test` scores on the reported queries instead."
        : "Scored on the reported (test) queries (`--queries test`): these figures must not be used to choose a setting that is then "
          + "reported on the same queries.";

    /// <summary>The whole of ablation.md.</summary>
    public static string Render(string variedName, IReadOnlyList<AblationPoint> points, IReadOnlyList<ValueComparison> comparisons, QuerySet queries)
    {
        var sb = new StringBuilder();
        sb.Append("# Ablation: ").Append(variedName).Append("\n\n").Append(QueriesSentence(queries)).Append("\n\n");
        sb.Append("Per value and method: mean ± sample standard deviation over the (target, seed) blocks (Runs = blocks). ")
          .Append("t-MAP: mAP@R of triggered (or, for test-time rows, adversarial) non-target queries with the target class relevant; mAP: clean queries.\n\n");
        sb.Append(AblationPlot.MarkdownTable(variedName, points)).Append('\n');
        if (comparisons.Count > 0)
        {
            sb.Append("## Each value against ").Append(variedName).Append(" = ").Append(comparisons[0].First).Append(" (t-MAP)\n\n")
              .Append(ComparisonTable.Legend).Append("\n\n");
            sb.Append("| Method | Comparison | Mean difference (points) | 95% interval | Blocks won | p (signed-rank) | Verdict |\n");
            sb.Append("|---|---|---:|---|---:|---:|---|\n");
            foreach (var c in comparisons)
            {
                var p = c.Paired;
                string verdict = !p.Significant ? "no significant difference"
                    : $"{variedName}={c.Value} {(p.Lower > 0 ? "above" : "below")} {variedName}={c.First}";
                sb.Append("| ").Append(ReportText.MarkdownCell(MethodNames.Display(c.Method)))
                  .Append(" | ").Append(ReportText.MarkdownCell($"{variedName}={c.Value} − {variedName}={c.First}"))
                  .Append(" | ").Append(ComparisonTable.Signed(p.MeanDifference))
                  .Append(" | ").Append(ComparisonTable.Interval(p))
                  .Append(" | ").Append(p.Wins.ToString(Inv)).Append('/').Append(p.Blocks.ToString(Inv))
                  .Append(" | ").Append(ComparisonTable.P(p))
                  .Append(" | ").Append(ReportText.MarkdownCell(verdict)).Append(" |\n");
            }
        }
        return sb.ToString();
    }
}
