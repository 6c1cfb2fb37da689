using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Graph;
using HashBackdoor.Experiments.Sharding;
using HashBackdoor.Tests.Reliability;
using Xunit.Abstractions;

namespace HashBackdoor.Tests.Faults;

/// <summary>
/// Sharded runs (<c>--shard I/N</c>) on one folder: 3 concurrent <c>hashbd</c> processes give the unsharded run's
/// results.json and byte-identical models, codes and triggers (the last shard merges; <c>hashbd merge</c> gives the same
/// again); a shard SIGKILLed mid-unit and run again finishes the grid with the same results (its stale claim is taken
/// over); the grid's assignment covers every unit exactly once with dependencies first; claims are exclusive and a dead
/// owner's claim is taken over; an ablation run as 2 shards gives the unsharded ablation's table.
/// </summary>
[Collection("faults")]
public class ShardingTests(ReferenceRun reference, ITestOutputHelper output) : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void ThreeConcurrentShardProcessesGiveTheUnshardedResultsAndMergeAgreesWithThem()
    {
        string dir = tmp["sharded"];
        var children = Enumerable.Range(0, 3)
            .Select(i => FaultHarness.StartHashbd(tmp[$"shard{i}.log"], "experiment", "--config", reference.ConfigPath, "--out", dir, "--shard", $"{i}/3"))
            .ToList();
        foreach (var c in children) c.WaitForExit();
        for (int i = 0; i < 3; i++)
        {
            string log = File.ReadAllText(tmp[$"shard{i}.log"]);
            output.WriteLine($"--- shard {i}/3 (exit {children[i].ExitCode})\n{string.Join("\n", log.Split('\n').Where(l => l.StartsWith("shard")))}");
            Assert.True(children[i].ExitCode == 0, log);
        }
        reference.AssertSameAs(dir, "3 shards");
        // Every unit was done once: one done file each, no claim left.
        var units = ExperimentGraph.Of(FaultHarness.Config).Work;
        var folder = new RunFolder(dir);
        Assert.All(units, u => Assert.True(folder.IsUnitDone(u), u.Id));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "units"), "*.claim"));

        foreach (var f in new[] { "results.json", "results.md", "report.html", "units/results.done" }) File.Delete(Path.Combine(dir, f));
        var merged = Hashbd.Run("merge", dir);
        Assert.True(merged.ExitCode == 0, merged.Err);
        reference.AssertSameAs(dir, "hashbd merge");
    }

    [Fact]
    public void AShardKilledMidUnitAndRunAgainFinishesTheGridWithTheSameResults()
    {
        string dir = tmp["killed-shard"];
        // Shard 0/2 owns the clean model and tri; killed while the clean model trains (its claim stays, its pid dies).
        var child = FaultHarness.StartHashbd(tmp["shard0.log"], "experiment", "--config", reference.ConfigPath, "--out", dir, "--shard", "0/2");
        bool appeared = FaultHarness.WaitForFile(child, Path.Combine(dir, "seed-0/clean/checkpoint/state.json"), TimeSpan.FromMinutes(2));
        FaultHarness.KillHard(child);
        Assert.True(appeared, File.ReadAllText(tmp["shard0.log"]));
        Assert.True(File.Exists(Path.Combine(dir, "units", "seed-0.clean.claim")), "the killed shard's claim");

        // Shard 1/2 needs the clean model for its trigger: the dead shard's claim is stale, so it computes it.
        var one = Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir, "--shard", "1/2");
        Assert.True(one.ExitCode == 0, one.Err);
        Assert.False(File.Exists(Path.Combine(dir, "results.json")), "shard 0's tri is still missing");
        // The killed shard, run again, finds the clean model done, computes tri and, being last, merges.
        var zero = Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir, "--shard", "0/2");
        Assert.True(zero.ExitCode == 0, zero.Err);
        reference.AssertSameAs(dir, "killed shard rerun");
    }

    [Fact]
    public void MergeOfAnIncompleteRunNamesTheFirstMissingResult()
    {
        string dir = tmp["incomplete"];
        var one = Hashbd.Run("experiment", "--config", reference.ConfigPath, "--out", dir, "--shard", "1/2");
        Assert.Equal(0, one.ExitCode);
        var merged = Hashbd.Run("merge", dir);
        Assert.Equal(3, merged.ExitCode);
        string missing = Path.Combine(dir, "seed-0", "target-0", "tri", "result.json");
        Assert.Equal($"hashbd: error: {missing}: missing: 1 of 3 results are not computed yet; run the shards that have not finished first (shard I/N with the same config and output folder)",
            merged.SingleErrorLine());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public void EveryUnitHasExactlyOneOwnerAndComesAfterItsDependencies(int n)
    {
        var config = FaultHarness.Config with
        {
            Seeds = new[] { 0L, 1 }, Targets = new[] { 0, 2 }, Methods = new[] { "tri", "tri+noise", "tri+adv", "ciba" },
            Surrogate = new SurrogateConfig { Kind = SurrogateKind.Independent },
        };
        var graph = ExperimentGraph.Of(config);
        var units = graph.Work.ToList();
        // 2 clean + 2 surrogates + 4 triggers + 16 victims.
        Assert.Equal(24, units.Count);
        Assert.Equal(units.Count, units.Select(u => u.Id).Distinct().Count());
        var owned = Enumerable.Range(0, n).SelectMany(i => graph.OwnedBy(new ShardSpec(i, n))).ToList();
        Assert.Equal(units.Select(u => u.Id).Order(), owned.Select(u => u.Id).Order());
        for (int i = 0; i < units.Count; i++)
            foreach (var d in graph.DependenciesOf(units[i]))
                Assert.True(units.IndexOf(d) is >= 0 and var j && j < i, $"{units[i].Id} needs {d.Id}, which comes later");
        // Victims, the bulk of the work, are spread evenly: counts per shard differ by at most one.
        var victims = Enumerable.Range(0, n).Select(i => graph.OwnedBy(new ShardSpec(i, n)).Count(u => u.Kind == UnitKind.Victim)).ToArray();
        Assert.True(victims.Max() - victims.Min() <= 1, string.Join(",", victims));
    }

    [Theory]
    [InlineData("3/3", "shard 3/3: I must be below N (shards are numbered 0..2)")]
    [InlineData("0/0", "shard 0/0: N must be at least 1")]
    [InlineData("1", "shard 1: expected I/N with 0 <= I < N (e.g. 0/10, or $SLURM_ARRAY_TASK_ID/10)")]
    [InlineData("-1/2", "shard -1/2: expected I/N with 0 <= I < N (e.g. 0/10, or $SLURM_ARRAY_TASK_ID/10)")]
    public void BadShardSpecsAreUsageErrors(string spec, string message)
    {
        Assert.Equal(message, Assert.Throws<UsageException>(() => ShardSpec.Parse(spec)).Message);
        Assert.Equal(new ShardSpec(2, 10), ShardSpec.Parse("2/10"));
    }

    [Fact]
    public void ClaimsAreExclusiveAndADeadOwnersClaimIsTakenOver()
    {
        var folder = new RunFolder(tmp["claims"]);
        var unit = new ExperimentUnit(UnitKind.Clean, 0);
        using var a = new UnitClaims(folder);
        Assert.Null(a.TryClaim(unit));
        using (var b = new UnitClaims(folder))
        {
            // A live holder (this process, a live runner): refused, with the holder named.
            var holder = b.TryClaim(unit);
            Assert.NotNull(holder);
            Assert.Equal(a.Owner.Token, holder!.Token);
        }
        // The holder's runner ends without finishing (as a kill would): its claim is stale and taken over.
        a.Dispose();
        using (var c = new UnitClaims(folder))
        {
            Assert.Null(c.TryClaim(unit));
            c.Complete(unit, 1);
            Assert.True(c.IsDone(unit));
            Assert.False(File.Exists(folder.UnitClaimPath(unit)));
        }
        // Another host's claim is stale only when untouched for StaleAfter; a dead pid on this host at once.
        var other = new ClaimOwner("elsewhere", 1, "t", "now");
        Assert.False(UnitClaims.IsStale(other, TimeSpan.FromMinutes(1)));
        Assert.True(UnitClaims.IsStale(other, UnitClaims.StaleAfter + TimeSpan.FromSeconds(1)));
        Assert.True(UnitClaims.IsStale(new ClaimOwner(Environment.MachineName, int.MaxValue - 1, "t", "now"), TimeSpan.Zero));
    }

    [Fact]
    public void AnAblationRunAsTwoShardsGivesTheUnshardedTable()
    {
        string plain = tmp["ablation"], sharded = tmp["ablation-sharded"];
        Assert.Equal(0, Hashbd.Run("ablate", "--config", reference.ConfigPath, "--vary", "poisons=3,4", "--queries", "test", "--out", plain).ExitCode);
        var zero = Hashbd.Run("ablate", "--config", reference.ConfigPath, "--vary", "poisons=3,4", "--queries", "test", "--out", sharded, "--shard", "0/2");
        Assert.True(zero.ExitCode == 0, zero.Err);
        Assert.False(File.Exists(Path.Combine(sharded, "ablation.json")));
        var one = Hashbd.Run("ablate", "--config", reference.ConfigPath, "--vary", "poisons=3,4", "--queries", "test", "--out", sharded, "--shard", "1/2");
        Assert.True(one.ExitCode == 0, one.Err);
        Assert.Equal(File.ReadAllText(Path.Combine(plain, "ablation.md")), File.ReadAllText(Path.Combine(sharded, "ablation.md")));
        Assert.Equal(JsonNode.Parse(File.ReadAllText(Path.Combine(plain, "ablation.json")))!.ToJsonString(),
            JsonNode.Parse(File.ReadAllText(Path.Combine(sharded, "ablation.json")))!.ToJsonString());
        // The clean model is shared between the variants and was trained once.
        Assert.True(File.Exists(Path.Combine(sharded, "shared-models", "units", "seed-0.clean.done")));
        // hashbd merge redoes the table from the shards' results.
        File.Delete(Path.Combine(sharded, "ablation.md"));
        Assert.Equal(0, Hashbd.Run("merge", sharded).ExitCode);
        Assert.Equal(File.ReadAllText(Path.Combine(plain, "ablation.md")), File.ReadAllText(Path.Combine(sharded, "ablation.md")));
    }
}
