using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using HashBackdoor.Defenses;

namespace HashBackdoor.Experiments.Reports;

/// <summary>One defense run on one attack run: the figures the matrix reads.</summary>
public sealed record DefenseRunFigures
{
    [JsonPropertyName("method")] public required string Method { get; init; }
    [JsonPropertyName("defense")] public required string Defense { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    [JsonPropertyName("target")] public int Target { get; init; }
    /// <summary>Clean mAP@R after the defense, percent (NaN: not applicable).</summary>
    [JsonPropertyName("mAPAfter")] [JsonConverter(typeof(NanAsNullJsonConverter))] public double MapAfter { get; init; }
    /// <summary>t-MAP@R after the defense, percent (NaN: not applicable).</summary>
    [JsonPropertyName("tMAPAfter")] [JsonConverter(typeof(NanAsNullJsonConverter))] public double TMapAfter { get; init; }
    /// <summary>Detection ROC AUC (NaN: the defense detects nothing, or nothing to detect).</summary>
    [JsonPropertyName("detectionAUC")] [JsonConverter(typeof(NanAsNullJsonConverter))] public double DetectionAuc { get; init; }
    [JsonPropertyName("seconds")] [JsonConverter(typeof(NanAsNullJsonConverter))] public double Seconds { get; init; }
    /// <summary>Training images a filtering defense removed (NaN: not a filter, or a result written before it was recorded).</summary>
    [JsonPropertyName("removed")] [JsonConverter(typeof(NanAsNullJsonConverter))] public double Removed { get; init; } = double.NaN;
    /// <summary>Training images the filter looked at (NaN: as for <see cref="Removed"/>).</summary>
    [JsonPropertyName("trainingImages")] [JsonConverter(typeof(NanAsNullJsonConverter))] public double TrainingImages { get; init; } = double.NaN;

    /// <summary>The matrix cells of <paramref name="result"/>.</summary>
    public static DefenseRunFigures From(string method, long seed, int target, DefenseResult result) => new()
    {
        Method = method, Defense = result.Defense, Seed = seed, Target = target, Seconds = result.Seconds,
        MapAfter = result.Figure(DefenseFigures.MapAfter), TMapAfter = result.Figure(DefenseFigures.TMapAfter),
        DetectionAuc = result.Figure(DefenseFigures.DetectionAuc),
        Removed = result.Figure(DefenseFigures.Removed), TrainingImages = result.Figure(DefenseFigures.TrainingImages),
    };
}

/// <summary>A cell of the attack x defense matrix: mean and sample standard deviation over targets x seeds of each
/// figure (NaN values left out; a figure with no value is NaN).</summary>
public sealed record DefenseMatrixCell(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("defense")] string Defense,
    [property: JsonPropertyName("runs")] int Runs,
    [property: JsonPropertyName("mAPAfter"), JsonConverter(typeof(NanAsNullJsonConverter))] double MapAfter,
    [property: JsonPropertyName("mAPAfterStd"), JsonConverter(typeof(NanAsNullJsonConverter))] double MapAfterStd,
    [property: JsonPropertyName("tMAPAfter"), JsonConverter(typeof(NanAsNullJsonConverter))] double TMapAfter,
    [property: JsonPropertyName("tMAPAfterStd"), JsonConverter(typeof(NanAsNullJsonConverter))] double TMapAfterStd,
    [property: JsonPropertyName("detectionAUC"), JsonConverter(typeof(NanAsNullJsonConverter))] double DetectionAuc,
    [property: JsonPropertyName("detectionAUCStd"), JsonConverter(typeof(NanAsNullJsonConverter))] double DetectionAucStd,
    [property: JsonPropertyName("seconds"), JsonConverter(typeof(NanAsNullJsonConverter))] double Seconds)
{
    /// <summary>Mean training images removed per run by a filtering defense (NaN: not a filter).</summary>
    [JsonPropertyName("removed"), JsonConverter(typeof(NanAsNullJsonConverter))] public double Removed { get; init; } = double.NaN;
    /// <summary>Mean training images per run the filter looked at (NaN: not a filter).</summary>
    [JsonPropertyName("trainingImages"), JsonConverter(typeof(NanAsNullJsonConverter))] public double TrainingImages { get; init; } = double.NaN;
}

