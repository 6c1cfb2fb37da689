using HashBackdoor.Experiments;

namespace HashBackdoor.Browser;

/// <summary>
/// Every path <see cref="RunBrowser"/> reads in an experiment run folder (taken from <see cref="RunFolder"/>, the one
/// place that knows the layout), and the check that keeps it inside the folder.
/// </summary>
/// <remarks>
/// Paths are built only from validated numbers and method names of the run's own config, never from request text.
/// <see cref="Existing"/> also resolves symbolic links, so a link inside the folder that points outside it is treated
/// as a missing file.
/// </remarks>
public sealed class RunBrowserFiles
{
    private readonly RunFolder _folder;

    /// <summary>Wraps the run folder <paramref name="root"/> (made absolute).</summary>
    public RunBrowserFiles(string root)
    {
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _folder = new RunFolder(Root);
    }

    /// <summary>The run folder, absolute.</summary>
    public string Root { get; }

    /// <summary>The resolved config the run recorded.</summary>
    public string ResolvedConfig => _folder.ResolvedConfigPath;

    /// <summary>The run's results (protocol, per-run numbers, summary).</summary>
    public string Results => _folder.ResultsJsonPath;

    /// <summary>The run's self-contained HTML report.</summary>
    public string Report => _folder.ReportHtmlPath;

    /// <summary>The clean model of seed <paramref name="seed"/>.</summary>
    public string CleanModel(long seed) => RunFolder.ModelFileIn(_folder.CleanModelDir(seed));

    /// <summary>The trigger optimised for seed <paramref name="seed"/> and target class <paramref name="target"/>.</summary>
    public string Trigger(long seed, int target) => _folder.TriggerPath(seed, target);

    /// <summary>The victim trained on <paramref name="method"/>'s poisoned set for one seed and target.</summary>
    public string VictimModel(long seed, int target, string method) => RunFolder.ModelFileIn(_folder.MethodDir(seed, target, method));

    /// <summary><paramref name="path"/> when it is a regular file whose real location (symbolic links followed) lies
    /// inside <see cref="Root"/>; otherwise null.</summary>
    public string? Existing(string path)
    {
        string full = Path.GetFullPath(path);
        if (!Inside(full, Root) || !File.Exists(full)) return null;
        string? real = RealPath(full);
        string? realRoot = RealPath(Root);
        return real is not null && realRoot is not null && Inside(real, realRoot) && File.Exists(real) ? full : null;
    }

    private static bool Inside(string path, string root) =>
        path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The absolute path with every symbolic link among its components followed; null when a link cannot be
    /// resolved or links loop.</summary>
    private static string? RealPath(string path)
    {
        string full = Path.GetFullPath(path);
        string current = Path.GetPathRoot(full)!;
        var parts = new Queue<string>(full[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        int links = 0;
        while (parts.Count > 0)
        {
            string next = Path.Combine(current, parts.Dequeue());
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                if (++links > 40) return null;
                string resolved = Path.GetFullPath(target, current);
                string rest = string.Join(Path.DirectorySeparatorChar, parts);
                string again = rest.Length == 0 ? resolved : Path.Combine(resolved, rest);
                current = Path.GetPathRoot(again)!;
                parts = new Queue<string>(again[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
                continue;
            }
            current = next;
        }
        return current;
    }
}
