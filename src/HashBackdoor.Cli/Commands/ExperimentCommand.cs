using System.CommandLine;

namespace HashBackdoor.Cli.Commands;

internal static class ExperimentCommand
{
    public static Command Create()
    {
        var cmd = new Command("experiment", "Run the CIBA experiment pipeline from a config file");
        cmd.SetAction((System.CommandLine.ParseResult _) => { throw new UsageException("experiment: not implemented yet"); return 0; });
        return cmd;
    }
}
