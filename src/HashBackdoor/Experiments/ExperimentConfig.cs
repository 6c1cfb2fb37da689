using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Hashing;

namespace HashBackdoor.Experiments;

/// <summary>Model part of an experiment config.</summary>
public sealed record ModelConfig
{
    public string Architecture { get; init; } = "small-cnn";
    public int Bits { get; init; } = 48;
}

/// <summary>Poisoning part of an experiment config.</summary>
public sealed record PoisonConfig
{
    /// <summary>N, the number of target-class training images poisoned (the reference uses 60 of 100 per class).</summary>
    public int Count { get; init; } = 60;
}

/// <summary>Evaluation part of an experiment config.</summary>
public sealed record EvaluationConfig
{
    public int TopK { get; init; } = 1000;
    /// <summary>"skip" (reference) or "zero" (DeepHash-pytorch).</summary>
    public string QueryRule { get; init; } = "skip";
}

/// <summary>
/// One CIBA experiment: dataset and protocol, the hashing model and its training recipe, the attack's constants, the
/// target classes and seeds to repeat over, and the methods to compare. Every field has a default; unknown keys in a
/// config file are rejected. Seeds drive the clean model, surrogate, trigger, poison choice and victim training of a
/// repetition; the protocol split has its own fixed seed.
/// </summary>
public sealed record ExperimentConfig
{
    public string Name { get; init; } = "ciba";
    public string Dataset { get; init; } = "fashion-mnist";
    public ProtocolOptions Protocol { get; init; } = new();
    public ModelConfig Model { get; init; } = new();
    public HashTrainerOptions Training { get; init; } = new();
    /// <summary>"clean": the attacker's surrogate is the clean model of the same seed (same architecture, bits, data and
    /// initial weights); "independent": a second clean model trained with another seed.</summary>
    public string Surrogate { get; init; } = "clean";
    public IReadOnlyList<int> Targets { get; init; } = new[] { 0, 1, 2 };
    public IReadOnlyList<long> Seeds { get; init; } = new[] { 0L, 1L };
    public IReadOnlyList<string> Methods { get; init; } = new[] { "tri", "tri+noise", "tri+adv", "ciba" };
    public PoisonConfig Poison { get; init; } = new();
    public TriggerOptions Trigger { get; init; } = new();
    /// <summary>Confusing-perturbation settings; their lambda is CIBA's (tri+adv always uses 0).</summary>
    public PerturbationOptions Perturbation { get; init; } = new();
    public EvaluationConfig Evaluation { get; init; } = new();
    public string Device { get; init; } = "cpu";

    /// <summary>Checks everything that can be checked without data; throws <see cref="UsageException"/> naming the key.</summary>
    public ExperimentConfig Validate()
    {
        new HashModelSpec(Model.Architecture, Model.Bits, 1, 1, 1, 1).Validate();
        Training.Validate();
        if (Surrogate is not ("clean" or "independent")) throw new UsageException($"surrogate {Surrogate}: expected clean or independent");
        if (Targets.Count == 0) throw new UsageException("targets: at least one target class is needed");
        if (Seeds.Count == 0) throw new UsageException("seeds: at least one seed is needed");
        if (Targets.Distinct().Count() != Targets.Count) throw new UsageException("targets: a class is listed twice");
        if (Seeds.Distinct().Count() != Seeds.Count) throw new UsageException("seeds: a seed is listed twice");
        if (Methods.Count == 0) throw new UsageException("methods: at least one method is needed");
        foreach (var m in Methods)
        {
            if (m == "clean") throw new UsageException("methods: 'clean' is always reported; list only attacks");
            if (!PoisoningAttacks.Names.Contains(m, StringComparer.OrdinalIgnoreCase))
                throw new UsageException($"methods: {m}: unknown attack (known: {string.Join(", ", PoisoningAttacks.Names)})");
        }
        if (Poison.Count < 1) throw new UsageException($"poison.count {Poison.Count}: must be at least 1");
        Perturbation.Validate(); // includes the eps range
        Trigger.Validate();      // includes the trigger size
        if (Evaluation.TopK < 1) throw new UsageException($"evaluation.topK {Evaluation.TopK}: must be at least 1");
        if (Evaluation.QueryRule is not ("skip" or "zero")) throw new UsageException($"evaluation.queryRule {Evaluation.QueryRule}: expected skip or zero");
        return this;
    }

    /// <summary>Checks what needs the data: target classes exist, the trigger fits, the poison count fits each target.</summary>
    public void ValidateAgainst(ProtocolSplit split)
    {
        foreach (int t in Targets)
        {
            try { AttackValidation.TargetClass(t, split.Train.NumClasses); }
            catch (UsageException e) { throw new UsageException($"targets: {e.Message}"); }
        }
        AttackValidation.TriggerFits(Trigger.Size, split.Train.Channels, split.Train.Channels, split.Train.Height, split.Train.Width);
        foreach (int t in Targets)
            AttackValidation.PoisonCount(Poison.Count, t, AttackValidation.TargetIndices(split.Train, t).Length);
    }

    /// <summary>Reads and validates a config file; every failure names the file.</summary>
    /// <summary>Loads a config file, or the config.resolved.json of a run folder (which holds the config under "config"
    /// beside the toolkit version and dataset checksums), so that a finished run can be redone from its own folder.</summary>
    public static ExperimentConfig Load(string path)
    {
        var config = IsResolvedRecord(path)
            ? ConfigFile.Load<ResolvedConfig>(path).Config
            : ConfigFile.Load<ExperimentConfig>(path);
        try { return config.Validate(); }
        catch (UsageException e) { throw new UsageException($"{path}: {e.Message}", e); }
    }

    private static bool IsResolvedRecord(string path)
    {
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || !File.Exists(path)) return false;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path), new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && doc.RootElement.TryGetProperty("config", out var c) && c.ValueKind == System.Text.Json.JsonValueKind.Object
                && doc.RootElement.TryGetProperty("toolkitVersion", out _);
        }
        catch (System.Text.Json.JsonException) { return false; }
    }
}
