using HashBackdoor.Tests.Reliability;
using Xunit.Abstractions;

namespace HashBackdoor.Tests.Faults;

/// <summary>
/// A full disk: at a seeded write of the experiment (a write hook of <see cref="AtomicFile"/> failing with ENOSPC, the
/// error the kernel gives) and on a real 4 MB tmpfs (root only): exit code 5, one line naming the file with the bytes it
/// needs and the bytes free, no temporary file left, and the run resumes to the same results once there is space.
/// </summary>
[Collection("faults")]
public class DiskFullTests(ReferenceRun reference, ITestOutputHelper output) : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static readonly string[] Files = { "model.hbm", "optimizer.bin", "state.json", "database_codes.npy", "perturbed.npy", "trigger.bin", "result.json", "report.html" };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void DiskFullAtASeededWriteIsExitFiveAndResumes(int seed)
    {
        var rng = new Random(104729 * seed);
        string file = Files[rng.Next(Files.Length)];
        int occurrence = rng.Next(1, 3), seen = 0;
        string dir = tmp[$"full{seed}"];
        CliResult failed;
        using (AtomicFile.InjectWriteHook((path, written) =>
        {
            if (Path.GetFileName(path) == file && written == 0 && ++seen == occurrence)
                throw new IOException("No space left on device", 28);
        }))
            failed = Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir);
        output.WriteLine($"disk full at write {occurrence} of {file}: {failed.Err.Trim()}");
        if (seen < occurrence)
        {
            // The run writes that file fewer times: it must have finished normally.
            Assert.Equal(0, failed.ExitCode);
        }
        else
        {
            Assert.Equal(5, failed.ExitCode);
            string line = failed.FinalErrorLine();
            Assert.Matches($@"^hashbd: error: .*{System.Text.RegularExpressions.Regex.Escape(file)}: no space left on the file system \(writing it needs (at least )?[\d,]+ bytes, [\d,]+ are free in .+\); free some space", line);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
            var resumed = Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir, "--resume");
            Assert.True(resumed.ExitCode == 0, resumed.Err);
        }
        reference.AssertSameAs(dir, $"disk full at {file}");
    }

    /// <summary>The issue's case: <c>hashbd train</c> on a file system too small for its checkpoint. Exit 5 with the
    /// size needed (the model file's, measured on a roomy disk) and free; nothing partial left; after freeing space,
    /// <c>--resume</c> ends with the same model as a run that never met a full disk.</summary>
    [SkippableFact]
    public void TrainOnARealFullFileSystemIsExitFiveNamingSizesAndResumes()
    {
        string roomy = tmp["roomy"];
        Assert.Equal(0, Hashbd.Run(Tiny.TrainArgs(roomy, epochs: 2)).ExitCode);
        long modelBytes = new FileInfo(Path.Combine(roomy, "model.hbm")).Length;

        using var mount = ScratchMount.TryCreate(4 << 20, out string reason);
        Skip.If(mount is null, $"no real small file system: {reason} (the write-hook test above covers the behaviour)");
        // Leave less room than one model file.
        string filler = Path.Combine(mount!.Path, "filler");
        using (var f = File.Create(filler)) f.SetLength(0);
        long free = new DriveInfo(mount.Path).AvailableFreeSpace;
        File.WriteAllBytes(filler, new byte[Math.Max(0, free - modelBytes / 2)]);
        string dir = Path.Combine(mount.Path, "train");

        var failed = Hashbd.Run(Tiny.TrainArgs(dir, epochs: 2));
        output.WriteLine(failed.Err.Trim());
        Assert.Equal(5, failed.ExitCode);
        string line = failed.FinalErrorLine();
        Assert.Contains("no space left on the file system (writing it needs ", line);
        var needed = long.Parse(System.Text.RegularExpressions.Regex.Match(line, @"needs ([\d,]+) bytes").Groups[1].Value.Replace(",", ""));
        Assert.InRange(needed, modelBytes - 4096, modelBytes + 4096);
        Assert.Empty(Directory.GetFiles(mount.Path, "*.tmp", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(dir, "model.hbm")));

        File.Delete(filler);
        var resumed = Hashbd.Run(Tiny.TrainArgs(dir, epochs: 2, 0, "--resume"));
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(roomy, "model.hbm")), File.ReadAllBytes(Path.Combine(dir, "model.hbm")));
    }
}
