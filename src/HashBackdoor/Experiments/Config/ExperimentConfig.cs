using System.Text.Json.Nodes;
using HashBackdoor.Attacks;
using HashBackdoor.Data;

namespace HashBackdoor.Experiments;

/// <summary>
/// One CIBA experiment: dataset and protocol, the hashing model and its training recipe, the attacker's surrogate, the
/// attack's constants, the target classes and seeds to repeat over, and the methods to compare. Every key has a default;
/// unknown keys are rejected, and so are keys the run sets itself (<see cref="RunOwnedKeys"/>). Each section is a type
/// of its own; closed sets are enums, open registries (architecture, loss, methods) are names validated at load.
/// Seeds drive the clean model, surrogate, trigger, poison choice and victim training of a repetition
/// (<see cref="RunSeeds"/>); the protocol split has its own seed (<c>protocol.seed</c>).
/// </summary>
public sealed record ExperimentConfig
{
    /// <summary>Keys a config may not set because the run sets them, with the reason shown to the user.</summary>
    public static readonly IReadOnlyDictionary<string, string> RunOwnedKeys = new Dictionary<string, string>
    {
        ["training.seed"] = "set by the run for each of seeds (clean model and victims: the seed itself; surrogate: seed + 1000003); remove it",
        ["trigger.seed"] = "set by the run for each seed and target (seed * 1000 + target); remove it",
    };

