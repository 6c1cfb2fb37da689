using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;
using Xunit.Abstractions;

namespace HashBackdoor.Tests.Faults;

/// <summary>
/// A run killed at 20 seeded points resumes to the uninterrupted run's results.json numbers and to byte-identical models,
/// codes, triggers and poison sets, with no temporary file or checkpoint left. 15 points are drawn from the reference
/// run's progress events, 3 in each phase: mid training (a batch or epoch), mid trigger optimisation (a step), mid
/// perturbation (a round), mid evaluation (encoding a split) and at a unit boundary (a result written); the kill is an
/// exception thrown by the progress sink the run reports to (<see cref="RunContext.Progress"/>). 5 points kill the run
/// while it writes results.json, results.md or report.html (a write hook of <see cref="AtomicFile"/>). Two more points
/// kill a child <c>hashbd</c> process with SIGKILL (a real kill: the lock file and any temporary file stay behind).
/// </summary>
[Collection("faults")]
public class KillResumeTests(ReferenceRun reference, ITestOutputHelper output) : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static readonly string[] Phases = { "training", "trigger", "perturbation", "evaluation", "boundary" };
    private static readonly string[] ReportFiles = { "results.json", "results.md", "report.html" };

    public static IEnumerable<object[]> Points => Enumerable.Range(0, 20).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(Points))]
    public void KillAtASeededPointThenResumeGivesTheUninterruptedResults(int point)
    {
        var rng = new Random(7919 * (point + 1));
        string dir = tmp[$"run{point}"];
        string where;
        if (point < 15)
        {
            string phase = Phases[point % Phases.Length];
            var candidates = reference.Events.Select((e, i) => (e, i)).Where(x => x.e.Phase == phase).Select(x => x.i).ToArray();
            Assert.True(candidates.Length > 0, $"the reference run has no {phase} event");
            int at = candidates[rng.Next(candidates.Length)];
            where = $"{phase} event {at}: {reference.Events[at].Step} {reference.Events[at].Text}";
            var killer = new KillingProgress(at);
            Assert.Throws<InjectedKill>(() => new ExperimentRunner(FaultHarness.Config, dir, killer, default).Run(resume: false));
            Assert.False(File.Exists(Path.Combine(dir, "report.html")), $"{where}: the run finished before the kill");
        }
        else
        {
            string file = ReportFiles[rng.Next(ReportFiles.Length)];
            where = $"writing {file}";
            using (AtomicFile.InjectWriteHook((path, _) => { if (Path.GetFileName(path) == file) throw new InjectedKill(where); }))
                Assert.Throws<InjectedKill>(() => new ExperimentRunner(FaultHarness.Config, dir, RunProgress.None).Run(resume: false));
            Assert.False(File.Exists(Path.Combine(dir, file)), $"{where}: a partial {file} was left");
        }
        output.WriteLine($"point {point}: killed at {where}");
        new ExperimentRunner(FaultHarness.Config, dir, RunProgress.None).Run(resume: true);
        reference.AssertSameAs(dir, $"point {point} ({where})");
    }

    /// <summary>A real SIGKILL of a child <c>hashbd experiment</c> while the clean model trains (after its first epoch
    /// checkpoint) and while a victim trains (its poison set written): <c>--resume</c> finishes with the same results,
    /// although the killed process left its lock file.</summary>
    [Theory]
    [InlineData("seed-0/clean/checkpoint/state.json")]
    [InlineData("seed-0/target-0/ciba/poison/poison.json")]
    public void SigkilledChildProcessResumesToTheSameResults(string killWhenThisAppears)
    {
        string dir = tmp["killed"];
        var child = FaultHarness.StartHashbd(tmp["child.log"], "experiment", "--config", reference.ConfigPath, "--out", dir);
        bool appeared = FaultHarness.WaitForFile(child, Path.Combine(dir, killWhenThisAppears), TimeSpan.FromMinutes(2));
        bool finished = File.Exists(Path.Combine(dir, "results.json"));
        FaultHarness.KillHard(child);
        Assert.True(appeared, $"{killWhenThisAppears} never appeared; child log:\n{File.ReadAllText(tmp["child.log"])}");
        Assert.False(finished, "the child finished before it was killed");
        Assert.True(File.Exists(Path.Combine(dir, RunLock.FileName)), "the killed process's lock file");
        output.WriteLine($"killed when {killWhenThisAppears} appeared; temporary files left: {Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories).Length}");

        var resumed = Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        reference.AssertSameAs(dir, $"SIGKILL when {killWhenThisAppears} appeared");
    }
}
