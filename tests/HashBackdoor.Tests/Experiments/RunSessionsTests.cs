using System.Globalization;
using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary>
/// Issue 23: results.json gives the wall time of the whole run (every session, each with its machine's CPU model and
/// vector unit), not only of the session that wrote it; results.md's "trigger on the surrogate" table carries the
/// values of results.json, also after a resume and after the reports are rewritten from results.json.
/// </summary>
[Collection("torch-training")]
public class RunSessionsTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static RunSession S(int startSecond, int endSecond) => new()
    {
        StartedUtc = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(startSecond),
        EndedUtc = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(endSecond),
    };

    [Fact]
    public void WallTimeIsTheUnionOfTheSessions()
    {
        // A run and two resumes add up; concurrent shards count once; a session inside another adds nothing.
        Assert.Equal(100 + 20 + 5, RunSessions.UnionSeconds(new[] { S(0, 100), S(200, 220), S(300, 305) }));
        Assert.Equal(150, RunSessions.UnionSeconds(new[] { S(0, 100), S(50, 150) }));
        Assert.Equal(100, RunSessions.UnionSeconds(new[] { S(10, 20), S(0, 100) }));
        Assert.Equal(0, RunSessions.UnionSeconds(Array.Empty<RunSession>()));
    }

    /// <summary>The CPU model as /proc/cpuinfo names it (read here, not by the library).</summary>
    private static string? CpuModel() => File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
        : null;

    private static List<string> TriggerTableRows(string md)
    {
        int at = md.IndexOf("The trigger on the surrogate", StringComparison.Ordinal);
        Assert.True(at >= 0, "results.md has no trigger-on-the-surrogate table");
        return md[at..].Split('\n').Skip(4).TakeWhile(l => l.StartsWith('|')).ToList();
    }

    [Fact]
    public void ResumeKeepsTheWholeRunsWallTimeAndTheReportsKeepTheTriggerTable()
    {
        string dir = tmp["exp"];
        new ExperimentRunner(Tiny.Experiment, dir, RunProgress.None).Run(resume: false);
        var first = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!["protocol"]!;
        double firstWall = first["wallSeconds"]!.GetValue<double>();
        string? cpu = CpuModel();
        if (cpu is not null) Assert.Contains(cpu, first["machine"]!.GetValue<string>());
        Assert.Single(first["sessions"]!.AsArray());

        Thread.Sleep(1100); // the resume starts strictly after the first session ended
        new ExperimentRunner(Tiny.Experiment, dir, RunProgress.None).Run(resume: true);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
        var protocol = json["protocol"]!;
        var sessions = protocol["sessions"]!.AsArray();
        Assert.Equal(2, sessions.Count);
        Assert.Equal("finished", sessions[0]!["ended"]!.GetValue<string>());
        Assert.Equal("wrote the results", sessions[1]!["ended"]!.GetValue<string>());
        if (cpu is not null) Assert.All(sessions, s => Assert.Contains(cpu, s!["machine"]!.GetValue<string>()));
        // The resume only re-read the results: the run's wall time is the first session's plus the resume's, not the
        // resume's alone.
        double thisSession = protocol["wallSecondsThisSession"]!.GetValue<double>();
        double recordedFirst = RunSessions.Read(dir)[0].WallSeconds;
        Assert.Equal(Math.Round(recordedFirst + thisSession), protocol["wallSeconds"]!.GetValue<double>(), 1.0);
        Assert.True(protocol["wallSeconds"]!.GetValue<double>() >= firstWall);

        // The trigger table of results.md holds results.json's trigger effects, after the resume and after the reports
        // are rewritten from results.json (what hashbd defend --defense all does).
        var expected = json["runs"]!.AsArray().Where(r => r!["triggerEffect"] is not null).Select(r => r!["triggerEffect"]!).ToList();
        Assert.NotEmpty(expected);
        void CheckTable()
        {
            var rows = TriggerTableRows(File.ReadAllText(Path.Combine(dir, "results.md")));
            Assert.Equal(expected.Count, rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var cells = rows[i].Trim('|').Split('|').Select(c => c.Trim()).ToArray();
                Assert.Equal(expected[i]["bits"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture), cells[2]);
                Assert.Equal(expected[i]["distanceBefore"]!.GetValue<double>().ToString("F2", CultureInfo.InvariantCulture), cells[3]);
                Assert.Equal(expected[i]["distanceAfter"]!.GetValue<double>().ToString("F2", CultureInfo.InvariantCulture), cells[4]);
            }
        }
        CheckTable();
        var folder = new RunFolder(dir);
        var resolved = folder.ReadResolvedConfig();
        using (var split = DefenseInputsLoader.LoadSplit(resolved))
            DefenseMatrixRunner.RewriteReports(folder, resolved, split, RunContext.For("cpu", RunProgress.None));
        CheckTable();
        // The rewrite keeps the recorded wall time.
        Assert.Equal(protocol["wallSeconds"]!.GetValue<double>(),
            JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!["protocol"]!["wallSeconds"]!.GetValue<double>());
    }
}
