using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Defenses;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Which attack run of an experiment folder a defense reads; null fields take the run's first seed, first target
/// and "ciba" (or the last method).</summary>
public sealed record DefenseRunSelection
{
    public long? Seed { get; init; }
    public int? Target { get; init; }
    public string? Method { get; init; }
    public string Device { get; init; } = "cpu";
}

/// <summary><see cref="DefenseInputs"/> loaded from a run folder, with everything it owns.</summary>
internal sealed class DefenseRun : IDisposable
{
    private readonly List<IDisposable> owned;

    internal DefenseRun(DefenseInputs inputs, long seed, string methodDir, List<IDisposable> owned)
    {
        Inputs = inputs;
        Seed = seed;
        MethodDir = methodDir;
        this.owned = owned;
    }

    /// <summary>The inputs (valid until disposal).</summary>
    public DefenseInputs Inputs { get; }

    /// <summary>The run's seed.</summary>
    public long Seed { get; }

    /// <summary>seed-S/target-T/METHOD (or seed-S/clean for the clean model).</summary>
    public string MethodDir { get; }

    /// <summary>Facts recorded beside a defense's figures.</summary>
    public IReadOnlyDictionary<string, object?> Describe() => new Dictionary<string, object?>
    {
        ["seed"] = Seed, ["target"] = Inputs.TargetClass, ["method"] = Inputs.AttackName, ["folder"] = MethodDir,
        ["poisons"] = Inputs.PoisonIndices?.Length, ["trainImages"] = Inputs.Train.Count, ["queries"] = Inputs.Query.Count,
        ["database"] = Inputs.Database.Count, ["R"] = Inputs.TopK, ["machine"] = RunRecord.DescribeMachine(),
    };

    public void Dispose()
    {
        for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
    }
}

/// <summary>
/// Reads what a defense needs from an experiment folder through <see cref="RunFolder"/> (docs/run-folder.md): the
/// resolved config, the victim (or the clean model for method "clean"), the target's trigger and the attack's saved
/// poison set (<see cref="RunFolder.ReadPoison"/>: the exact set the victim was trained on, with its true indices).
/// Every file a defense needs is checked before the dataset is loaded; a missing or damaged one is a one-line
/// <see cref="DataException"/> naming it. Nothing is written.
/// </summary>
internal static class DefenseInputsLoader
{
    /// <summary>Opens the run and builds the inputs.</summary>
    public static DefenseRun Load(string runDir, DefenseRunSelection selection, DefenseNeeds needs, IRunProgress progress)
    {
        var (folder, resolved) = Open(runDir);
        return Load(folder, resolved, null, selection, needs);
    }

    /// <summary>Opens an experiment folder (TorchSharp configured): the folder and its resolved config.</summary>
    public static (RunFolder Folder, ResolvedConfig Resolved) Open(string runDir)
    {
        TorchRuntime.Configure();
        if (!Directory.Exists(runDir)) throw new UsageException($"runDir {runDir}: folder not found");
        var folder = new RunFolder(Path.GetFullPath(runDir));
        if (!folder.HoldsExperiment) throw new DataException(folder.ResolvedConfigPath, "not found: runDir must be the output folder of an experiment");
        return (folder, folder.ReadResolvedConfig());
    }

    /// <summary>The run's protocol split rebuilt from its resolved config (dataset checksums checked against the run's).</summary>
    public static ProtocolSplit LoadSplit(ResolvedConfig resolved)
    {
        using var data = DatasetCatalog.Load(resolved.Config.Dataset);
        foreach (var (file, sum) in resolved.DatasetChecksums ?? new Dictionary<string, string>())
            if (data.Checksums.TryGetValue(file, out var now) && now != sum)
                throw new DataException(file, $"dataset file changed since the run (SHA-256 {now[..12]}..., recorded {sum[..12]}...)");
        return RetrievalProtocol.Apply(data, resolved.Config.Protocol);
    }