/// <summary>
/// The attack x defense matrix of issue 11: rows are attack methods, columns defenses, each cell clean mAP after,
/// t-MAP after and detection AUC with their spread over targets and seeds. Built from per-run figures, rendered as
/// Markdown (for results.md and docs/defenses.md).
/// </summary>
public static class DefenseMatrix
{
    /// <summary>Cells in the order methods and defenses first appear.</summary>
    public static IReadOnlyList<DefenseMatrixCell> Cells(IEnumerable<DefenseRunFigures> runs) => runs
        .GroupBy(r => (r.Method, r.Defense))
        .Select(g =>
        {
            var (m, ms) = Stats(g.Select(r => r.MapAfter));
            var (t, ts) = Stats(g.Select(r => r.TMapAfter));
            var (a, asd) = Stats(g.Select(r => r.DetectionAuc));
            return new DefenseMatrixCell(g.Key.Method, g.Key.Defense, g.Count(), m, ms, t, ts, a, asd, g.Sum(r => r.Seconds))
            {
                Removed = Stats(g.Select(r => r.Removed)).Mean, TrainingImages = Stats(g.Select(r => r.TrainingImages)).Mean,
            };
        }).ToList();

    /// <summary>Markdown table: one row per method, one column per defense, cells "mAP / t-MAP / AUC" (mean ± sd when
    /// there is more than one run; "–" for not applicable).</summary>
    public static string Markdown(IReadOnlyList<DefenseMatrixCell> cells)
    {
        var methods = cells.Select(c => c.Method).Distinct().ToList();
        var defenses = cells.Select(c => c.Defense).Distinct().ToList();
        int most = cells.Count == 0 ? 0 : cells.Max(c => c.Runs);
        var sb = new StringBuilder();
        sb.Append("| method | ").Append(string.Join(" | ", defenses)).AppendLine(" |");
        sb.Append("|---|").Append(string.Concat(defenses.Select(_ => "---|"))).AppendLine();
        foreach (var m in methods)
        {
            sb.Append("| ").Append(m).Append(" |");
            foreach (var d in defenses)
            {
                var c = cells.FirstOrDefault(x => x.Method == m && x.Defense == d);
                sb.Append(' ').Append(c is null ? "not run" : CellText(c, most)).Append(" |");
            }
            sb.AppendLine();
        }
        sb.AppendLine().AppendLine(Legend);
        return sb.ToString();
    }

    /// <summary>The same table as HTML (cells escaped), for report.html.</summary>
    public static string Html(IReadOnlyList<DefenseMatrixCell> cells)
    {
        var methods = cells.Select(c => c.Method).Distinct().ToList();
        var defenses = cells.Select(c => c.Defense).Distinct().ToList();
        int most = cells.Count == 0 ? 0 : cells.Max(c => c.Runs);
        var sb = new StringBuilder("<table class=\"results\">\n<thead><tr><th>method</th>");
        foreach (var d in defenses) sb.Append("<th>").Append(System.Net.WebUtility.HtmlEncode(d)).Append("</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        foreach (var m in methods)
        {
            sb.Append("<tr><td>").Append(System.Net.WebUtility.HtmlEncode(m)).Append("</td>");
            foreach (var d in defenses)
            {
                var c = cells.FirstOrDefault(x => x.Method == m && x.Defense == d);
                sb.Append("<td>").Append(System.Net.WebUtility.HtmlEncode(c is null ? "not run" : CellText(c, most))).Append("</td>");
            }
            sb.Append("</tr>\n");
        }
        return sb.Append("</tbody>\n</table>\n").ToString();
    }

    /// <summary>Legend of the cells.</summary>
    public const string Legend = "Cells: clean mAP after (%) / t-MAP after (%) / detection ROC AUC (0.5 = chance); mean ± sample standard deviation over targets x seeds (\"(n=R)\": a cell with fewer runs than the others); – = not applicable (repair defenses detect nothing; filters without retraining measure no mAP after); for a training-set filter, \"removed R of N\": training images it removed (mean over runs) of the N it looked at, the cost a defender pays beside the AUC.";

    private static string CellText(DefenseMatrixCell c, int most) =>
        $"{Format(c.MapAfter, c.MapAfterStd, c.Runs, 1)} / {Format(c.TMapAfter, c.TMapAfterStd, c.Runs, 1)} / {Format(c.DetectionAuc, c.DetectionAucStd, c.Runs, 3)}"
        + (double.IsNaN(c.Removed) ? "" : $", removed {c.Removed.ToString("F0", CultureInfo.InvariantCulture)}"
            + (double.IsNaN(c.TrainingImages) ? "" : $" of {c.TrainingImages.ToString("F0", CultureInfo.InvariantCulture)}"))
        + (c.Runs < most ? $" (n={c.Runs})" : "");

    private static string Format(double mean, double std, int runs, int digits)
    {
        if (double.IsNaN(mean)) return "–";
        string f = "F" + digits.ToString(CultureInfo.InvariantCulture);
        return runs > 1 ? $"{mean.ToString(f, CultureInfo.InvariantCulture)} ± {std.ToString(f, CultureInfo.InvariantCulture)}" : mean.ToString(f, CultureInfo.InvariantCulture);
    }

    private static (double Mean, double Std) Stats(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToArray();
        return v.Length == 0 ? (double.NaN, double.NaN) : (v.Average(), MethodSummary.Std(v));
    }
}
