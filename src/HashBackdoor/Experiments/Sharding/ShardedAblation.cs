using System.Text.Json;
using HashBackdoor.Experiments.Graph;
using HashBackdoor.Experiments.Reports;

namespace HashBackdoor.Experiments.Sharding;

/// <summary>
/// One shard of an ablation (<c>hashbd ablate --shard I/N</c>): every variant's unit graph is sharded the same way
/// (<see cref="ShardedExperimentRunner"/>) into the usual layout, clean models shared between variants when the varied
/// setting leaves them unchanged. The shard that finds every variant finished writes ablation.json, ablation.md and the
/// plots (<c>hashbd merge</c> does the same).
/// </summary>
public static class ShardedAblation
{
    /// <summary>Runs shard <paramref name="shard"/> of the ablation of <paramref name="vary"/> over <paramref name="baseConfig"/>
    /// in <paramref name="outDir"/>; returns the ablation points when this shard wrote them, else null.</summary>
    public static IReadOnlyList<AblationPoint>? Run(ExperimentConfig baseConfig, string vary, string outDir, ShardSpec shard, IRunProgress progress,
        CancellationToken cancel = default, QuerySet queries = QuerySet.Validation)
    {
        var (name, values) = AblationRunner.ParseVary(vary);
        // Scored on the validation queries unless asked otherwise (AblationRunner.ScoredOn); the request records it.
        baseConfig = AblationRunner.ScoredOn(baseConfig, queries);
        var configs = values.Select(v => (Value: v, Config: AblationRunner.Settings[name](baseConfig, v).Validate())).ToList();
        var context = RunContext.For(baseConfig.Device, progress, cancel);
        RunKinds.RequireOutputFolder(outDir, "outDir", RunKind.Ablation);
        var request = new AblationRequest { Vary = vary, Config = baseConfig.Validate() }.ToJson();
        var root = new RunFolder(outDir);
        using var runLock = root.LockShared();
        using (var claims = new UnitClaims(root))
        {
            var setup = ExperimentGraph.Setup;
            while (!claims.IsDone(setup))
            {
                if (claims.TryClaim(setup) is null)
                {
                    if (!File.Exists(RequestPath(outDir))) AtomicFile.WriteAllText(RequestPath(outDir), request);
                    claims.Complete(setup, 0);
                }
                else cancel.WaitHandle.WaitOne(ShardedExperimentRunner.PollInterval);
                cancel.ThrowIfCancellationRequested();
            }
        }
        if (File.ReadAllText(RequestPath(outDir)) != request)
            throw new UsageException($"config/vary: differ from the ablation recorded in {RequestPath(outDir)}; every shard must run the same ablation");

        string? shared = AblationRunner.SharedModelsDir(outDir, name);
        bool complete = true;
        foreach (var (value, config) in configs)
        {
            progress.Info($"ablation {name} = {value} (shard {shard})");
            var outcome = new ShardedExperimentRunner(config, new RunFolder(AblationRunner.VariantDir(outDir, name, value), shared), context, shard).Run();
            complete &= outcome.Done == outcome.Total;
        }
        if (!complete) return null;

        var results = ExperimentGraph.Results;
        var variants = configs.Select(c => new RunFolder(AblationRunner.VariantDir(outDir, name, c.Value), shared)).ToList();
        // Every variant is complete; wait for the shards still writing a variant's results.
        foreach (var variant in variants)
        {
            using var claims = new UnitClaims(variant);
            while (!claims.IsDone(results))
            {
                cancel.ThrowIfCancellationRequested();
                if (claims.TryClaim(results) is null)
                {
                    claims.Release(results);
                    progress.Info($"ablation: the results of {variant.Root} were not written (their shard stopped); run `hashbd merge {outDir}`");
                    return null;
                }
                cancel.WaitHandle.WaitOne(ShardedExperimentRunner.PollInterval);
            }
        }
        var variantResults = variants.Select(v => v.ResultsJsonPath).ToList();
        using var final = new UnitClaims(root);
        if (final.IsDone(results) || final.TryClaim(results) is not null) return null;
        var read = variantResults.Select(ReadResults).ToList();
        var points = configs.Select((c, i) => new AblationPoint(c.Value, read[i].Summary)).ToList();
        AblationRunner.WriteOutputs(name, points, configs.Select((c, i) => (c.Value, read[i].Runs)).ToList(), baseConfig, outDir, progress);
        final.Complete(results, 0);
        return points;
    }

    /// <summary>ablation.request.json of <paramref name="outDir"/>.</summary>
    public static string RequestPath(string outDir) => Path.Combine(outDir, RunKinds.AblationRequestName);

    private static ExperimentResults ReadResults(string resultsJson)
    {
        try { return JsonSerializer.Deserialize<ExperimentResults>(File.ReadAllText(resultsJson), ExperimentResults.Json)!; }
        catch (JsonException e) { throw new DataException(resultsJson, $"damaged results file ({e.Message})"); }
    }
}
