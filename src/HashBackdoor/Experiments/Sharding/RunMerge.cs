namespace HashBackdoor.Experiments.Sharding;

/// <summary>
/// <c>hashbd merge RUN_DIR</c>: once every unit of a (sharded) experiment or ablation is computed, writes results.json,
/// results.md and report.html (and for an ablation ablation.json, ablation.md and the plots), exactly as the unsharded run
/// writes them: the run is resumed with everything already in place, under the folder's exclusive lock (refused while a
/// shard still runs). A folder with results missing is refused, naming the first missing file.
/// </summary>
public static class RunMerge
{
    /// <summary>Merges the run folder <paramref name="dir"/>; returns the path of the file the user should open.</summary>
    public static string Run(string dir, IRunProgress progress, CancellationToken cancel = default)
    {
        string full = Path.GetFullPath(dir);
        if (!Directory.Exists(full)) throw new DataException(dir, "run folder not found");
        var (kind, _) = RunKinds.Detect(full);
        switch (kind)
        {
            case RunKind.Experiment:
            {
                var folder = new RunFolder(full);
                var config = folder.ReadResolvedConfig().Config;
                RequireComplete(folder, config);
                new ExperimentRunner(config, folder, RunContext.For(config.Device, progress, cancel)).Run(resume: true);
                return folder.ReportHtmlPath;
            }
            case RunKind.Ablation:
            {
                string requestPath = ShardedAblation.RequestPath(full);
                if (!File.Exists(requestPath))
                    throw new DataException(requestPath, "missing: not a sharded ablation; finish an unsharded one by resuming it with the same config and vary");
                var request = AblationRequest.Load(full);
                var (name, values) = AblationRunner.ParseVary(request.Vary);
                string? shared = AblationRunner.SharedModelsDir(full, name);
                foreach (var value in values)
                    RequireComplete(new RunFolder(AblationRunner.VariantDir(full, name, value), shared), AblationRunner.Settings[name](request.Config, value).Validate());
                AblationRunner.Run(request.Config, request.Vary, full, resume: true, progress, cancel, request.Config.Evaluation.Queries);
                return Path.Combine(full, "ablation.md");
            }
            default:
                throw new DataException(dir, "not an experiment or ablation run folder (no config.resolved.json or ablation.request.json)");
        }
    }

    /// <summary>Refuses a folder in which some (seed, target, method) has no result.json yet.</summary>
    public static void RequireComplete(RunFolder folder, ExperimentConfig config)
    {
        var expected = (from s in config.Seeds
                        from t in config.Targets
                        from m in MethodNames.Rows(config)
                        select folder.ResultPath(s, t, m)).ToList();
        var missing = expected.Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
            throw new DataException(missing[0], $"missing: {missing.Count} of {expected.Count} results are not computed yet; run the shards that have not finished first (shard I/N with the same config and output folder)");
    }
}
