using System.CommandLine;
using HashBackdoor.Experiments;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd ablate</c>: one setting varied, t-MAP and mAP against it.</summary>
internal static class AblateCommand
{
    public static Command Create()
    {
        var config = ExperimentCommand.Config();
        var resume = ExperimentCommand.Resume();
        var vary = new Option<string>("--vary") { Description = $"NAME=V1,V2,... with NAME one of {string.Join(", ", AblationRunner.Settings.Keys)} (eps as 8/255 or 0.031)", Required = true };
        var outDir = CommonOptions.Out("Ablation folder: one sub-folder per value, ablation.md, ablation_tmap.png, ablation_map.png");
        var cmd = new Command("ablate", "Vary one setting and tabulate and plot t-MAP and mAP against it") { config, vary, resume, outDir };
        cmd.SetAction(p =>
        {
            var cfg = ExperimentConfig.Load(p.GetValue(config)!);
            string dir = p.GetValue(outDir)!;
            AblationRunner.ParseVary(p.GetValue(vary)!);
            SpectreProgress.Run(progress => AblationRunner.Run(cfg, p.GetValue(vary)!, dir, p.GetValue(resume), progress, CliRunner.Cancel));
            Console.WriteLine(File.ReadAllText(Path.Combine(dir, "ablation.md")));
            Console.WriteLine($"plots: {Path.GetFullPath(Path.Combine(dir, "ablation_tmap.png"))}, {Path.GetFullPath(Path.Combine(dir, "ablation_map.png"))}");
            return 0;
        });
        return cmd;
    }
}
