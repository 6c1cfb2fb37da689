using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;
using HashBackdoor.Data;
using HashBackdoor.Defenses;

namespace HashBackdoor.Experiments;

/// <summary>
/// One CIBA experiment: dataset and protocol, the hashing model and its training recipe, the attacker's surrogate, the
/// attack's constants, the target classes and seeds to repeat over, and the methods to compare. Every key has a default;
/// unknown keys are rejected, and so are keys the run sets itself (<see cref="RunOwnedKeys"/>). Each section is a type
/// of its own; closed sets are enums, open registries (architecture, loss, methods) are names validated at load.
/// Seeds drive the clean model, surrogate, trigger, poison choice and victim training of a repetition
/// (<see cref="RunSeeds"/>); the protocol split has its own seed (<c>protocol.seed</c>).
/// An extension that takes settings (an attack of <see cref="Methods"/>, a test-time attack of <see cref="TestTime"/>, a
/// defense of <see cref="Defenses"/>) is configured by a top-level section named after it (<see cref="ExtensionSettings"/>).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Skip)] // unmapped keys land in ExtensionSettings; Validate refuses the unknown ones
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

    /// <summary>
    /// The settings sections of extensions: every top-level key that is not one of the above is the name of an attack,
    /// test-time attack or defense this config uses, and its value is bound to that extension's settings record
    /// (<see cref="ExtensionRegistry{T}"/>: camelCase keys, unknown keys refused, the record's defaults for keys left out),
    /// e.g. <c>strip: { blends: 32 }</c>. Null or empty: every extension with its defaults (the attack x defense matrix
    /// applies <see cref="DefenseMatrixRunner.MatrixDefaults"/> beneath). Written back to config.resolved.json as given.
    /// </summary>
    /// <remarks>A dictionary of JSON elements rather than a JsonObject: System.Text.Json writes a JsonObject extension
    /// data member of a nested record (config.resolved.json's "config") as a bare object, which does not read back.</remarks>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionSettings { get; init; }

    /// <summary>The settings section of extension <paramref name="name"/> (case-insensitive), as a new node, or null.</summary>
    public JsonNode? SettingsOf(string name) =>
        ExtensionSettings?.FirstOrDefault(kv => kv.Key.Equals(name, StringComparison.OrdinalIgnoreCase)) is { Key: not null } kv
            ? JsonNode.Parse(kv.Value.GetRawText()) : null;

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
        ValidateExtensionSettings();
        if (!(Device == "cpu" || Device.StartsWith("cuda", StringComparison.Ordinal)))
            throw new UsageException($"device {Device}: unknown device (expected cpu, cuda or cuda:N)");
        return this;
    }

    /// <summary>Every section of <see cref="ExtensionSettings"/> names an extension this config uses and binds to its
    /// settings (an unknown top-level key is refused as before: "invalid config at KEY: unknown key 'KEY'").</summary>
    private void ValidateExtensionSettings()
    {
        if (ExtensionSettings is null) return;
        var defenses = DefenseNames();
        foreach (var key in ExtensionSettings.Keys)
        {
            var section = SettingsOf(key);
            bool attack = PoisoningAttacks.Registry.Find(key) is not null, testTime = TestTimeAttacks.Registry.Find(key) is not null,
                defense = BackdoorDefenses.Registry.Find(key) is not null;
            if (!attack && !testTime && !defense) throw new UsageException($"invalid config at {key}: unknown key '{key}'");
            if (attack && Methods.Contains(key, StringComparer.OrdinalIgnoreCase)) PoisoningAttacks.Registry.BindSettings(key, section);
            else if (testTime && TestTime.Contains(key, StringComparer.OrdinalIgnoreCase)) TestTimeAttacks.Registry.BindSettings(key, section);
            else if (defense && defenses.Contains(key, StringComparer.OrdinalIgnoreCase)) BackdoorDefenses.Registry.BindSettings(key, section);
            else throw new UsageException($"{key}: settings for {(attack ? "an attack" : testTime ? "a test-time attack" : "a defense")} this config does not run (add it to {(attack ? "methods" : testTime ? "testTime" : "defenses")} or remove the section)");
        }
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
            ? ConfigFile.Deserialize<ResolvedConfig>(Normalized(WithoutRunOwnedKeys(node!, "config."), "config.", path), path).Config
            : ConfigFile.Deserialize<ExperimentConfig>(Normalized(RejectRunOwnedKeys(node, path), "", path), path);
        try { return config.Validate(); }
        catch (UsageException e) { throw new UsageException($"{path}: {e.Message}", e); }
    }

    /// <summary>Reads a run folder's config.resolved.json (run-owned keys of older folders dropped).</summary>
    public static ResolvedConfig LoadResolved(string path) =>
        ConfigFile.Deserialize<ResolvedConfig>(Normalized(WithoutRunOwnedKeys(ConfigFile.ReadNode(path) ?? throw new UsageException($"{path}: invalid config: the file is empty"), "config."), "config.", path), path);

    /// <summary>Keys of <c>defenseSettings</c> that earlier versions had for two defenses' settings, and where they live now
    /// (the section of the defense's name): run folders and configs that have them still load.</summary>
    private static readonly (string Old, string Defense, string Key)[] MovedDefenseKeys =
    {
        ("pruningRatios", "fine-pruning", "ratios"), ("pruningCurve", "fine-pruning", "evaluateCurve"), ("stripBlends", "strip", "blends"),
    };

    /// <summary>Short forms a config may use, written out: <c>surrogate: NAME</c> is <c>surrogate: { kind: NAME }</c>;
    /// the moved <c>defenseSettings</c> keys (<see cref="MovedDefenseKeys"/>) go to their defense's section when the
    /// config runs that defense and are dropped otherwise (they had no effect then).</summary>
    private static JsonNode? Normalized(JsonNode? node, string prefix, string path)
    {
        var parent = prefix.Length == 0 ? node : Find(node, prefix);
        if (parent is not JsonObject o) return node;
        if (o.TryGetPropertyValue("surrogate", out var s) && s is JsonValue v && v.TryGetValue<string>(out var name))
            o["surrogate"] = new JsonObject { ["kind"] = name };
        if (o.TryGetPropertyValue("defenseSettings", out var ds) && ds is JsonObject settings)
        {
            var listed = o.TryGetPropertyValue("defenses", out var d) && d is JsonArray a
                ? ExpandDefenses(a.Select(x => x is JsonValue xv && xv.TryGetValue<string>(out var n) ? n : "").ToList()) : Array.Empty<string>();
            foreach (var (old, defense, key) in MovedDefenseKeys)
            {
                if (!settings.TryGetPropertyValue(old, out var value)) continue;
                settings.Remove(old);
                if (!listed.Contains(defense)) continue;
                if (o[defense] is not JsonObject section) o[defense] = section = new JsonObject();
                if (section.ContainsKey(key)) throw new UsageException($"{path}: defenseSettings.{old}: also given as {defense}.{key}; keep {defense}.{key}");
                section[key] = value?.DeepClone();
            }
        }
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
