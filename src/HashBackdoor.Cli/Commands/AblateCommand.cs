using System.CommandLine;
using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Sharding;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd ablate</c>: one setting varied, t-MAP and mAP against it.</summary>
internal static class AblateCommand
{
    public static Command Create()
    {
        var config = ExperimentCommand.Config();
        var resume = ExperimentCommand.Resume();
        var vary = new Option<string>("--vary") { Description = $"NAME=V1,V2,... with NAME one of {string.Join(", ", AblationRunner.Settings.Keys)} (eps as 8/255 or 0.031)", Required = true };
        var queries = new Option<string>("--queries")
        {
            Description = "Queries to score on: validation (default; needs protocol.validationPerClass, so that no reported query chooses a setting) or test (the reported queries)",
            DefaultValueFactory = _ => "validation",
        };
        queries.AcceptOnlyFromAmong("validation", "test");
        var outDir = CommonOptions.Out("Ablation folder: one sub-folder per value, ablation.md, ablation_tmap.png, ablation_map.png");
        var shard = ExperimentCommand.Shard();
        var cmd = new Command("ablate", "Vary one setting and tabulate and plot t-MAP and mAP against it (scored on the validation queries; a config with methods: [] and testTime: [p2p, dhta] ablates the test-time attacks)") { config, vary, queries, resume, outDir, shard };
        cmd.SetAction(p =>
        {
            var cfg = ExperimentConfig.Load(p.GetValue(config)!);
            string dir = p.GetValue(outDir)!;
            AblationRunner.ParseVary(p.GetValue(vary)!);
            var scoredOn = p.GetValue(queries) == "test" ? QuerySet.Test : QuerySet.Validation;
            AblationRunner.ScoredOn(cfg, scoredOn);
            if (p.GetValue(shard) is { } s)
            {
                var spec = ShardSpec.Parse(s);
                var points = SpectreProgress.Run(progress => ShardedAblation.Run(cfg, p.GetValue(vary)!, dir, spec, progress, CliRunner.Cancel, scoredOn));
                Console.WriteLine(points is null ? $"shard {spec} done; the last shard (or hashbd merge {dir}) writes the ablation table" : File.ReadAllText(Path.Combine(dir, "ablation.md")));
                return 0;
            }
            SpectreProgress.Run(progress => AblationRunner.Run(cfg, p.GetValue(vary)!, dir, p.GetValue(resume), progress, CliRunner.Cancel, scoredOn));
            Console.WriteLine(File.ReadAllText(Path.Combine(dir, "ablation.md")));
            Console.WriteLine($"plots: {Path.GetFullPath(Path.Combine(dir, "ablation_tmap.png"))}, {Path.GetFullPath(Path.Combine(dir, "ablation_map.png"))}");
            return 0;
        });
        return cmd;
    }
}
