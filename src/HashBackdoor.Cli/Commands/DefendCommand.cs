using System.CommandLine;
using HashBackdoor.Defenses;
using HashBackdoor.Experiments;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd defend</c>: one defense on one saved attack run of an experiment folder, or (with
/// <c>--defense all</c> or a comma-separated list) the attack x defense matrix of the whole folder, after which
/// results.json, results.md and report.html are rewritten with it.</summary>
internal static class DefendCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Experiment folder written by hashbd experiment", Required = true };
        var defense = new Option<string>("--defense") { Description = $"Defense: {string.Join(", ", BackdoorDefenses.Names)}; 'all' or a comma-separated list fills the attack x defense matrix", Required = true };
        var target = new Option<int?>("--target") { Description = "Target class of the attack run (default: the run's first; matrix: all)" };
        var seed = new Option<long?>("--seed") { Description = "Seed of the attack run (default: the run's first; matrix: all)" };
        var method = new Option<string?>("--method") { Description = "Attack method (default: ciba if the run has it; 'clean' for the clean model; matrix: a comma-separated list, default all the run's methods)" };
        var outDir = new Option<string?>("--out") { Description = "Output folder (default: RUN/seed-S/target-T/METHOD/defenses/NAME; not with the matrix)" };
        var defenseSeed = new Option<long?>("--defense-seed") { Description = "Seed of the defense's random choices (default 0; matrix: the run's defenseSettings.seed)" };
        var noRetrain = new Option<bool>("--no-retrain") { Description = "Training-set filtering: report detection only, do not retrain a victim on the kept images" };
        var retrain = new Option<string?>("--retrain") { Description = "Matrix: the training-set filters that retrain a victim on the kept images (comma-separated; one victim training per filter per attack run; default: the run's defenseSettings.retrain, none unless set)" };
        var device = CommonOptions.Device();
        var cmd = new Command("defend", "Run backdoor defenses on saved attack runs and write their figures (result.json; the matrix into results.md and report.html)")
        {
            run, defense, target, seed, method, outDir, defenseSeed, noRetrain, retrain, device,
        };
        cmd.SetAction(p =>
        {
            string names = p.GetValue(defense)!;
            if (names.Equals(ExperimentConfig.AllDefenses, StringComparison.OrdinalIgnoreCase) || names.Contains(','))
                return Matrix(p.GetValue(run)!, names, p.GetValue(method), p.GetValue(target), p.GetValue(seed), p.GetValue(outDir),
                    p.GetValue(defenseSeed), p.GetValue(noRetrain), p.GetValue(retrain), p.GetValue(device)!);
            if (p.GetValue(retrain) is not null) throw new UsageException("--retrain: only with --defense all or a list (a single defense retrains unless --no-retrain)");
            var request = new DefendRequest
            {
                RunDir = p.GetValue(run)!, Defense = names, OutDir = p.GetValue(outDir),
                DefenseSeed = p.GetValue(defenseSeed) ?? 0, Retrain = !p.GetValue(noRetrain),
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

    private static int Matrix(string runDir, string names, string? methods, int? target, long? seed, string? outDir, long? defenseSeed, bool noRetrain, string? retrain, string device)
    {
        if (outDir is not null) throw new UsageException("--out: not with --defense all or a list (the matrix writes into the run folder)");
        if (noRetrain && retrain is not null) throw new UsageException("--retrain: not with --no-retrain");
        var request = new DefenseMatrixRequest
        {
            Defenses = names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Methods = methods?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Targets = target is null ? null : new[] { target.Value }, Seeds = seed is null ? null : new[] { seed.Value },
        };
        var results = SpectreProgress.Run(progress =>
            DefenseMatrixRunner.FillFolder(runDir, request, defenseSeed, noRetrain, RunContext.For(device, progress, CliRunner.Cancel),
                retrain?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        Console.Write(HashBackdoor.Experiments.Reports.DefenseMatrix.Markdown(results.DefenseMatrix));
        Console.WriteLine($"report: {Path.Combine(runDir, "report.html")}");
        return 0;
    }
}
