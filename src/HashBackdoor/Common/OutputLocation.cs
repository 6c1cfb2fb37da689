namespace HashBackdoor;

/// <summary>
/// Checks an output location before any work: a folder that is a file, a folder below a file, a folder or file that
/// cannot be written. Nothing is created (a probe file is created and removed at once in the nearest existing folder).
/// Every failure is a <see cref="UsageException"/> naming the parameter (outDir, outFile) and the path.
/// </summary>
public static class OutputLocation
{
    /// <summary>Requires <paramref name="dir"/> to be an existing writable folder or one that can be created.</summary>
    public static void RequireWritableFolder(string dir, string key)
    {
        string full = Path.GetFullPath(dir);
        if (File.Exists(full)) throw new UsageException($"{key} {dir}: is a file, not a folder; choose a folder");
        RequireWritableAncestor(dir, full, key);
    }

    /// <summary>Requires <paramref name="file"/> to be a writable file location: not a folder, in a writable folder (or
    /// one that can be created), not read-only itself.</summary>
    public static void RequireWritableFile(string file, string key)
    {
        string full = Path.GetFullPath(file);
        if (Directory.Exists(full)) throw new UsageException($"{key} {file}: is a folder, expected a file name");
        RequireWritableAncestor(file, Path.GetDirectoryName(full)!, key);
    }

    private static void RequireWritableAncestor(string given, string dir, string key)
    {
        string? existing = dir;
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing)) throw new UsageException($"{key} {given}: {existing} is a file, so the folder cannot be created");
            existing = Path.GetDirectoryName(existing);
        }
        if (existing is null) throw new UsageException($"{key} {given}: no existing folder above it");
        string? problem = WriteProblem(existing);
        if (problem is not null)
            throw new UsageException(existing == dir
                ? $"{key} {given}: the folder is not writable ({problem})"
                : $"{key} {given}: cannot be created, {existing} is not writable ({problem})");
    }

    /// <summary>Null when a file can be created in <paramref name="dir"/>, else the system's reason.</summary>
    public static string? WriteProblem(string dir)
    {
        string probe = Path.Combine(dir, $".hashbd-probe.{Environment.ProcessId}.{Guid.NewGuid():N}{AtomicFile.TemporarySuffix}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (UnauthorizedAccessException) { return "permission denied"; }
        catch (IOException e) { return e.Message.Split(" : ")[0].Trim(); }
        finally
        {
            try { if (File.Exists(probe)) File.Delete(probe); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
