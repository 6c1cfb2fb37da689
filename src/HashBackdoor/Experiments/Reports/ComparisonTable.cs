using System.Globalization;
using System.Net;
using System.Text;
using HashBackdoor.Experiments.Statistics;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// Paired comparisons as a table: "A − B" (mean paired difference in points), its 95% bootstrap interval, the blocks in
/// which A is above B, the Wilcoxon signed-rank p-value, and the verdict ("no significant difference" when the interval
/// holds 0).
/// </summary>
internal static class ComparisonTable
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The header sentence printed above the table.</summary>
    public const string Legend = "Paired over (target, seed) blocks: mean difference in percentage points with its 95% percentile "
        + "bootstrap interval (10,000 resamples), blocks won, and the two-sided Wilcoxon signed-rank p-value (exact without ties, "
        + "else normal with tie and continuity corrections). A difference is called significant only when the interval excludes 0 "
        + "and p < 0.05 (with fewer than 6 blocks the signed-rank test cannot reach that); otherwise it reads \"no significant difference\".";

    /// <summary>Markdown table, one row per comparison.</summary>
    public static string Markdown(IReadOnlyList<PairedComparison> rows)
    {
        var sb = new StringBuilder();
        sb.Append("| Comparison | Metric | Mean difference (points) | 95% interval | Blocks won | p (signed-rank) | Verdict |\n");
        sb.Append("|---|---|---:|---|---:|---:|---|\n");
        foreach (var c in rows)
            sb.Append("| ").Append(MethodNames.Display(c.Method)).Append(" − ").Append(MethodNames.Display(c.Against))
              .Append(" | ").Append(c.Metric)
              .Append(" | ").Append(Signed(c.MeanDifference))
              .Append(" | ").Append(Interval(c))
              .Append(" | ").Append(c.Wins.ToString(Inv)).Append('/').Append(c.Blocks.ToString(Inv))
              .Append(" | ").Append(P(c))
              .Append(" | ").Append(Verdict(c)).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>HTML table (escaped), one row per comparison.</summary>
    public static string Html(IReadOnlyList<PairedComparison> rows)
    {
        var sb = new StringBuilder();
        sb.Append("<table class=\"comparisons\"><thead><tr><th>Comparison</th><th>Metric</th><th>Mean difference (points)</th>")
          .Append("<th>95% interval</th><th>Blocks won</th><th>p (signed-rank)</th><th>Verdict</th></tr></thead><tbody>");
        foreach (var c in rows)
            sb.Append("<tr><td>").Append(E(MethodNames.Display(c.Method) + " − " + MethodNames.Display(c.Against))).Append("</td><td>").Append(E(c.Metric))
              .Append("</td><td>").Append(E(Signed(c.MeanDifference))).Append("</td><td>").Append(E(Interval(c)))
              .Append("</td><td>").Append(c.Wins.ToString(Inv)).Append('/').Append(c.Blocks.ToString(Inv))
              .Append("</td><td>").Append(E(P(c))).Append("</td><td>").Append(E(Verdict(c))).Append("</td></tr>");
        sb.Append("</tbody></table>");
        return sb.ToString();
    }

    internal static string Signed(double v) => (v >= 0 ? "+" : "−") + Math.Abs(v).ToString("F2", Inv);
    internal static string Interval(PairedComparison c) => c.Blocks == 0 ? "-" : $"[{Signed(c.Lower)}, {Signed(c.Upper)}]";
    internal static string P(PairedComparison c) => c.Blocks == 0 ? "-" : c.PValue < 0.001 ? "<0.001" : c.PValue.ToString("F3", Inv) + (c.ExactP ? "" : " (normal)");
    /// <summary>The verdict with display names ("ciba above patch only").</summary>
    internal static string Verdict(PairedComparison c) => !c.Significant ? c.Verdict
        : $"{MethodNames.Display(c.Method)} {(c.Lower > 0 ? "above" : "below")} {MethodNames.Display(c.Against)}";
    static string E(string s) => WebUtility.HtmlEncode(s);
}
