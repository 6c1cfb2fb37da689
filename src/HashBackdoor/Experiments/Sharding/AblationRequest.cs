namespace HashBackdoor.Experiments.Sharding;

/// <summary>ablation.request.json of a sharded ablation: the base config and the varied setting, so that every shard
/// checks it runs the same ablation and <c>hashbd merge</c> can finish it.</summary>
public sealed record AblationRequest
{
    /// <summary>The <c>--vary</c> value, e.g. "poisons=25,50".</summary>
    public required string Vary { get; init; }

    /// <summary>The base config (every default filled in).</summary>
    public required ExperimentConfig Config { get; init; }

    /// <summary>Reads the request of the ablation folder <paramref name="dir"/>.</summary>
    public static AblationRequest Load(string dir) => ConfigFile.Load<AblationRequest>(Path.Combine(dir, RunKinds.AblationRequestName));

    /// <summary>The request as JSON.</summary>
    public string ToJson() => ConfigFile.ToJson(this);
}
