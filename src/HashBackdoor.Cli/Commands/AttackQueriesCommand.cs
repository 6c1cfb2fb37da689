using System.CommandLine;
using HashBackdoor.Attacks.TestTime;
using HashBackdoor.Experiments;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd attack-queries</c>: a test-time targeted attack (P2P, DHTA) on a trained model's queries.</summary>
internal static class AttackQueriesCommand
{
    public static Command Create()
    {
        var defaults = new TestTimeAttackOptions();
        var model = CommonOptions.ModelDir();
        var target = new Option<string>("--target") { Description = "Target class (or a comma list: one attack per combination)", Required = true };
        var method = new Option<string>("--method") { Description = $"Test-time attack: {string.Join(", ", TestTimeAttacks.Names)} (or a comma list)", DefaultValueFactory = _ => "dhta" };
        var eps = new Option<string>("--eps") { Description = "L-inf budget in pixel units on 0..1, as k/255 or a number (or a comma list)", DefaultValueFactory = _ => "8/255" };
        var steps = new Option<int>("--steps") { Description = "Optimisation steps per query", DefaultValueFactory = _ => defaults.Steps };
        var stepSize = new Option<string?>("--step-size") { Description = "Step length in pixel units (k/255 or a number); default eps/4" };
        var rule = new Option<string>("--step-rule") { Description = "sign (L-inf PGD) or l2 (gradient / ||gradient||_2, the DHTA reference)", DefaultValueFactory = _ => "sign" };
        var queries = new Option<int?>("--queries") { Description = "Attack a seeded subset of N images (default: every non-target query; 200 for --query-set validation)" };
        var querySet = new Option<string>("--query-set") { Description = "query (the protocol's non-target queries) or validation (test-split database images, for tuning)", DefaultValueFactory = _ => "query" };
        var seed = new Option<long>("--seed") { Description = "Seed of the query subset and of P2P's target codes", DefaultValueFactory = _ => 0 };
        var topk = new Option<int>("--topk") { Description = "R of t-MAP@R", DefaultValueFactory = _ => 1000 };
        var device = CommonOptions.Device();
        var outDir = CommonOptions.Out("Folder for attack.json (several combinations: one sub-folder METHOD-tTARGET-epsK each)");
        var cmd = new Command("attack-queries", "Perturb non-target queries towards a target class (P2P, DHTA) and report t-MAP beside chance level")
        {
            model, target, method, eps, steps, stepSize, rule, queries, querySet, seed, topk, device, outDir,
        };
        cmd.SetAction(p =>
        {
            string? size = p.GetValue(stepSize);
            var stepRule = p.GetValue(rule) switch
            {
                "sign" => StepRule.Sign,
                "l2" => StepRule.L2,
                var r => throw new UsageException($"--step-rule {r}: unknown rule (sign, l2)"),
            };
            var set = p.GetValue(querySet) switch
            {
                "query" => QuerySet.Test,
                "validation" => QuerySet.Validation,
                var q => throw new UsageException($"--query-set {q}: unknown set (query, validation)"),
            };
            var targets = List(p.GetValue(target)!).Select(t => int.TryParse(t, out int v) ? v : throw new UsageException($"--target {t}: not a class index")).ToArray();
            var methods = List(p.GetValue(method)!);
            var budgets = List(p.GetValue(eps)!).Select(e => PixelBudget.Parse(e, "--eps")).ToArray();
            bool many = targets.Length * methods.Length * budgets.Length > 1;
            var requests = (from t in targets from m in methods from e in budgets select new TestTimeAttackRequest
            {
                ModelDir = p.GetValue(model)!, Target = t, Method = m, Queries = p.GetValue(queries), QuerySet = set,
                TopK = p.GetValue(topk), Device = p.GetValue(device)!,
                OutDir = many ? Path.Combine(p.GetValue(outDir)!, TestTimeAttackPipeline.SweepFolder(m, t, e)) : p.GetValue(outDir)!,
                Attack = new TestTimeAttackOptions
                {
                    Epsilon = e, Steps = p.GetValue(steps), Rule = stepRule, Seed = p.GetValue(seed),
                    StepSize = size is null ? null : PixelBudget.Parse(size, "--step-size"),
                },
            }).ToArray();
            SpectreProgress.Run(progress => TestTimeAttackPipeline.RunAll(requests, progress, CliRunner.Cancel));
            return 0;
        });
        return cmd;
    }

    private static string[] List(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
