namespace HashBackdoor.Experiments;

/// <summary>Everything a run folder records in config.resolved.json: the config as run, the toolkit version, the
/// dataset files' SHA-256 and the machine. <see cref="ExperimentConfig.Load"/> reads it back as a config.</summary>
public sealed record ResolvedConfig
{
    /// <summary>The config, with every default filled in.</summary>
    public required ExperimentConfig Config { get; init; }

    /// <summary>Toolkit version that ran the experiment.</summary>
    public string? ToolkitVersion { get; init; }

    /// <summary>SHA-256 of every dataset file, by file name.</summary>
    public IReadOnlyDictionary<string, string>? DatasetChecksums { get; init; }

    /// <summary>One-line description of the machine.</summary>
    public string? Machine { get; init; }
}
