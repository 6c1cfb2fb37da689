using HashBackdoor.Experiments.Graph;

namespace HashBackdoor.Experiments;

// The run folder's lock, and the claim and done files of its units (sharded runs): docs/run-folder.md, docs/scale-out.md.
public sealed partial class RunFolder
{
    /// <summary>The folder of unit claim and done files: <c>units/</c> under the root, or under <see cref="ModelsRoot"/>
    /// for clean models and surrogates (shared between the variants of an ablation).</summary>
    public string UnitsDir(ExperimentUnit unit) => Path.Combine(unit.InModelsRoot ? ModelsRoot : Root, "units");

    /// <summary><c>units/ID.claim</c>: created exclusively by the shard computing the unit (owner host, pid, token).</summary>
    public string UnitClaimPath(ExperimentUnit unit) => Path.Combine(UnitsDir(unit), unit.Id + ".claim");

    /// <summary><c>units/ID.done</c>: written atomically once every output of the unit is in place.</summary>
    public string UnitDonePath(ExperimentUnit unit) => Path.Combine(UnitsDir(unit), unit.Id + ".done");

    /// <summary>Whether a unit's outputs are complete (its done file exists).</summary>
    public bool IsUnitDone(ExperimentUnit unit) => File.Exists(UnitDonePath(unit));

    /// <summary>The folders a unit writes into (its temporary files are removed when a shard takes the unit over).</summary>
    public IEnumerable<string> UnitOutputDirs(ExperimentUnit unit) => unit.Kind switch
    {
        UnitKind.Setup => new[] { Root },
        UnitKind.Clean => new[] { CleanModelDir(unit.Seed), CheckpointDirIn(CleanModelDir(unit.Seed)) },
        UnitKind.Surrogate => new[] { SurrogateModelDir(unit.Seed), CheckpointDirIn(SurrogateModelDir(unit.Seed)) },
        UnitKind.Trigger => new[] { TargetDir(unit.Seed, unit.Target), MethodDir(unit.Seed, unit.Target, CleanMethod) },
        UnitKind.Victim => new[] { MethodDir(unit.Seed, unit.Target, unit.Method!), CheckpointDirIn(MethodDir(unit.Seed, unit.Target, unit.Method!)), PoisonDir(unit.Seed, unit.Target, unit.Method!) },
        UnitKind.TestTime => new[] { MethodDir(unit.Seed, unit.Target, unit.Method!) },
        UnitKind.Defenses => Directory.Exists(Path.Combine(MethodDir(unit.Seed, unit.Target, unit.Method!), "defenses"))
            ? Directory.GetDirectories(Path.Combine(MethodDir(unit.Seed, unit.Target, unit.Method!), "defenses"))
            : Array.Empty<string>(),
        _ => new[] { Root },
    };

    /// <summary>
    /// Locks the folder for a plain (unsharded) run: a second process is refused at once (<see cref="UsageException"/>
    /// naming the holder), the lock ends with the process however it ends, and temporary files left by a killed run are
    /// removed (under the root and <see cref="ModelsRoot"/>).
    /// </summary>
    public RunLock Lock()
    {
        var held = RunLock.Acquire(Root);
        AtomicFile.SweepTemporaryFiles(Root);
        if (ModelsRoot != Root) AtomicFile.SweepTemporaryFiles(ModelsRoot);
        return held;
    }

    /// <summary>Locks the folder for one shard of a sharded run: shards admit each other, a plain run is refused while
    /// any shard runs (and a shard while a plain run runs).</summary>
    public RunLock LockShared() => RunLock.Acquire(Root, shared: true);
}
