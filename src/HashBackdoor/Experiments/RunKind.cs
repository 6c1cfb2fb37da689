namespace HashBackdoor.Experiments;

/// <summary>What a folder holds, judged by the files each command writes first.</summary>
public enum RunKind
{
    /// <summary>Nothing a command of hashbd wrote (missing, empty, or other files).</summary>
    None,
    /// <summary>A training run of <c>hashbd train</c> (run.json, model.hbm or checkpoint/state.json).</summary>
    Train,
    /// <summary>The output of <c>hashbd evaluate</c> (metrics.json).</summary>
    Evaluation,
    /// <summary>An experiment run folder (config.resolved.json).</summary>
    Experiment,
    /// <summary>An ablation folder (ablation.json, ablation.request.json, shared-models/, or sub-folders holding experiments).</summary>
    Ablation,
}

/// <summary>Recognises run folders and checks an output folder before a command does any work.</summary>
internal static class RunKinds
{
    /// <summary>The file that marks a sharded ablation (its base config and varied setting, for <c>hashbd merge</c>).</summary>
    public const string AblationRequestName = "ablation.request.json";

    /// <summary>What <paramref name="dir"/> holds, and the file that shows it (null for <see cref="RunKind.None"/>).</summary>
    public static (RunKind Kind, string? Evidence) Detect(string dir)
    {
        if (!Directory.Exists(dir)) return (RunKind.None, null);
        string? Has(string name) => File.Exists(Path.Combine(dir, name)) || Directory.Exists(Path.Combine(dir, name)) ? name : null;
        if (Has(RunFolder.ResolvedConfigName) is { } e) return (RunKind.Experiment, e);
        if ((Has("ablation.json") ?? Has(AblationRequestName) ?? Has("shared-models")) is { } a) return (RunKind.Ablation, a);
        foreach (var sub in Directory.EnumerateDirectories(dir))
            if (Path.GetFileName(sub).Contains('=') && File.Exists(Path.Combine(sub, RunFolder.ResolvedConfigName)))
                return (RunKind.Ablation, Path.Combine(Path.GetFileName(sub), RunFolder.ResolvedConfigName));
        if ((Has(RunRecord.FileName) ?? Has(RunRecord.ModelFileName) ?? (File.Exists(Path.Combine(dir, "checkpoint", "state.json")) ? "checkpoint/state.json" : null)) is { } t)
            return (RunKind.Train, t);
        if (Has("metrics.json") is { } m) return (RunKind.Evaluation, m);
        return (RunKind.None, null);
    }

    /// <summary>
    /// Before any work: <paramref name="dir"/> must be a folder (or creatable), writable, and hold nothing or a run of
    /// kind <paramref name="kind"/> (or of one of <paramref name="alsoAccepted"/>). Creates nothing.
    /// </summary>
    /// <exception cref="UsageException">One line naming <paramref name="key"/>, the folder and the problem.</exception>
    public static void RequireOutputFolder(string dir, string key, RunKind kind, params RunKind[] alsoAccepted)
    {
        OutputLocation.RequireWritableFolder(dir, key);
        var (found, evidence) = Detect(Path.GetFullPath(dir));
        if (found == RunKind.None || found == kind || alsoAccepted.Contains(found)) return;
        throw new UsageException($"{key} {dir}: holds {Describe(found)} ({evidence}), not {Describe(kind)}; choose another folder");
    }

    /// <summary>"a training run", "an experiment", ...</summary>
    public static string Describe(RunKind kind) => kind switch
    {
        RunKind.Train => "a training run",
        RunKind.Evaluation => "an evaluation",
        RunKind.Experiment => "an experiment",
        RunKind.Ablation => "an ablation",
        _ => "nothing",
    };
}
