using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Graph;
using HashBackdoor.Experiments.Sharding;
using HashBackdoor.Tests.Faults;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary>
/// The experiment as one unit graph (<see cref="ExperimentGraph"/>) executed by one <see cref="UnitExecutor"/>: a serial
/// run and the same config run as 2 shards (one after the other, in this process) give byte-identical models, codes,
/// triggers and poison sets, the same results.json without timings and the same defense figures, with a test-time
/// attack and a defense (and its clean control) among the units the shards divide.
/// </summary>
[Collection("torch-training")]
public class ExperimentGraphTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static ExperimentConfig Config => Tiny.Experiment with
    {
        Targets = new[] { 0, 1 },
        Methods = new[] { "ciba" },
        TestTime = new[] { "p2p" },
        TestTimeAttack = new TestTimeAttackConfig { Epsilon = 12.0 / 255, Steps = 3 },
        Defenses = new[] { "spectral" },
    };

    [Fact]
    public void TheGraphHasEveryUnitOnceAfterItsDependencies()
    {
        var graph = ExperimentGraph.Of(Config);
        Assert.Equal(new[]
        {
            "setup", "seed-0.clean", "seed-0.target-0.trigger", "seed-0.target-1.trigger", "seed-0.target-0.ciba", "seed-0.target-1.ciba",
            "seed-0.target-0.p2p", "seed-0.target-1.p2p", "seed-0.target-0.clean.defenses", "seed-0.target-1.clean.defenses",
            "seed-0.target-0.ciba.defenses", "seed-0.target-1.ciba.defenses", "results",
        }, graph.Units.Select(u => u.Id));
        var units = graph.Units.ToList();
        for (int i = 0; i < units.Count; i++)
            foreach (var d in graph.DependenciesOf(units[i]))
                Assert.True(units.IndexOf(d) is >= 0 and var j && j < i, $"{units[i].Id} needs {d.Id}, which comes later");
        Assert.Equal(graph.Work, graph.DependenciesOf(ExperimentGraph.Results));
        // No clean control: only the poisoning methods are defended.
        var noControl = ExperimentGraph.Of(Config with { DefenseSettings = new DefenseSettingsConfig { CleanControl = false } });
        Assert.Equal(new[] { "seed-0.target-0.ciba.defenses", "seed-0.target-1.ciba.defenses" },
            noControl.Work.Where(u => u.Kind == UnitKind.Defenses).Select(u => u.Id));
        Assert.DoesNotContain(ExperimentGraph.Of(Config with { Defenses = Array.Empty<string>() }).Units, u => u.Kind == UnitKind.Defenses);
    }

    [Fact]
    public void ASerialRunAndTwoShardsGiveByteIdenticalOutputs()
    {
        var config = Config;
        string serial = tmp["serial"], sharded = tmp["sharded"];
        var plain = new ExperimentRunner(config, serial, RunProgress.None).Run(resume: false);

        var context = RunContext.For("cpu", RunProgress.None, default);
        var first = new ShardedExperimentRunner(config, new RunFolder(sharded), context, new ShardSpec(0, 2)).Run();
        Assert.Null(first.Results);
        var second = new ShardedExperimentRunner(config, new RunFolder(sharded), context, new ShardSpec(1, 2)).Run();
        Assert.NotNull(second.Results);
        Assert.Equal(second.Total, second.Done);

        // Every work unit, defenses and test-time attacks included, was done by one of the shards.
        var folder = new RunFolder(sharded);
        var graph = ExperimentGraph.Of(config);
        Assert.Contains(graph.Work, u => u.Kind == UnitKind.Defenses);
        Assert.Contains(graph.Work, u => u.Kind == UnitKind.TestTime);
        Assert.All(graph.Units, u => Assert.True(folder.IsUnitDone(u), u.Id));
        Assert.Equal(graph.Work.Count + 1, first.Computed + second.Computed);   // and setup, once

        // Models, codes, triggers, poison sets, adversarial queries: byte for byte.
        var a = FaultHarness.OutputFiles(serial);
        var b = FaultHarness.OutputFiles(sharded);
        Assert.Contains(a.Keys, k => k.EndsWith("adversarial_queries.npy"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (path, hash) in a) Assert.True(hash == b[path], $"{path} differs between the serial and the sharded run");

        // results.json without timings, and every defense cell's figures.
        Assert.Equal(Numbers(serial), Numbers(sharded));
        Assert.Equal(4, plain.DefenseRuns.Count);
        foreach (var method in new[] { "clean", "ciba" })
            foreach (int target in config.Targets)
                Assert.Equal(Figures(new RunFolder(serial).DefenseResultPath(0, target, method, "spectral")),
                    Figures(folder.DefenseResultPath(0, target, method, "spectral")));
        Assert.Equal(plain.Runs.Select(r => r with { Seconds = 0 }), second.Results!.Runs.Select(r => r with { Seconds = 0 }));
    }

    /// <summary>results.json without the keys that record time, cost, sessions or the machine (at any depth: runs, defense
    /// runs, matrix cells, protocol).</summary>
    private static string Numbers(string dir)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
        Strip(json);
        return json.ToJsonString();
    }

    private static void Strip(JsonNode? node)
    {
        if (node is JsonObject o)
        {
            foreach (var key in o.Select(p => p.Key).ToList())
                if (key is "seconds" or "wallSeconds" or "wallSecondsThisSession" or "sessions" or "machine" || key.EndsWith("WallSeconds") || key.EndsWith("CpuSeconds")
                    || key.StartsWith("defenseMatrixToExperiment") || key.StartsWith("defenseCells"))
                    o.Remove(key);
                else Strip(o[key]);
        }
        else if (node is JsonArray a)
            foreach (var item in a) Strip(item);
    }

    private static string Figures(string resultJson) => JsonNode.Parse(File.ReadAllText(resultJson))!["figures"]!.ToJsonString();
}
