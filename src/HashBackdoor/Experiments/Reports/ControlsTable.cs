using System.Globalization;
using System.Net;
using System.Text;
using HashBackdoor.Attacks;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// The controls printed beside the effects: per method (means over its runs) t-MAP under the other query rule, t-MAP of
/// the same queries without the trigger (chance level), and the budget actually spent: the perturbation alone and the
/// poisoned images (perturbation and trigger) against their originals (largest L-inf over the runs in grey levels of
/// 255, mean L2, mean PSNR, mean SSIM); then per (seed, target) the trigger's own effect on the surrogate.
/// </summary>
internal static class ControlsTable
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One row per method.</summary>
    public sealed record Row(string Method, double TMapOtherRule, double? TMapUntriggered, Perceptibility? Perturbation, Perceptibility? Poisoned);

    /// <summary>Rows in the order methods first appear.</summary>
    public static List<Row> Rows(IReadOnlyList<RunResult> runs) => runs.GroupBy(r => r.Method).Select(g => new Row(
        g.Key,
        g.Average(r => r.TMapOtherRule),
        g.All(r => r.TMapUntriggered is not null) ? g.Average(r => r.TMapUntriggered!.Value) : null,
        Mean(g.Select(r => r.Perturbation)),
        Mean(g.Select(r => r.Poisoned)))).ToList();

    /// <summary>The largest L-inf, and the means of L2, PSNR (over runs that have one) and SSIM; null when no run has figures.</summary>
    internal static Perceptibility? Mean(IEnumerable<Perceptibility?> items)
    {
        var list = items.Where(p => p is not null).Select(p => p!).ToList();
        if (list.Count == 0) return null;
        var psnr = list.Where(p => p.MeanPsnr is not null).Select(p => p.MeanPsnr!.Value).ToList();
        return new Perceptibility
        {
            Images = list.Sum(p => p.Images), LInf = list.Max(p => p.LInf), MeanL2 = list.Average(p => p.MeanL2),
            MeanPsnr = psnr.Count == 0 ? null : psnr.Average(), MeanSsim = list.Average(p => p.MeanSsim), Identical = list.Sum(p => p.Identical),
        };
    }

    const string Header = "| Method | t-MAP, other rule (%) | t-MAP untriggered, chance (%) | perturbation L-inf (/255) | perturbation L2 | perturbation PSNR (dB) | perturbation SSIM | poisoned PSNR (dB) | poisoned SSIM |\n"
        + "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";

    /// <summary>Markdown: the method table, then the trigger-effect table.</summary>
    public static string Markdown(IReadOnlyList<RunResult> runs)
    {
        var sb = new StringBuilder(Header);
        foreach (var r in Rows(runs))
            sb.Append("| ").Append(string.Join(" | ", Cells(r))).Append(" |\n");
        var effects = Effects(runs);
        if (effects.Count > 0)
        {
            sb.Append("\nThe trigger on the surrogate: mean Hamming distance of the triggered non-target queries' codes to the anchor, ")
              .Append("with the initial patch and with the trigger (chance: K/2).\n\n");
            sb.Append("| Seed | Target | K | before | after |\n|---:|---|---:|---:|---:|\n");
            foreach (var (r, e) in effects)
                sb.Append("| ").Append(r.Seed.ToString(Inv)).Append(" | ").Append(ReportText.MarkdownCell(ReportText.Target(r)))
                  .Append(" | ").Append(e.Bits.ToString(Inv)).Append(" | ").Append(e.DistanceBefore.ToString("F2", Inv))
                  .Append(" | ").Append(e.DistanceAfter.ToString("F2", Inv)).Append(" |\n");
        }
        return sb.ToString();
    }

    /// <summary>HTML: the same two tables (escaped).</summary>
    public static string Html(IReadOnlyList<RunResult> runs)
    {
        var sb = new StringBuilder();
        var head = Header.Split('\n')[0].Trim('|').Split('|').Select(h => h.Trim());
        sb.Append("<table class=\"controls\"><thead><tr>");
        foreach (var h in head) sb.Append("<th>").Append(WebUtility.HtmlEncode(h)).Append("</th>");
        sb.Append("</tr></thead><tbody>\n");
        foreach (var r in Rows(runs))
        {
            sb.Append("<tr>");
            foreach (var c in Cells(r)) sb.Append("<td>").Append(WebUtility.HtmlEncode(c)).Append("</td>");
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody></table>\n");
        var effects = Effects(runs);
        if (effects.Count > 0)
        {
            sb.Append("<p>The trigger on the surrogate: mean Hamming distance of the triggered non-target queries' codes to the anchor, ")
              .Append("with the initial patch and with the trigger (chance: K/2).</p>\n<table class=\"trigger-effect\"><thead><tr><th>Seed</th><th>Target</th><th>K</th><th>before</th><th>after</th></tr></thead><tbody>\n");
            foreach (var (r, e) in effects)
                sb.Append("<tr><td>").Append(r.Seed.ToString(Inv)).Append("</td><td>").Append(WebUtility.HtmlEncode(ReportText.Target(r)))
                  .Append("</td><td>").Append(e.Bits.ToString(Inv)).Append("</td><td>").Append(e.DistanceBefore.ToString("F2", Inv))
                  .Append("</td><td>").Append(e.DistanceAfter.ToString("F2", Inv)).Append("</td></tr>\n");
            sb.Append("</tbody></table>\n");
        }
        return sb.ToString();
    }

    static List<(RunResult Run, TriggerEffect Effect)> Effects(IReadOnlyList<RunResult> runs) =>
        runs.Where(r => r.TriggerEffect is not null).Select(r => (r, r.TriggerEffect!)).ToList();

    static IEnumerable<string> Cells(Row r)
    {
        yield return MethodNames.Display(r.Method);
        yield return r.TMapOtherRule.ToString("F2", Inv);
        yield return r.TMapUntriggered?.ToString("F2", Inv) ?? "-";
        yield return r.Perturbation is null ? "-" : (r.Perturbation.LInf * 255).ToString("F1", Inv);
        yield return r.Perturbation is null ? "-" : r.Perturbation.MeanL2.ToString("F3", Inv);
        yield return r.Perturbation is null ? "-" : r.Perturbation.MeanPsnr?.ToString("F1", Inv) ?? "∞ (unchanged)";
        yield return r.Perturbation is null ? "-" : r.Perturbation.MeanSsim.ToString("F4", Inv);
        yield return r.Poisoned is null ? "-" : r.Poisoned.MeanPsnr?.ToString("F1", Inv) ?? "∞ (unchanged)";
        yield return r.Poisoned is null ? "-" : r.Poisoned.MeanSsim.ToString("F4", Inv);
    }
}
