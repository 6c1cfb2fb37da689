using System.Diagnostics;
using HashBackdoor.Experiments.Graph;

namespace HashBackdoor.Experiments.Sharding;

/// <summary>What one shard did.</summary>
/// <param name="Computed">Units this process computed (its own, and dependencies it reached first).</param>
/// <param name="Owned">Units this shard owns.</param>
/// <param name="Done">Work units of the whole graph done when the shard finished.</param>
/// <param name="Total">Work units of the whole graph.</param>
/// <param name="Results">The merged results when this shard wrote them (it found every unit done), else null.</param>
public sealed record ShardOutcome(int Computed, int Owned, int Done, int Total, ExperimentResults? Results);

/// <summary>
/// Runs one shard (<c>--shard I/N</c>) of an experiment into a run folder that other shards share, possibly from other
/// hosts over a network file system: the work units the shard owns (<see cref="ExperimentGraph.OwnedBy"/>) are claimed
/// (<see cref="UnitClaims"/>), computed by the same <see cref="UnitExecutor"/> a serial run uses into the usual layout
/// with atomic writes, and marked done; a unit found done is skipped. A unit needs its dependencies
/// (<see cref="ExperimentGraph.DependenciesOf"/>: a victim its trigger, a trigger the clean model and surrogate, a
/// defense cell its attack run): a dependency already claimed by a live shard is waited for; one nobody has claimed (its
/// owner has not reached it or was never started) or whose claim is stale (its owner died) is claimed and computed by
/// the shard that needs it first. Every unit is a pure function of the config and seeds, so who computes it does not
/// change a bit of the results. The shard that finds every unit done computes the results unit: results.json, results.md
/// and report.html (<c>hashbd merge</c> does the same).
/// </summary>
public sealed class ShardedExperimentRunner
{
    /// <summary>How often a shard looks at a unit another shard is computing.</summary>
    public static TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    private readonly ExperimentConfig config;
    private readonly RunFolder folder;
    private readonly RunContext context;
    private readonly ShardSpec shard;
    private readonly ExperimentGraph graph;
    private UnitExecutor executor = null!;
    private UnitClaims claims = null!;
    private int computed;

    /// <summary>Shard <paramref name="shard"/> of the experiment <paramref name="config"/> in <paramref name="folder"/>.</summary>
    public ShardedExperimentRunner(ExperimentConfig config, RunFolder folder, RunContext context, ShardSpec shard)
    {
        this.config = config.Validate();
        this.folder = folder;
        this.context = context;
        this.shard = shard;
        graph = ExperimentGraph.Of(this.config);
    }

    /// <summary>Runs this shard's units (resuming whatever is there), and the results when every unit is done.</summary>
    public ShardOutcome Run()
    {
        RunKinds.RequireOutputFolder(folder.Root, "outDir", RunKind.Experiment);
        if (folder.HoldsExperiment) folder.CheckResume(config, resume: true);
        using var runLock = folder.LockShared();
        using var session = RunSessions.Start(folder.Root, $"shard {shard}"); // the run's wall time (RunSessions)
        TorchRuntime.Configure();
        using var executorOwner = executor = UnitExecutor.Open(config, folder, context, session);
        using var claimsOwner = claims = new UnitClaims(folder);

        Obtain(ExperimentGraph.Setup);
        folder.CheckResume(config, resume: true);

        var all = graph.Work;
        var owned = graph.OwnedBy(shard);
        context.Log($"shard {shard}: {owned.Count} of the graph's {all.Count} units (seeds x targets x methods: {config.Seeds.Count} x {config.Targets.Count} x {config.Methods.Count})");
        using (var step = context.Step($"shard {shard}", owned.Count))
        {
            for (int i = 0; i < owned.Count; i++)
            {
                Obtain(owned[i]);
                step.Report(i + 1, owned[i].Id);
            }
        }

        int done = all.Count(claims.IsDone);
        ExperimentResults? results = null;
        var resultsUnit = ExperimentGraph.Results;
        if (done == all.Count && !claims.IsDone(resultsUnit) && claims.TryClaim(resultsUnit) is null)
        {
            var sw = Stopwatch.StartNew();
            executor.Execute(resultsUnit);
            results = executor.Results;
            claims.Complete(resultsUnit, sw.Elapsed.TotalSeconds);
            context.Log($"report: {folder.ReportHtmlPath}");
        }
        context.Log(done == all.Count
            ? $"shard {shard}: done; every unit of the graph is done{(results is null ? " (another shard writes the results)" : $", results written: {folder.ResultsJsonPath}")}"
            : $"shard {shard}: done ({computed} units computed here); {all.Count - done} of {all.Count} units are left to the other shards: the last one to finish writes the results, or run `hashbd merge {folder.Root}` after them");
        session.Finish();
        return new ShardOutcome(computed, owned.Count, done, all.Count, results);
    }

    /// <summary>Makes sure <paramref name="unit"/> is done: skipped when done; else its dependencies first, then claimed
    /// and computed, or waited for while a live shard holds it.</summary>
    private void Obtain(ExperimentUnit unit)
    {
        if (claims.IsDone(unit)) return;
        foreach (var dependency in graph.DependenciesOf(unit)) Obtain(dependency);
        bool announced = false;
        while (true)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (claims.IsDone(unit)) return;
            var holder = claims.TryClaim(unit);
            if (holder is null)
            {
                // A claim left by a runner that failed stays until this runner ends (then it is stale): the same as a kill.
                if (claims.IsDone(unit)) { claims.Release(unit); return; }
                foreach (var dir in folder.UnitOutputDirs(unit)) AtomicFile.SweepTemporaryFiles(dir, recursive: false);
                var sw = Stopwatch.StartNew();
                executor.Execute(unit);
                claims.Complete(unit, sw.Elapsed.TotalSeconds);
                computed++;
                return;
            }
            if (!announced) context.Log($"shard {shard}: waiting for {unit.Id} ({holder})");
            announced = true;
            context.Cancellation.WaitHandle.WaitOne(PollInterval);
        }
    }
}
