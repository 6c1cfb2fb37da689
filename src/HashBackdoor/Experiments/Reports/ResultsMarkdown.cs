using System.Globalization;
using System.Text;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// The results of an experiment as Markdown (results.md): the protocol, the per-method summary and every run.
/// All values are percentages with two decimals; summaries read "mean ± std" (sample standard deviation over runs).
/// </summary>
internal static class ResultsMarkdown
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Renders <paramref name="results"/> as Markdown with three sections: "Protocol" (every entry of
    /// <paramref name="protocol"/> as "key: value", followed by those of <c>results.Protocol</c> not already listed),
    /// "Summary" (Method | mAP (%) | t-MAP (%) | t-MAP, database order (%) | Runs) and "Runs" (Target | Seed | Method |
    /// mAP (%) | t-MAP (%) | t-MAP, database order (%) | t-MAP queries, counted/total).
    /// </summary>
    /// <param name="results">The runs and their per-method summary (computed from the runs when empty).</param>
    /// <param name="protocol">The protocol printed next to the numbers (dataset, split sizes, R, rules, seeds, targets...).</param>
    public static string Render(ExperimentResults results, IReadOnlyDictionary<string, object?> protocol)
    {
        ArgumentNullException.ThrowIfNull(results);
        var sb = new StringBuilder();
        sb.Append("# Results\n\n");
        sb.Append("mAP: mAP@R of clean queries. t-MAP: mAP@R of triggered queries of non-target classes, with the target ")
          .Append("class counted as relevant. Percentages; mean ± sample standard deviation over runs. Every figure is ")
          .Append("tie-aware (the expectation over the orderings of database items at the same Hamming distance, so it does not ")
          .Append("depend on the database's file order); \"database order\" columns break ties by database order, as the ")
          .Append("reference code does.\n\n");

        sb.Append("## Protocol\n\n");
        var entries = ReportText.MergeProtocol(protocol, results.Protocol);
        if (entries.Count == 0) sb.Append("(none recorded)\n");
        foreach (var (key, value) in entries)
            sb.Append("- **").Append(Inline(key)).Append("**: ").Append(Inline(ReportText.Value(value))).Append('\n');
        sb.Append('\n');

        sb.Append("## Summary\n\n");
        sb.Append("| Method | mAP (%) | t-MAP (%) | t-MAP, database order (%) | Runs |\n");
        sb.Append("|---|---:|---:|---:|---:|\n");
        foreach (var s in ReportText.Summary(results))
            sb.Append("| ").Append(ReportText.MarkdownCell(MethodNames.Display(s.Method)))
              .Append(" | ").Append(ReportText.MeanStd(s.Map, s.MapStd))
              .Append(" | ").Append(ReportText.MeanStd(s.TMap, s.TMapStd))
              .Append(" | ").Append(s.TMapDatabaseOrder is null ? "n/a" : ReportText.MeanStd(s.TMapDatabaseOrder.Value, s.TMapDatabaseOrderStd ?? 0))
              .Append(" | ").Append(s.Runs.ToString(Inv)).Append(" |\n");
        sb.Append('\n');

        if (results.Comparisons.Count > 0)
        {
            sb.Append("## Paired comparisons\n\n").Append(ComparisonTable.Legend).Append("\n\n");
            sb.Append(ComparisonTable.Markdown(results.Comparisons)).Append('\n');
        }
        if (results.Runs.Any(r => r.TMapUntriggered is not null || r.Perturbation is not null || r.TriggerEffect is not null))
        {
            sb.Append("## Controls and budget\n\n").Append(ControlsTable.Markdown(results.Runs)).Append('\n');
        }
        if (results.DefenseMatrix.Count > 0)
        {
            sb.Append("## Attack x defense matrix\n\n").Append("Rows: attacks (clean = the clean model with the same triggered queries, the control); ")
              .Append("columns: defenses (docs/defenses.md); each cell from the defense's result.json under seed-S/target-T/METHOD/defenses/NAME/.\n\n")
              .Append(DefenseMatrix.Markdown(results.DefenseMatrix)).Append('\n');
        }

        sb.Append("## Runs\n\n");
        sb.Append("| Target | Seed | Method | mAP (%) | t-MAP (%) | t-MAP, database order (%) | t-MAP queries (counted/total) |\n");
        sb.Append("|---|---:|---|---:|---:|---:|---:|\n");
        foreach (var r in results.Runs)
            sb.Append("| ").Append(ReportText.MarkdownCell(ReportText.Target(r)))
              .Append(" | ").Append(r.Seed.ToString(Inv))
              .Append(" | ").Append(ReportText.MarkdownCell(MethodNames.Display(r.Method)))
              .Append(" | ").Append(ReportText.Percent(r.Map))
              .Append(" | ").Append(ReportText.Percent(r.TMap))
              .Append(" | ").Append(r.DatabaseOrder is null ? "n/a" : ReportText.Percent(r.DatabaseOrder.TMap))
              .Append(" | ").Append(ReportText.Count(r.TMapQueriesCounted)).Append('/').Append(r.TMapQueriesTotal.ToString(Inv))
              .Append(" |\n");
        return sb.ToString();
    }

    /// <summary>One line of Markdown text: line breaks made spaces, characters Markdown would interpret escaped.</summary>
    static string Inline(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '\r' or '\n') { sb.Append(' '); continue; }
            if (c is '\\' or '*' or '_' or '`' or '[' or ']' or '<' or '>' or '|') sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }
}
