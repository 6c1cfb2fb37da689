using System.CommandLine;
using HashBackdoor.Cli.Commands;

namespace HashBackdoor.Cli;

/// <summary>The <c>hashbd</c> command: parses flags into the library's options and renders progress. Exit codes:
/// 0 success, 1 unexpected failure, 2 usage error (bad flag or config), 3 data error (bad input file), 4 numerical fault,
/// 5 out of disk space, 130 interrupted.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // Before libtorch loads: idle OpenMP workers sleep instead of spinning (on 2 cores spinning starves the others).
        // Written to the C library's environment too: libgomp reads it with getenv (NativeEnvironment).
        NativeEnvironment.SetIfUnset("OMP_WAIT_POLICY", "PASSIVE");
        return CliRunner.Invoke(Root(), args);
    }

    /// <summary>The command tree, without running anything (also what tests parse documented commands against).</summary>
    public static RootCommand Root()
    {
        var root = new RootCommand("HashBackdoor: deep hashing retrieval, clean-label backdoors (CIBA) and their evaluation.");
        root.Options.Add(CliRunner.Verbose);
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(EncodeCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        root.Subcommands.Add(ExperimentCommand.Create());
        root.Subcommands.Add(AblateCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(AttackQueriesCommand.Create());
        root.Subcommands.Add(DefendCommand.Create());
        root.Subcommands.Add(MergeCommand.Create());
        root.Subcommands.Add(RescoreCommand.Create());
        return root;
    }
}
