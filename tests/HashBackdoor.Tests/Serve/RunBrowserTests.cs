using HashBackdoor.Browser;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Serve;

/// <summary><see cref="RunBrowser"/> on a partial copy of the tiny run: models the run has not written are absent from
/// the summary and a search for them is "not found"; a report.html that links outside the folder is not read.</summary>
[Collection("serve")]
public class RunBrowserTests : IDisposable
{
    private readonly ServedTinyRun run;
    private readonly ScratchDir tmp = new();

    public RunBrowserTests(ServedTinyRun run) => this.run = run;

    public void Dispose() => tmp.Dispose();

    private string PartialCopy(params string[] relativeFiles)
    {
        string dir = tmp["partial"];
        foreach (string f in relativeFiles)
        {
            string to = Path.Combine(dir, f);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(Path.Combine(run.RunDir, f), to);
        }
        return dir;
    }

    [Fact]
    public void MissingVictimIsNotFoundAndLeftOutOfTheSummary()
    {
        string dir = PartialCopy("config.resolved.json", "seed-0/clean/model.hbm", "seed-0/target-0/trigger.bin");
        File.CreateSymbolicLink(Path.Combine(dir, "report.html"), run.SecretFile);
        using var browser = RunBrowser.Open(dir);
        var summary = browser.Summary();
        Assert.Equal(new[] { "0/0/clean" }, summary.Available);
        Assert.Equal(new[] { "0/0" }, summary.Triggers);
        Assert.False(summary.HasReport);
        Assert.Empty(summary.Runs);
        Assert.Null(browser.ReportHtml());

        var e = Assert.Throws<RunBrowserRequestException>(() => browser.Search(0, 0, "ciba", 0, true, 5));
        Assert.True(e.NotFound);
        Assert.Equal("seed 0 target 0: the run has no ciba victim", e.Message);
        // The clean model is there: the same request for it is answered, with the reference ranking.
        var view = browser.Search(0, 0, "clean", 7, true, 5);
        Assert.Equal(run.ReferenceTop("clean", 7, true, 5).Index, view.Results.Select(r => r.Index));
    }

    [Fact]
    public void MissingTriggerIsNotFoundOnlyWhenTheTriggerIsAskedFor()
    {
        string dir = PartialCopy("config.resolved.json", "seed-0/clean/model.hbm");
        using var browser = RunBrowser.Open(dir);
        Assert.Empty(browser.Summary().Triggers);
        var e = Assert.Throws<RunBrowserRequestException>(() => browser.Search(0, 0, "clean", 0, true, 5));
        Assert.True(e.NotFound);
        Assert.Equal("seed 0 target 0: the run has no trigger", e.Message);
        Assert.Equal(5, browser.Search(0, 0, "clean", 0, false, 5).Results.Count);
    }
}
