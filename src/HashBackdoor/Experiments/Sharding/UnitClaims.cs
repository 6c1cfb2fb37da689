using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using HashBackdoor.Experiments.Graph;

namespace HashBackdoor.Experiments.Sharding;

/// <summary>What a claim file records: who computes the unit.</summary>
internal sealed record ClaimOwner(string Host, int Pid, string Token, string Since)
{
    public override string ToString() => Pid == 0 ? $"{Host}, claimed {Since}" : $"pid {Pid} on {Host} since {Since}";
}

/// <summary>
/// The claims of one shard process on the units of a run folder. A unit is claimed by creating <c>units/ID.claim</c>
/// exclusively (O_CREAT|O_EXCL, atomic on local file systems and NFS v3+) with the owner's host, pid and a token; it is
/// done when <c>units/ID.done</c> exists, written atomically after every output. A claim is stale, and taken over, when
/// its owner is gone: on the same host its process has ended (or, in this process, its runner has ended); on another
/// host its file has not been touched for <see cref="StaleAfter"/> (holders touch their claims every
/// <see cref="HeartbeatInterval"/>).
/// </summary>
internal sealed class UnitClaims : IDisposable
{
    /// <summary>How often a holder touches its claim files.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(30);
    /// <summary>A claim from another host untouched for this long is stale.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(10);

    // Tokens of the runners alive in this process: a claim of this pid whose token is not here was left by a runner that
    // failed (the in-process equivalent of a killed process).
    private static readonly ConcurrentDictionary<string, byte> liveTokens = new();

    private readonly RunFolder folder;
    private readonly ConcurrentDictionary<string, string> held = new();
    private readonly Timer heartbeat;

    /// <summary>Claims in <paramref name="folder"/> on behalf of this process.</summary>
    public UnitClaims(RunFolder folder)
    {
        this.folder = folder;
        Owner = new ClaimOwner(Environment.MachineName, Environment.ProcessId, Guid.NewGuid().ToString("N"), DateTimeOffset.Now.ToString("u"));
        liveTokens[Owner.Token] = 0;
        heartbeat = new Timer(_ => Touch(), null, HeartbeatInterval, HeartbeatInterval);
    }

    /// <summary>This process's identity in claim files.</summary>
    public ClaimOwner Owner { get; }

    /// <summary>Whether <paramref name="unit"/> is done.</summary>
    public bool IsDone(ExperimentUnit unit) => folder.IsUnitDone(unit);

    /// <summary>Tries to claim <paramref name="unit"/>: null when claimed (the caller computes it, then calls
    /// <see cref="Complete"/>), else the live owner holding it.</summary>
    public ClaimOwner? TryClaim(ExperimentUnit unit)
    {
        string path = folder.UnitClaimPath(unit);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    JsonSerializer.Serialize(fs, Owner);
                    fs.Flush(flushToDisk: true);
                }
                held[unit.Id] = path;
                return null;
            }
            catch (IOException) when (File.Exists(path))
            {
                var (owner, age) = Read(path);
                if (owner is not null && !IsStale(owner, age)) return owner;
                // Unreadable: being written right now (fresh) or damaged (old).
                if (owner is null && age < TimeSpan.FromMinutes(1)) return new ClaimOwner("another shard", 0, "", "just now");
                TakeOver(path, owner);
            }
            catch (IOException) when (attempt < 4)
            {
                // The claim vanished between the create and the check (released by its owner): try again.
            }
        }
        var (last, _) = Read(path);
        return last ?? new ClaimOwner("?", 0, "", "?");
    }

    /// <summary>Marks a claimed unit done (atomically: <c>units/ID.done</c>) and removes its claim.</summary>
    public void Complete(ExperimentUnit unit, double seconds)
    {
        AtomicFile.WriteAllText(folder.UnitDonePath(unit),
            JsonSerializer.Serialize(new { unit = unit.Id, host = Owner.Host, pid = Owner.Pid, seconds = Math.Round(seconds, 1), finished = DateTimeOffset.Now.ToString("u") }));
        Release(unit);
    }

    /// <summary>Removes this process's claim of <paramref name="unit"/> without marking it done.</summary>
    public void Release(ExperimentUnit unit)
    {
        if (held.TryRemove(unit.Id, out var path))
            try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Ends this runner: its remaining claims (units it did not finish) become stale for the others.</summary>
    public void Dispose()
    {
        heartbeat.Dispose();
        liveTokens.TryRemove(Owner.Token, out _);
    }

    private void Touch()
    {
        foreach (var path in held.Values)
            try { File.SetLastWriteTimeUtc(path, DateTime.UtcNow); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static (ClaimOwner? Owner, TimeSpan Age) Read(string path)
    {
        try
        {
            var age = DateTime.UtcNow - File.GetLastWriteTimeUtc(path);
            var owner = JsonSerializer.Deserialize<ClaimOwner>(File.ReadAllText(path));
            return (owner, age);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // Being written right now, or damaged: judge it by its age alone.
            return (null, File.Exists(path) ? DateTime.UtcNow - File.GetLastWriteTimeUtc(path) : TimeSpan.MaxValue);
        }
    }

    /// <summary>Whether the owner of a claim is gone.</summary>
    public static bool IsStale(ClaimOwner owner, TimeSpan age)
    {
        if (owner.Host != Environment.MachineName) return age > StaleAfter;
        if (owner.Pid == Environment.ProcessId) return !liveTokens.ContainsKey(owner.Token);
        return !ProcessAlive(owner.Pid);
    }

    private static bool ProcessAlive(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Removes a stale claim: renamed aside first (only one contender's rename succeeds), then deleted if it
    /// is still the stale owner's; a fresh claim renamed by mistake is put back.</summary>
    private static void TakeOver(string path, ClaimOwner? stale)
    {
        string aside = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.stale";
        try { File.Move(path, aside); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        var (moved, _) = Read(aside);
        if (stale is not null && moved is not null && moved.Token != stale.Token)
        {
            try { File.Move(aside, path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { File.Delete(aside); }
            return;
        }
        try { File.Delete(aside); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
