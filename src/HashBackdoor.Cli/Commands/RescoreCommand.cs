using System.CommandLine;
using HashBackdoor.Experiments;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd rescore RUN_DIR</c>: every retrieval figure of a finished run recomputed from the codes it saved.</summary>
internal static class RescoreCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("RUN_DIR") { Description = "A finished experiment, ablation or attack-queries folder" };
        var cmd = new Command("rescore", "Recompute every mAP / t-MAP of a finished experiment, ablation or test-time folder from its saved codes (tie-aware, database order beside), without training; rewrites its results files and report") { dir };
        cmd.SetAction(p =>
        {
            int n = SpectreProgress.Run(progress => RescorePipeline.Run(p.GetValue(dir)!, progress, CliRunner.Cancel));
            Console.WriteLine($"rescored {n} result(s) in {Path.GetFullPath(p.GetValue(dir)!)}");
            return 0;
        });
        return cmd;
    }
}
