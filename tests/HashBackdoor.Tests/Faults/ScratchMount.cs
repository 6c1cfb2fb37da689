using System.Diagnostics;

namespace HashBackdoor.Tests.Faults;

/// <summary>A small tmpfs mounted for one test (root only): a real full or read-only file system. <see cref="TryCreate"/>
/// returns null with the reason when it cannot be mounted (not root, no mount permission).</summary>
public sealed class ScratchMount : IDisposable
{
    private ScratchMount(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> bytes, or returns null and the reason.</summary>
    public static ScratchMount? TryCreate(long bytes, out string reason)
    {
        reason = "";
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") { reason = "not running as root on Linux"; return null; }
        string dir = Directory.CreateTempSubdirectory("hbd-mnt-").FullName;
        var (code, err) = Sh("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", dir);
        if (code != 0) { reason = $"mount failed: {err}"; Directory.Delete(dir); return null; }
        return new ScratchMount(dir);
    }

    /// <summary>Remounts read-only (EROFS for every write, root included).</summary>
    public void MakeReadOnly()
    {
        var (code, err) = Sh("mount", "-o", "remount,ro", Path);
        Assert.True(code == 0, $"remount ro: {err}");
    }

    public void Dispose()
    {
        Sh("umount", "-l", Path);
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    private static (int Code, string Err) Sh(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, err.Trim());
    }
}
