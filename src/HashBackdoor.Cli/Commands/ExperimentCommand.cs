using System.CommandLine;
using HashBackdoor.Experiments;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd experiment</c>: the whole CIBA pipeline from one config file.</summary>
internal static class ExperimentCommand
{
    public static Option<string> Config() => new("--config") { Description = "Experiment config (.yaml, .yml or .json); see configs/", DefaultValueFactory = _ => "configs/default.yaml" };

    public static Option<bool> Resume() => new("--resume") { Description = "Continue an interrupted run in --out (the config must be the same)" };

    public static Command Create()
    {
        var config = Config();
        var resume = Resume();
        var outDir = CommonOptions.Out("Run folder: results.json, results.md, report.html, models, codes, triggers");
        var cmd = new Command("experiment", "Run the CIBA experiment (clean model, trigger, poisoned victims, mAP and t-MAP) from a config file") { config, resume, outDir };
        cmd.SetAction(p =>
        {
            var cfg = ExperimentConfig.Load(p.GetValue(config)!);
            string dir = p.GetValue(outDir)!;
            var results = SpectreProgress.Run(progress => new ExperimentRunner(cfg, dir, progress, CliRunner.Cancel).Run(p.GetValue(resume)));
            ResultsTable.Print(results);
            Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(dir, "report.html"))}");
            return 0;
        });
        return cmd;
    }
}
