using HashBackdoor.Browser;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Serve;

/// <summary><see cref="RunBrowserFiles"/>: the run layout's paths, and <see cref="RunBrowserFiles.Existing"/> refusing
/// anything whose real location is outside the run folder (relative escapes, symbolic links to files or folders
/// outside), while links that stay inside are followed.</summary>
public class RunBrowserFilesTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void PathsFollowTheExperimentRunnersLayout()
    {
        var files = new RunBrowserFiles(tmp["run"] + "/");
        Assert.Equal(tmp["run"], files.Root);
        Assert.Equal(Path.Combine(tmp["run"], "config.resolved.json"), files.ResolvedConfig);
        Assert.Equal(Path.Combine(tmp["run"], "results.json"), files.Results);
        Assert.Equal(Path.Combine(tmp["run"], "report.html"), files.Report);
        Assert.Equal(Path.Combine(tmp["run"], "seed-3", "clean", "model.hbm"), files.CleanModel(3));
        Assert.Equal(Path.Combine(tmp["run"], "seed-3", "target-7", "trigger.bin"), files.Trigger(3, 7));
        Assert.Equal(Path.Combine(tmp["run"], "seed-3", "target-7", "tri_noise", "model.hbm"), files.VictimModel(3, 7, "tri+noise"));
    }

    [Fact]
    public void ExistingRefusesEverythingWhoseRealLocationIsOutside()
    {
        string root = tmp["run"], outside = tmp["outside"];
        Directory.CreateDirectory(Path.Combine(root, "seed-0", "clean"));
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(root, "report.html"), "inside");
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "secret");
        File.WriteAllText(Path.Combine(outside, "model.hbm"), "outside model");
        var files = new RunBrowserFiles(root);

        Assert.Equal(files.Report, files.Existing(files.Report));
        Assert.Null(files.Existing(Path.Combine(root, "missing.txt")));
        Assert.Null(files.Existing(Path.Combine(root, "seed-0")));                        // a folder is not a file
        Assert.Null(files.Existing(Path.Combine(root, "..", "outside", "secret.txt")));   // lexical escape
        Assert.Null(files.Existing(root));

        // A link to a file outside, and a linked folder that is outside.
        File.CreateSymbolicLink(Path.Combine(root, "results.json"), Path.Combine(outside, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(root, "seed-1"), outside);
        Assert.True(File.Exists(files.Results));
        Assert.Null(files.Existing(files.Results));
        Assert.True(File.Exists(Path.Combine(root, "seed-1", "model.hbm")));
        Assert.Null(files.Existing(Path.Combine(root, "seed-1", "model.hbm")));

        // A relative link that climbs out and back in stays inside: followed.
        File.WriteAllText(Path.Combine(root, "seed-0", "clean", "model.hbm"), "clean");
        File.CreateSymbolicLink(Path.Combine(root, "linked.hbm"), Path.Combine("..", "run", "seed-0", "clean", "model.hbm"));
        Assert.Equal(Path.Combine(root, "linked.hbm"), files.Existing(Path.Combine(root, "linked.hbm")));
    }

    [Fact]
    public void ARunFolderThatIsItselfALinkServesItsOwnFiles()
    {
        string real = tmp["real-run"], link = tmp["run-link"];
        Directory.CreateDirectory(real);
        File.WriteAllText(Path.Combine(real, "report.html"), "report");
        Directory.CreateSymbolicLink(link, real);
        var files = new RunBrowserFiles(link);
        Assert.Equal(files.Report, files.Existing(files.Report));
    }
}
