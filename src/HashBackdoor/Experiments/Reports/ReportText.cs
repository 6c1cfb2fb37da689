using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace HashBackdoor.Experiments.Reports;

/// <summary>Text formatting shared by the Markdown and HTML reports: numbers, mean ± std, protocol values and escaping.</summary>
internal static class ReportText
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A percentage with two decimals, e.g. <c>63.12</c> (invariant culture).</summary>
    public static string Percent(double value) => double.IsNaN(value) ? "n/a" : value.ToString("F2", Inv);

    /// <summary>A count that may be an expectation (tie-aware skip rule): whole numbers as they are, others with one decimal.</summary>
    public static string Count(double value) => value == Math.Floor(value) ? value.ToString("F0", Inv) : value.ToString("F1", Inv);

    /// <summary>Mean and standard deviation with two decimals, e.g. <c>63.12 ± 1.05</c>.</summary>
    public static string MeanStd(double mean, double std) => $"{Percent(mean)} ± {Percent(std)}";

    /// <summary>
    /// A protocol value as one line of text: strings as they are, numbers in invariant culture, booleans as
    /// true/false, lists joined by ", ", dictionaries as "key=value" pairs, JSON elements (from a parsed results.json)
    /// by kind, null as "null".
    /// </summary>
    public static string Value(object? value) => value switch
    {
        null => "null",
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", Inv),
        float f => f.ToString("R", Inv),
        IFormattable f => f.ToString(null, Inv),
        JsonElement e => Json(e),
        IDictionary d => string.Join(", ", d.Keys.Cast<object>().Select(k => $"{Value(k)}={Value(d[k])}")),
        IEnumerable e => string.Join(", ", e.Cast<object?>().Select(Value)),
        _ => value.ToString() ?? "",
    };

    static string Json(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString() ?? "",
        JsonValueKind.Null or JsonValueKind.Undefined => "null",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Array => string.Join(", ", e.EnumerateArray().Select(Json)),
        JsonValueKind.Object => string.Join(", ", e.EnumerateObject().Select(p => $"{p.Name}={Json(p.Value)}")),
        _ => e.GetRawText(),
    };

    /// <summary>The target of a run: its number, followed by its class name in parentheses when known.</summary>
    public static string Target(RunResult run) =>
        string.IsNullOrEmpty(run.TargetName) ? run.Target.ToString(Inv) : $"{run.Target.ToString(Inv)} ({run.TargetName})";

    /// <summary>Escapes text for one Markdown table cell: pipes and backslashes escaped, line breaks made spaces.</summary>
    public static string MarkdownCell(string text) => text
        .Replace("\\", "\\\\").Replace("|", "\\|").Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ');

    /// <summary>
    /// Escapes text for HTML element content and attribute values: &amp;, &lt;, &gt;, " and ' become entities; every
    /// other character is kept as it is (the report is UTF-8).
    /// </summary>
    public static string Html(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        if (text.AsSpan().IndexOfAny("&<>\"'") < 0) return text;
        var sb = new System.Text.StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// The summaries of <paramref name="results"/>: its recorded summary, or when that is empty, the summary computed
    /// from its runs.
    /// </summary>
    public static IReadOnlyList<MethodSummary> Summary(ExperimentResults results) =>
        results.Summary.Count > 0 || results.Runs.Count == 0 ? results.Summary : MethodSummary.From(results.Runs);

    /// <summary>
    /// The protocol entries to print: those of <paramref name="first"/> in order, then those of
    /// <paramref name="second"/> whose keys are not already present.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, object?>> MergeProtocol(IReadOnlyDictionary<string, object?>? first,
        IReadOnlyDictionary<string, object?>? second)
    {
        var list = new List<KeyValuePair<string, object?>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in new[] { first, second })
            if (source != null)
                foreach (var kv in source)
                    if (seen.Add(kv.Key)) list.Add(kv);
        return list;
    }
}
