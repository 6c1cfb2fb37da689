using HashBackdoor.Defenses;

namespace HashBackdoor.Experiments;

/// <summary>Inputs of <see cref="DefendPipeline"/> (what <c>hashbd defend</c> fills).</summary>
public sealed record DefendRequest
{
    /// <summary>Experiment folder written by <c>hashbd experiment</c>.</summary>
    public required string RunDir { get; init; }
    /// <summary>Registry name of the defense (<see cref="BackdoorDefenses.Names"/>).</summary>
    public required string Defense { get; init; }
    /// <summary>Which attack run.</summary>
    public DefenseRunSelection Selection { get; init; } = new();
    /// <summary>Output folder; default RUN/seed-S/target-T/METHOD/defenses/NAME (<see cref="RunFolder.DefenseDir"/>).</summary>
    public string? OutDir { get; init; }
    /// <summary>Seed of the defense's random choices.</summary>
    public long DefenseSeed { get; init; }
    /// <summary>Retrain after training-set filtering (slow).</summary>
    public bool Retrain { get; init; } = true;
}

/// <summary>Runs one defense on one saved attack run and writes result.json (plus images) into the output folder; the
/// folder is written only after the defense has finished.</summary>
public static class DefendPipeline
{
    /// <summary>Runs the defense; returns its result and the folder written.</summary>
    public static (DefenseResult Result, string OutDir) Run(DefendRequest request, IRunProgress progress, CancellationToken cancel = default)
    {
        var defense = BackdoorDefenses.Create(request.Defense); // unknown name: fails before anything is read
        using var run = DefenseInputsLoader.Load(request.RunDir, request.Selection, defense.Needs, progress);
        // Default: where the attack x defense matrix looks (RunFolder.DefenseDir; for clean, per target).
        string outDir = Path.GetFullPath(request.OutDir
            ?? new RunFolder(Path.GetFullPath(request.RunDir)).DefenseDir(run.Seed, run.Inputs.TargetClass, run.Inputs.AttackName, defense.Name));
        var steps = new Dictionary<string, IProgressStep>();
        try
        {
            var context = new DefenseContext
            {
                Device = TorchRuntime.ParseDevice(request.Selection.Device), Seed = request.DefenseSeed, Retrain = request.Retrain,
                Cancel = cancel, Log = progress.Info,
                Progress = (stage, fraction) =>
                {
                    if (!steps.TryGetValue(stage, out var step)) steps[stage] = step = progress.Start(stage, 1);
                    step.Report(fraction);
                },
            };
            var result = defense.Run(run.Inputs, context);
            result.Save(outDir, run.Describe());
            progress.Info($"{defense.Name}: result written to {Path.Combine(outDir, "result.json")} ({result.Seconds:F0} s)");
            return (result, outDir);
        }
        finally
        {
            foreach (var s in steps.Values) s.Dispose();
        }
    }
}