    /// <summary>Builds the inputs of one attack run of <paramref name="folder"/>. With <paramref name="sharedSplit"/> the
    /// split is borrowed (not disposed with the run), so that many attack runs share one loaded dataset; the victim's
    /// database codes are taken from the folder when the experiment saved them. With <paramref name="sharedWork"/> the
    /// defenses' shared work is borrowed (the clean model's runs on several targets); otherwise the run owns a new one.</summary>
    public static DefenseRun Load(RunFolder folder, ResolvedConfig resolved, ProtocolSplit? sharedSplit, DefenseRunSelection selection, DefenseNeeds needs,
        SharedDefenseWork? sharedWork = null)
    {
        var device = TorchRuntime.ParseDevice(selection.Device);
        var config = resolved.Config;
        long seed = selection.Seed ?? config.Seeds[0];
        if (!config.Seeds.Contains(seed)) throw new UsageException($"seed {seed}: the run has seeds {string.Join(", ", config.Seeds)}");
        int target = selection.Target ?? config.Targets[0];
        if (!config.Targets.Contains(target)) throw new UsageException($"target {target}: the run has targets {string.Join(", ", config.Targets)}");
        string method = selection.Method ?? (config.Methods.Contains("ciba") ? "ciba" : config.Methods[^1]);
        bool clean = method == RunFolder.CleanMethod;
        if (!clean && !config.Methods.Contains(method))
            throw new UsageException($"method {method}: the run has methods {string.Join(", ", config.Methods)} (or clean)");

        string modelPath = clean ? RunFolder.ModelFileIn(folder.CleanModelDir(seed)) : folder.ModelPath(seed, target, method);
        string triggerPath = folder.TriggerPath(seed, target);
        string methodDir = clean ? folder.CleanModelDir(seed) : folder.MethodDir(seed, target, method);
        bool poisonNeeded = needs.HasFlag(DefenseNeeds.PoisonSet) && !clean;
        // Check every needed file before loading the dataset.
        ModelFile.ReadMetadata(modelPath);
        if (!File.Exists(triggerPath)) throw new DataException(triggerPath, "trigger file not found");
        if (poisonNeeded)
        {
            string record = folder.PoisonRecordPath(seed, target, method);
            if (folder.ReadPoisonRecord(seed, target, method) is null) throw new DataException(record, "poison set not found (the defense needs the poisoned training set and its true indices)");
            string perturbed = folder.PerturbedImagesPath(seed, target, method);
            if (!File.Exists(perturbed)) throw new DataException(perturbed, "poisoned images not found");
        }

        var owned = new List<IDisposable>();
        try
        {
            var split = sharedSplit ?? LoadSplit(resolved);
            if (sharedSplit is null) owned.Add(split);
            var spec = new HashModelSpec(config.Model.Architecture, config.Model.Bits, split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses).Validate();
            var (victim, _) = ModelFile.Load(modelPath, spec);
            owned.Add(victim);
            victim.to(device);
            var trigger = PatchTrigger.Load(triggerPath);
            owned.Add(trigger);
            trigger.CheckFits(split.Train.Channels, split.Train.Height, split.Train.Width);

            ImageDataset train = split.Train;
            long[]? indices = null;
            Tensor? poisoned = null;
            var placement = PoisonPlacement.Fixed;
            if (clean)
            {
                indices = Array.Empty<long>();
                poisoned = zeros(0, split.Train.Channels, split.Train.Height, split.Train.Width);
                owned.Add(poisoned);
            }
            else if (poisonNeeded)
            {
                var set = folder.ReadPoison(seed, target, method, split.Train, trigger)
                    ?? throw new DataException(folder.PoisonRecordPath(seed, target, method), "poison set not found");
                owned.Add(set);
                train = set.Dataset;
                indices = set.PoisonedIndices;
                poisoned = set.PoisonedImages;
                placement = set.TriggerAfterAugmentation ? PoisonPlacement.PastedAfterAugmentation : PoisonPlacement.Fixed;
            }

            // The attacker's anchor, as the runner computed it (surrogate codes of the training split), when the surrogate
            // is in the folder; no defense uses it (a defender does not know it), analyses may.
            Tensor? anchor = null;
            string surrogatePath = RunFolder.ModelFileIn(config.Surrogate.Kind == SurrogateKind.Independent ? folder.SurrogateModelDir(seed) : folder.CleanModelDir(seed));
            if (File.Exists(surrogatePath))
            {
                var (surrogate, _) = ModelFile.Load(surrogatePath, spec);
                using (surrogate)
                {
                    surrogate.to(device);
                    using var codes = HashEncoder.Encode(surrogate, split.Train.Images, 500, null, device);
                    anchor = AnchorCode.Compute(codes, split.Train.Labels, target);
                    owned.Add(anchor);
                }
            }

            var work = sharedWork ?? new SharedDefenseWork();
            if (sharedWork is null) owned.Add(work);
            var inputs = new DefenseInputs
            {
                Shared = work,
                Anchor = anchor,
                Victim = victim, AttackName = method, TargetClass = target, Train = train, PoisonIndices = indices, PoisonedImages = poisoned,
                Placement = placement, Trigger = trigger, Query = config.Queries(split), Database = split.Database,
                Trainer = config.Training.ToTrainerOptions(seed), TopK = config.Evaluation.TopK, Rule = config.Evaluation.QueryRule,
                VictimRetrieval = new VictimRetrieval(SavedDatabaseCodes(folder, seed, target, method, split.Database.Count, spec.Bits)),
            };
            return new DefenseRun(inputs, seed, methodDir, owned);
        }
        catch
        {
            for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
            throw;
        }
    }

    /// <summary>The victim's database codes as the experiment saved them, or null when absent or not of the database's
    /// size and code length (then the defenses encode the database once themselves).</summary>
    private static BinaryCodes? SavedDatabaseCodes(RunFolder folder, long seed, int target, string method, int count, int bits)
    {
        string path = folder.CodesPath(seed, target, method, CodeSet.Database);
        try
        {
            var codes = RunFolder.ReadCodes(path);
            return codes is not null && codes.Count == count && codes.Bits == bits ? codes : null;
        }
        catch (Exception e) when (e is DataException or IOException or InvalidDataException or FormatException)
        {
            return null;
        }
    }
}
