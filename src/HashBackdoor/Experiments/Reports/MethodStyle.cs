namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// Fixed colours and display names of the attack methods, so every chart of a report shows a method the same way:
/// clean (the clean model with triggered queries, "patch only") grey, tri blue, tri+noise orange, tri+adv green, ciba red,
/// the test-time attacks p2p purple and dhta brown; any other
/// method takes the next colour of a colour-blind-friendly palette in order of first appearance.
/// </summary>
internal static class MethodStyle
{
    static readonly Dictionary<string, string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["clean"] = "#7f7f7f",
        ["tri"] = "#1f77b4",
        ["tri+noise"] = "#ff7f0e",
        ["tri+adv"] = "#2ca02c",
        ["ciba"] = "#d62728",
        ["p2p"] = "#9467bd",
        ["dhta"] = "#8c564b",
    };

    static readonly string[] Others = { "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#843c39", "#5254a3", "#8ca252" };

    /// <summary>Hex colours (<c>#rrggbb</c>) for each method of <paramref name="methods"/>, in the same order.</summary>
    public static string[] Colors(IReadOnlyList<string> methods)
    {
        var result = new string[methods.Count];
        var other = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < methods.Count; i++)
        {
            if (Known.TryGetValue(methods[i], out var hex)) { result[i] = hex; continue; }
            if (!other.TryGetValue(methods[i], out hex))
            {
                hex = Others[other.Count % Others.Length];
                other[methods[i]] = hex;
            }
            result[i] = hex;
        }
        return result;
    }

    /// <summary>ScottPlot colour of a <c>#rrggbb</c> hex string.</summary>
    internal static ScottPlot.Color ToPlotColor(string hex) => ScottPlot.Color.FromHex(hex);
}
