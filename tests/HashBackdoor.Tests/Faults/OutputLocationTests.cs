using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Faults;

/// <summary>
/// Output locations are checked before any work: an <c>--out</c> that is a file, a folder that cannot be written, or a
/// folder holding another kind of run gives one line naming it, exit code 2, and nothing created or changed; a read-only
/// run folder on <c>--resume</c> likewise.
/// </summary>
[Collection("faults")]
public class OutputLocationTests(ReferenceRun reference) : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private string TrainedModel()
    {
        string dir = tmp["model"];
        if (!File.Exists(Path.Combine(dir, "model.hbm"))) Assert.Equal(0, Hashbd.Run(Tiny.TrainArgs(dir)).ExitCode);
        return dir;
    }

    private static string Refused(CliResult r, int code = 2)
    {
        Assert.True(r.ExitCode == code, $"exit {r.ExitCode}: {r.Err}");
        return r.SingleErrorLine();
    }

    [Fact]
    public void OutThatIsAFileIsRefusedByEveryCommandWithAFolderOutput()
    {
        string model = TrainedModel();
        string file = tmp["a-file"];
        File.WriteAllText(file, "x");
        string expected = $"hashbd: error: --out {file}: is a file, not a folder; choose a folder";
        Assert.Equal(expected, Refused(Hashbd.Run(Tiny.TrainArgs(file))));
        Assert.Equal(expected, Refused(Hashbd.Run("evaluate", "--model", model, "--out", file)));
        Assert.Equal(expected, Refused(Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", file)));
        Assert.Equal(expected, Refused(Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", file, "--shard", "0/2")));
        Assert.Equal(expected, Refused(Hashbd.Run("ablate", "--config", reference.ConfigPath, "--vary", "poisons=2,3", "--queries", "test", "--out", file)));
        Assert.Equal("x", File.ReadAllText(file));
        // Below a file: the folder cannot be created.
        string below = Path.Combine(file, "sub");
        Assert.Equal($"hashbd: error: --out {below}: {file} is a file, so the folder cannot be created", Refused(Hashbd.Run(Tiny.TrainArgs(below))));
    }

    [Fact]
    public void FileOutputsThatAreFoldersAreRefused()
    {
        string model = TrainedModel();
        string folder = tmp["codes.npy"];
        Directory.CreateDirectory(folder);
        Assert.Equal($"hashbd: error: --out {folder}: is a folder, expected a file name",
            Refused(Hashbd.Run("encode", "--model", model, "--split", "query", "--out", folder)));
        string db = tmp["db.npy"];
        Assert.Equal(0, Hashbd.Run("encode", "--model", model, "--split", "database", "--out", db).ExitCode);
        Assert.Equal($"hashbd: error: --out {folder}: is a folder, expected a file name",
            Refused(Hashbd.Run("search", "--database", db, "--queries", db, "--out", folder)));
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void AFolderOfAnotherKindOfRunIsRefusedNamingWhatItHolds()
    {
        string model = TrainedModel();
        Assert.Equal($"hashbd: error: --out {model}: holds a training run (run.json), not an experiment; choose another folder",
            Refused(Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", model)));
        Assert.Equal($"hashbd: error: --out {model}: holds a training run (run.json), not an ablation; choose another folder",
            Refused(Hashbd.Run("ablate", "--config", reference.ConfigPath, "--vary", "poisons=2,3", "--queries", "test", "--out", model)));
        Assert.Equal($"hashbd: error: --out {reference.Dir}: holds an experiment (config.resolved.json), not a training run; choose another folder",
            Refused(Hashbd.Run(Tiny.TrainArgs(reference.Dir))));
        Assert.Equal($"hashbd: error: --out {reference.Dir}: holds an experiment (config.resolved.json), not an evaluation; choose another folder",
            Refused(Hashbd.Run("evaluate", "--model", model, "--out", reference.Dir)));
        // Control: evaluating into the model's own folder is allowed.
        Assert.Equal(0, Hashbd.Run("evaluate", "--model", model, "--out", model).ExitCode);
    }

    /// <summary>A read-only folder (a read-only tmpfs as root, whom permission bits do not stop; a folder without write
    /// permission otherwise): a new run and a resume are refused at once and nothing in the folder changes.</summary>
    [Fact]
    public void ReadOnlyRunFolderOnResumeIsRefusedAtOnce()
    {
        using var mount = ScratchMount.TryCreate(8 << 20, out _);
        string root = mount?.Path ?? tmp["ro"];
        string dir = Path.Combine(root, "run");
        // An interrupted run: the reference without its results and ciba victim.
        foreach (var f in Directory.GetFiles(reference.Dir, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(reference.Dir, f);
            if (rel.StartsWith("results") || rel.StartsWith("report") || rel.Contains("ciba")) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, rel))!);
            File.Copy(f, Path.Combine(dir, rel));
        }
        var before = Tiny.Files(dir);
        if (mount is not null) mount.MakeReadOnly();
        else foreach (var d in Directory.GetDirectories(root, "*", SearchOption.AllDirectories).Append(root)) File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            string problem = mount is not null ? "Read-only file system" : "permission denied";
            Assert.Equal($"hashbd: error: --out {dir}: the folder is not writable ({problem})",
                Refused(Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir, "--resume")));
            Assert.Equal($"hashbd: error: --out {dir}: the folder is not writable ({problem})",
                Refused(Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir, "--shard", "0/2")));
            string fresh = Path.Combine(root, "fresh");
            Assert.Equal($"hashbd: error: --out {fresh}: cannot be created, {root} is not writable ({problem})", Refused(Hashbd.Run(Tiny.TrainArgs(fresh))));
            Assert.Equal(before, Tiny.Files(dir));
        }
        finally
        {
            if (mount is null) foreach (var d in Directory.GetDirectories(root, "*", SearchOption.AllDirectories).Append(root)) File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