    /// <summary>Experiment name (report title).</summary>
    public string Name { get; init; } = "ciba";
    /// <summary>Dataset spec (fashion-mnist, mnist:DIR, cifar10:DIR, folder:..., list:..., synthetic:...).</summary>
    public string Dataset { get; init; } = "fashion-mnist";
    /// <summary>The retrieval protocol (the data library's own options: every key of it is the config's).</summary>
    public ProtocolOptions Protocol { get; init; } = new();
    /// <summary>The hashing model.</summary>
    public ModelConfig Model { get; init; } = new();
    /// <summary>The training recipe of every model (defaults: the recommended recipe).</summary>
    public TrainingConfig Training { get; init; } = new();
    /// <summary>The attacker's surrogate (twin or independent).</summary>
    public SurrogateConfig Surrogate { get; init; } = new();
    /// <summary>Target classes, each validated against the dataset once, when the run starts.</summary>
    public IReadOnlyList<int> Targets { get; init; } = new[] { 0, 1, 2 };
    /// <summary>Repetition seeds.</summary>
    public IReadOnlyList<long> Seeds { get; init; } = new[] { 0L, 1L };
    /// <summary>Attacks to compare, by registry name (<see cref="PoisoningAttacks.Names"/>); clean is always reported.
    /// May be empty when <see cref="TestTime"/> is not (a test-time-only experiment or ablation).</summary>
    public IReadOnlyList<string> Methods { get; init; } = new[] { "tri", "tri+noise", "tri+adv", "ciba" };
    /// <summary>Test-time attacks (<see cref="Attacks.TestTime.TestTimeAttacks.Names"/>: p2p, dhta) run against each seed's
    /// clean model on the same triggered-query rows, reported beside the poisoning methods as "NAME (test-time)"
    /// (<see cref="MethodNames"/>). Default none.</summary>
    public IReadOnlyList<string> TestTime { get; init; } = Array.Empty<string>();
    /// <summary>Budget and steps of the <see cref="TestTime"/> attacks.</summary>
    public TestTimeAttackConfig TestTimeAttack { get; init; } = new();
    /// <summary>Poisoning.</summary>
    public PoisonConfig Poison { get; init; } = new();
    /// <summary>Trigger optimisation.</summary>
    public TriggerConfig Trigger { get; init; } = new();
    /// <summary>Confusing-perturbation settings; their lambda is CIBA's (tri+adv always uses 0).</summary>
    public PerturbationConfig Perturbation { get; init; } = new();
    /// <summary>Scoring.</summary>
    public EvaluationConfig Evaluation { get; init; } = new();
    /// <summary>Defenses run on every victim after the attacks (the attack x defense matrix), by registry name
    /// (<see cref="HashBackdoor.Defenses.BackdoorDefenses.Names"/>), or <c>all</c>. Default none.</summary>
    public IReadOnlyList<string> Defenses { get; init; } = Array.Empty<string>();
    /// <summary>How the matrix runs its defenses.</summary>
    public DefenseSettingsConfig DefenseSettings { get; init; } = new();
    /// <summary>Torch device: cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Checks everything that can be checked without data; throws <see cref="UsageException"/> naming the key.</summary>
    public ExperimentConfig Validate()
    {
        Model.Validate();
        Training.Validate();
        if (Targets.Count == 0) throw new UsageException("targets: at least one target class is needed");
        if (Seeds.Count == 0) throw new UsageException("seeds: at least one seed is needed");
        if (Targets.Distinct().Count() != Targets.Count) throw new UsageException("targets: a class is listed twice");
        if (Seeds.Distinct().Count() != Seeds.Count) throw new UsageException("seeds: a seed is listed twice");
        if (Methods.Count == 0 && TestTime.Count == 0) throw new UsageException("methods: at least one method is needed (or a test-time attack under testTime)");
        foreach (var m in Methods)
        {
            if (m == RunFolder.CleanMethod) throw new UsageException("methods: 'clean' is always reported; list only attacks");
            if (!PoisoningAttacks.Names.Contains(m, StringComparer.OrdinalIgnoreCase))
                throw new UsageException($"methods: {m}: unknown attack (known: {string.Join(", ", PoisoningAttacks.Names)})");
        }
        if (Methods.Distinct().Count() != Methods.Count) throw new UsageException("methods: a method is listed twice");
        foreach (var m in TestTime)
            if (!MethodNames.IsTestTime(m))
                throw new UsageException($"testTime: {m}: unknown test-time attack (known: {string.Join(", ", Attacks.TestTime.TestTimeAttacks.Names)})");
        if (TestTime.Distinct().Count() != TestTime.Count) throw new UsageException("testTime: an attack is listed twice");
        TestTimeAttack.Validate();
        Poison.Validate();
        Perturbation.Validate(); // includes the eps range
        Trigger.Validate();      // includes the trigger size
        Evaluation.Validate();
        Surrogate.Validate();
        foreach (var d in Defenses)
            if (!d.Equals(AllDefenses, StringComparison.OrdinalIgnoreCase) && !HashBackdoor.Defenses.BackdoorDefenses.Names.Contains(d, StringComparer.OrdinalIgnoreCase))
                throw new UsageException($"defenses: {d}: unknown defense (known: {string.Join(", ", HashBackdoor.Defenses.BackdoorDefenses.Names)}, or all)");
        if (Defenses.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Defenses.Count) throw new UsageException("defenses: a defense is listed twice");
        DefenseSettings.Validate();
        if (!(Device == "cpu" || Device.StartsWith("cuda", StringComparison.Ordinal)))
            throw new UsageException($"device {Device}: unknown device (expected cpu, cuda or cuda:N)");
        return this;
    }

    /// <summary>The word that stands for every registered defense in <see cref="Defenses"/>.</summary>
    public const string AllDefenses = "all";

    /// <summary><see cref="Defenses"/> with <c>all</c> expanded, in registry order, canonical names.</summary>
    public IReadOnlyList<string> DefenseNames() => ExpandDefenses(Defenses);

    /// <summary>Defense names with <c>all</c> expanded, in the order given (registry order for <c>all</c>), canonical names.</summary>
    public static IReadOnlyList<string> ExpandDefenses(IEnumerable<string> names)
    {
        var known = HashBackdoor.Defenses.BackdoorDefenses.Names;
        var list = new List<string>();
        foreach (var n in names)
            foreach (var d in n.Equals(AllDefenses, StringComparison.OrdinalIgnoreCase) ? known : known.Where(k => k.Equals(n, StringComparison.OrdinalIgnoreCase)))
                if (!list.Contains(d)) list.Add(d);
        return list;
    }

