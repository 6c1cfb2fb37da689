using System.CommandLine;
using HashBackdoor.Defenses;
using HashBackdoor.Experiments;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd defend</c>: one defense on one saved attack run of an experiment folder.</summary>
internal static class DefendCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Experiment folder written by hashbd experiment", Required = true };
        var defense = new Option<string>("--defense") { Description = $"Defense: {string.Join(", ", BackdoorDefenses.Names)}", Required = true };
        var target = new Option<int?>("--target") { Description = "Target class of the attack run (default: the run's first)" };
        var seed = new Option<long?>("--seed") { Description = "Seed of the attack run (default: the run's first)" };
        var method = new Option<string?>("--method") { Description = "Attack method (default: ciba if the run has it; 'clean' for the clean model)" };
        var outDir = new Option<string?>("--out") { Description = "Output folder (default: RUN/seed-S/target-T/METHOD/defenses/NAME)" };
        var defenseSeed = new Option<long>("--defense-seed") { Description = "Seed of the defense's random choices", DefaultValueFactory = _ => 0 };
        var noRetrain = new Option<bool>("--no-retrain") { Description = "Training-set filtering: report detection only, do not retrain a victim on the kept images" };
        var device = CommonOptions.Device();
        var cmd = new Command("defend", "Run a backdoor defense on a saved attack run and write its figures (result.json)")
        {
            run, defense, target, seed, method, outDir, defenseSeed, noRetrain, device,
        };
        cmd.SetAction(p =>
        {
            var request = new DefendRequest
            {
                RunDir = p.GetValue(run)!, Defense = p.GetValue(defense)!, OutDir = p.GetValue(outDir),
                DefenseSeed = p.GetValue(defenseSeed), Retrain = !p.GetValue(noRetrain),
                Selection = new DefenseRunSelection
                {
                    Seed = p.GetValue(seed), Target = p.GetValue(target), Method = p.GetValue(method),
                    Device = p.GetValue(device)!,
                },
            };
            var (result, dir) = SpectreProgress.Run(progress => DefendPipeline.Run(request, progress, CliRunner.Cancel));
            foreach (var (name, value) in result.Figures) Console.WriteLine($"{name,-28} {(double.IsFinite(value) ? value.ToString("0.####") : "n/a")}");
            Console.WriteLine($"result: {Path.Combine(dir, "result.json")}");
            return 0;
        });
        return cmd;
    }
}
