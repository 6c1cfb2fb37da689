using System.CommandLine;
using System.CommandLine.Parsing;
using Spectre.Console;

namespace HashBackdoor.Cli;

/// <summary>Turns every failure into one line on stderr and a documented exit code; a stack trace only with --verbose.</summary>
public static class CliRunner
{
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print stack traces of failures", Recursive = true };

    public static int Invoke(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // A misspelt command or flag is the cause of whatever else failed to parse ("Required command was not
            // provided" after "hashbd trian"): report the error about the first unmatched token when there is one.
            var error = parse.UnmatchedTokens.Count > 0
                ? parse.Errors.FirstOrDefault(e => e.Message.Contains($"'{parse.UnmatchedTokens[0]}'", StringComparison.Ordinal)) ?? parse.Errors[0]
                : parse.Errors[0];
            Console.Error.WriteLine($"hashbd: {error.Message} (see hashbd --help)");
            return 2;
        }
        bool verbose = parse.GetValue(Verbose);
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            Cancel = cts.Token;
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } ae ? ae.InnerExceptions[0] : e;
            int code = inner switch
            {
                HashBackdoorException h => h.ExitCode,
                // A full disk met outside AtomicFile (a library writing on its own): the same code as OutOfSpaceException.
                IOException io when DiskSpace.IsOutOfSpace(io) => 5,
                OperationCanceledException => 130,
                _ => 1,
            };
            string msg = inner switch
            {
                OperationCanceledException => "interrupted; run again with --resume to continue",
                // The library names config keys and parameters; the user typed flags.
                HashBackdoorException => Commands.FlagErrors.Translate(inner.Message, parse.CommandResult.Command.Name),
                _ => inner.Message,
            };
            msg = msg.ReplaceLineEndings(" ");
            Console.Error.WriteLine($"hashbd: error: {msg}");
            if (verbose) Console.Error.WriteLine(inner.ToString());
            return code;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Cancelled by Ctrl+C.</summary>
    public static CancellationToken Cancel { get; private set; }

    /// <summary>Whether progress bars can be drawn (not when output is redirected).</summary>
    public static bool Interactive => !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
}