    /// <summary>The queries this config reports on (<see cref="EvaluationConfig.Queries"/>).</summary>
    public ImageDataset Queries(ProtocolSplit split) => Evaluation.Queries == QuerySet.Validation
        ? split.Validation ?? throw new UsageException("evaluation.queries validation: the protocol has no validation queries; set protocol.validationPerClass (e.g. 100)")
        : split.Query;

    /// <summary>Checks what needs the data, once, where the targets meet it: each target is a class of the dataset with
    /// enough images labelled with it alone for the poison count, and the trigger fits the images.</summary>
    public void ValidateAgainst(ProtocolSplit split)
    {
        if (Evaluation.Queries == QuerySet.Validation && split.Validation is null)
            throw new UsageException("evaluation.queries validation: the protocol has no validation queries; set protocol.validationPerClass (e.g. 100)");
        foreach (int t in Targets) AttackValidation.TargetClass(t, split.Train.NumClasses);
        AttackValidation.TriggerFits(Trigger.Size, split.Train.Channels, split.Train.Channels, split.Train.Height, split.Train.Width);
        foreach (int t in Targets)
            AttackValidation.PoisonCount(Poison.Count, t, TargetRows.Indices(split.Train, t).Length);
    }

    /// <summary>
    /// Loads a config file (YAML or JSON), or the config.resolved.json of a run folder (which holds the config under
    /// "config" beside the toolkit version and dataset checksums), so that a finished run can be redone from its own
    /// folder. Every failure names the file. Run folders written before the run-owned keys were refused recorded them
    /// (always overwritten by the run): they are dropped there, and refused in a config file.
    /// </summary>
    public static ExperimentConfig Load(string path)
    {
        var node = ConfigFile.ReadNode(path);
        var config = IsResolvedRecord(node)
            ? ConfigFile.Deserialize<ResolvedConfig>(Normalized(WithoutRunOwnedKeys(node!, "config."), "config."), path).Config
            : ConfigFile.Deserialize<ExperimentConfig>(Normalized(RejectRunOwnedKeys(node, path), ""), path);
        try { return config.Validate(); }
        catch (UsageException e) { throw new UsageException($"{path}: {e.Message}", e); }
    }

    /// <summary>Reads a run folder's config.resolved.json (run-owned keys of older folders dropped).</summary>
    public static ResolvedConfig LoadResolved(string path) =>
        ConfigFile.Deserialize<ResolvedConfig>(Normalized(WithoutRunOwnedKeys(ConfigFile.ReadNode(path) ?? throw new UsageException($"{path}: invalid config: the file is empty"), "config."), "config."), path);

    /// <summary>Short forms a config may use, written out: <c>surrogate: NAME</c> is <c>surrogate: { kind: NAME }</c>.</summary>
    private static JsonNode? Normalized(JsonNode? node, string prefix)
    {
        var parent = prefix.Length == 0 ? node : Find(node, prefix);
        if (parent is JsonObject o && o.TryGetPropertyValue("surrogate", out var s) && s is JsonValue v && v.TryGetValue<string>(out var name))
            o["surrogate"] = new JsonObject { ["kind"] = name };
        return node;
    }

    private static JsonNode? RejectRunOwnedKeys(JsonNode? node, string path)
    {
        foreach (var (key, why) in RunOwnedKeys)
            if (Find(node, key) is not null) throw new UsageException($"{path}: {key}: {why}");
        return node;
    }

    private static JsonNode WithoutRunOwnedKeys(JsonNode node, string prefix)
    {
        foreach (var key in RunOwnedKeys.Keys)
        {
            var parts = (prefix + key).Split('.');
            if (Find(node, string.Join('.', parts[..^1])) is JsonObject parent) parent.Remove(parts[^1]);
        }
        return node;
    }

    private static JsonNode? Find(JsonNode? node, string dotted)
    {
        foreach (var part in dotted.Split('.', StringSplitOptions.RemoveEmptyEntries))
            node = node is JsonObject o && o.TryGetPropertyValue(part, out var child) ? child : null;
        return node;
    }

    private static bool IsResolvedRecord(JsonNode? node) =>
        node is JsonObject o && o.TryGetPropertyValue("config", out var c) && c is JsonObject && o.ContainsKey("toolkitVersion");
}
