using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Faults;

/// <summary>
/// Two processes on one run folder: the second is refused at once with one line naming the holder; a lock file left by
/// a dead process blocks nothing (the lock is the operating system's flock, dropped when its process ends); shards share
/// the folder with each other but not with a plain run.
/// </summary>
[Collection("faults")]
public class RunLockTests(ReferenceRun reference) : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void ASecondRunOnAHeldFolderIsRefusedAtOnceNamingTheHolder()
    {
        string dir = tmp["held"];
        Directory.CreateDirectory(dir);
        using (var held = RunLock.Acquire(dir))
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var r = Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir);
            Assert.Equal(2, r.ExitCode);
            Assert.Matches($@"^hashbd: error: --out {System.Text.RegularExpressions.Regex.Escape(dir)}: in use by another hashbd process \(pid {Environment.ProcessId} on .+, since .+\); wait for it to finish or choose another folder$", r.SingleErrorLine());
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"refused after {sw.Elapsed}");
            Assert.Equal(2, Hashbd.Run(Tiny.TrainArgs(dir)).ExitCode);
            Assert.Equal(new[] { RunLock.FileName, RunLock.OwnerFileName }, Tiny.Files(dir));
        }
        // Released: the same command now runs (a lock file on disk does not block).
        Assert.True(File.Exists(Path.Combine(dir, RunLock.FileName)));
        var ok = Hashbd.Run(Tiny.TrainArgs(dir));
        Assert.True(ok.ExitCode == 0, ok.Err);
    }

    [Fact]
    public void SharedHoldersAdmitEachOtherAndRefuseAnExclusiveOne()
    {
        string dir = tmp["shared"];
        using (var a = RunLock.Acquire(dir, shared: true))
        using (var b = RunLock.Acquire(dir, shared: true))
        {
            Assert.True(a.Shared && b.Shared);
            Assert.Throws<UsageException>(() => RunLock.Acquire(dir));
        }
        using (var exclusive = RunLock.Acquire(dir))
            Assert.Throws<UsageException>(() => RunLock.Acquire(dir, shared: true));
    }

    [Fact]
    public void ARefusedOrFailedRunLeavesNoFolderItCreated()
    {
        // Validation fails after the lock was taken (poison count above the class size): the folder goes again.
        string dir = tmp["invalid"];
        string config = tmp["invalid.json"];
        File.WriteAllText(config, ConfigFile.ToJson(FaultHarness.Config with { Poison = new PoisonConfig { Count = 99 } }));
        var r = Hashbd.Run("experiment", "--config", config, "--out", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.False(Directory.Exists(dir));
    }
}
