using System.Text.Json;

namespace HashBackdoor;

/// <summary>
/// The lock of a run folder: an operating-system advisory lock (flock on Linux, taken by opening <see cref="FileName"/>
/// with <see cref="FileShare.None"/> or shared) held while the process runs. The system drops it when the process ends,
/// however it ends (a SIGKILL included), so a lock file left on disk never blocks the next run. An exclusive holder (a
/// plain run) refuses every other process; shared holders (the shards of a sharded run) admit each other and refuse a
/// plain run, and a plain run refuses them.
/// </summary>
/// <remarks>With <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING=1</c> .NET takes no lock and the folder is not protected.
/// On NFS, Linux maps flock to NFS byte-range locks (lockd), which hold across hosts.</remarks>
public sealed class RunLock : IDisposable
{
    /// <summary>The lock file in the run folder (left in place when released; harmless).</summary>
    public const string FileName = ".hashbd.lock";
    /// <summary>Who holds the exclusive lock (pid, host, since when), for the message a refused process prints.</summary>
    public const string OwnerFileName = ".hashbd.lock.owner";

    private readonly FileStream stream;
    private readonly bool createdFolder;

    private RunLock(string dir, FileStream stream, bool shared, bool createdFolder)
    {
        Directory = dir;
        this.stream = stream;
        Shared = shared;
        this.createdFolder = createdFolder;
    }

    /// <summary>The locked folder.</summary>
    public string Directory { get; }

    /// <summary>Whether the lock is shared (shards) rather than exclusive.</summary>
    public bool Shared { get; }

    /// <summary>Locks <paramref name="dir"/> (created when missing), exclusively or <paramref name="shared"/>.</summary>
    /// <exception cref="UsageException">Another process holds the folder (named by <paramref name="key"/>).</exception>
    public static RunLock Acquire(string dir, bool shared = false, string key = "outDir")
    {
        string full = Path.GetFullPath(dir);
        bool created = !System.IO.Directory.Exists(full);
        System.IO.Directory.CreateDirectory(full);
        string path = Path.Combine(full, FileName);
        FileStream fs;
        try
        {
            // Read access with FileShare.ReadWrite takes flock(LOCK_SH) on every file system (.NET skips LOCK_SH for
            // write access on NFS); FileShare.None takes LOCK_EX.
            fs = shared
                ? new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)
                : new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (File.Exists(path) && !DiskSpace.IsOutOfSpace(e))
        {
            if (created) TryRemoveEmpty(full);
            throw new UsageException($"{key} {dir}: in use by another hashbd process{Holder(full, shared)}; wait for it to finish or choose another folder");
        }
        catch
        {
            if (created) TryRemoveEmpty(full);
            throw;
        }
        var held = new RunLock(full, fs, shared, created);
        if (!shared)
        {
            try
            {
                AtomicFile.WriteAllText(Path.Combine(full, OwnerFileName), JsonSerializer.Serialize(new Owner(Environment.MachineName, Environment.ProcessId, DateTimeOffset.Now.ToString("u"))));
            }
            catch
            {
                held.Dispose();
                throw;
            }
        }
        return held;
    }

    /// <summary>Releases the lock. A folder that this lock created and in which nothing else was written is removed again,
    /// so a run that fails before writing anything leaves nothing behind.</summary>
    public void Dispose()
    {
        stream.Dispose();
        if (createdFolder) TryRemoveEmpty(Directory);
    }

    private static string Holder(string dir, bool wantedShared)
    {
        try
        {
            var o = JsonSerializer.Deserialize<Owner>(File.ReadAllText(Path.Combine(dir, OwnerFileName)));
            if (o is not null) return $" (pid {o.Pid} on {o.Host}, since {o.Since}{(wantedShared ? ", not a sharded run" : "")})";
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { }
        return wantedShared ? "" : " (the shards of a sharded run, or another run)";
    }

    private static void TryRemoveEmpty(string dir)
    {
        try
        {
            foreach (var f in System.IO.Directory.EnumerateFileSystemEntries(dir))
            {
                string name = Path.GetFileName(f);
                if (name != FileName && name != OwnerFileName) return;
            }
            foreach (var name in new[] { FileName, OwnerFileName }) File.Delete(Path.Combine(dir, name));
            System.IO.Directory.Delete(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private sealed record Owner(string Host, int Pid, string Since);
}
