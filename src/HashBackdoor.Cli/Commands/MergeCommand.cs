using System.CommandLine;
using HashBackdoor.Experiments.Sharding;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd merge RUN_DIR</c>: the results of a sharded experiment or ablation once every shard has finished.</summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("RUN_DIR") { Description = "Run folder of a sharded experiment or ablation (the --out of its shards)" };
        var cmd = new Command("merge", "Write results.json, results.md and report.html (or the ablation's table and plots) of a sharded run once every shard has finished") { dir };
        cmd.SetAction(p =>
        {
            string path = SpectreProgress.Run(progress => RunMerge.Run(p.GetValue(dir)!, progress, CliRunner.Cancel));
            Console.WriteLine($"merged: {Path.GetFullPath(path)}");
            return 0;
        });
        return cmd;
    }
}
