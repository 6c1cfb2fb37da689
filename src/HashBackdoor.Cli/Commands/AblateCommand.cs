using System.CommandLine;

namespace HashBackdoor.Cli.Commands;

internal static class AblateCommand
{
    public static Command Create()
    {
        var cmd = new Command("ablate", "Vary one attack setting and plot t-MAP and mAP against it");
        cmd.SetAction((System.CommandLine.ParseResult _) => { throw new UsageException("ablate: not implemented yet"); return 0; });
        return cmd;
    }
}
