using HashBackdoor.Experiments;
using Spectre.Console;

namespace HashBackdoor.Cli;

/// <summary>Prints an experiment's summary as a table with its protocol.</summary>
internal static class ResultsTable
{
    public static void Print(ExperimentResults results)
    {
        var table = new Table().Title("CIBA results (mean ± std over targets x seeds, percent)");
        table.AddColumns("method", "mAP", "t-MAP", "runs");
        foreach (var s in results.Summary)
            table.AddRow(Markup.Escape(MethodNames.Display(s.Method)), $"{s.Map:F2} ± {s.MapStd:F2}", $"{s.TMap:F2} ± {s.TMapStd:F2}", s.Runs.ToString());
        AnsiConsole.Write(table);
        foreach (var key in new[] { "protocol", "R", "tieRule", "queryRule", "targets", "seeds", "poisons", "epsilon" })
            if (results.Protocol.TryGetValue(key, out var v))
                AnsiConsole.WriteLine($"  {key}: {(v is System.Collections.IEnumerable e and not string ? string.Join(", ", e.Cast<object>()) : v)}");
    }
}
