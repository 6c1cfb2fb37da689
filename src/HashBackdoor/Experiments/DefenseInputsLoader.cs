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
    /// <summary>When the run folder has no saved poison set, rebuild it with the run's seeds (same attack, options and
    /// surrogate as the runner) and save it there.</summary>
    public bool RegeneratePoison { get; init; }
}

/// <summary><see cref="DefenseInputs"/> loaded from a run folder, with everything it owns.</summary>
public sealed class DefenseRun : IDisposable
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
/// Reads what a defense needs from an experiment folder written by <see cref="ExperimentRunner"/> (current layout:
/// config.resolved.json; seed-S/clean/model.hbm; seed-S/target-T/trigger.bin; seed-S/target-T/METHOD/model.hbm with '+'
/// written '_'; and the poison set of <see cref="PoisonSetFile"/> in the METHOD folder). Every file a defense needs is
/// checked before the dataset is loaded; a missing or damaged one is a one-line <see cref="DataException"/> naming it.
/// Nothing is written unless <see cref="DefenseRunSelection.RegeneratePoison"/> is set.
/// </summary>
public static class DefenseInputsLoader
{
    /// <summary>Opens the run and builds the inputs.</summary>
    public static DefenseRun Load(string runDir, DefenseRunSelection selection, DefenseNeeds needs, IRunProgress progress)
    {
        var device = TorchRuntime.ParseDevice(selection.Device);
        TorchRuntime.Configure();
        string root = Path.GetFullPath(runDir);
        string resolved = Path.Combine(root, ExperimentRunner.ResolvedConfigName);
        if (!Directory.Exists(root)) throw new UsageException($"--run {runDir}: folder not found");
        if (!File.Exists(resolved)) throw new DataException(resolved, "not found: --run must be a folder written by hashbd experiment");
        var config = ConfigFile.Load<ExperimentRunner.ResolvedConfig>(resolved).Config;
        long seed = selection.Seed ?? config.Seeds[0];
        if (!config.Seeds.Contains(seed)) throw new UsageException($"--seed {seed}: the run has seeds {string.Join(", ", config.Seeds)}");
        int target = selection.Target ?? config.Targets[0];
        if (!config.Targets.Contains(target)) throw new UsageException($"--target {target}: the run has targets {string.Join(", ", config.Targets)}");
        string method = selection.Method ?? (config.Methods.Contains("ciba") ? "ciba" : config.Methods[^1]);
        if (method != "clean" && !config.Methods.Contains(method))
            throw new UsageException($"--method {method}: the run has methods {string.Join(", ", config.Methods)} (or clean)");

        string seedDir = Path.Combine(root, $"seed-{seed}");
        string targetDir = Path.Combine(seedDir, $"target-{target}");
        string methodDir = method == "clean" ? Path.Combine(seedDir, "clean") : Path.Combine(targetDir, method.Replace('+', '_'));
        string modelPath = Path.Combine(methodDir, RunRecord.ModelFileName);
        string triggerPath = Path.Combine(targetDir, "trigger.bin");
        string surrogatePath = Path.Combine(seedDir, config.Surrogate == "independent" ? "surrogate" : "clean", RunRecord.ModelFileName);
        bool poisonNeeded = needs.HasFlag(DefenseNeeds.PoisonSet) && method != "clean";
        // Check every needed file before loading the dataset.
        ModelFile.ReadMetadata(modelPath);
        if (!File.Exists(triggerPath)) throw new DataException(triggerPath, "trigger file not found");
        if (poisonNeeded && !PoisonSetFile.Exists(methodDir))
        {
            string manifest = Path.Combine(methodDir, PoisonSetFile.ManifestFileName);
            if (!selection.RegeneratePoison)
                throw new DataException(manifest, "poison set not found (this run did not save it); pass --regenerate-poison to rebuild it from the run's seeds");
            ModelFile.ReadMetadata(surrogatePath);
        }

        var owned = new List<IDisposable>();
        try
        {
            ProtocolSplit split;
            using (var data = DatasetCatalog.Load(config.Dataset))
            {
                var recorded = ConfigFile.Load<ExperimentRunner.ResolvedConfig>(resolved).DatasetChecksums;
                foreach (var (file, sum) in recorded ?? new Dictionary<string, string>())
                    if (data.Checksums.TryGetValue(file, out var now) && now != sum)
                        throw new DataException(file, $"dataset file changed since the run (SHA-256 {now[..12]}..., recorded {sum[..12]}...)");
                split = RetrievalProtocol.Apply(data, config.Protocol);
            }
            owned.Add(split);
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
            if (method == "clean")
            {
                indices = Array.Empty<long>();
                poisoned = zeros(0, split.Train.Channels, split.Train.Height, split.Train.Width);
                owned.Add(poisoned);
            }
            else if (poisonNeeded)
            {
                if (!PoisonSetFile.Exists(methodDir))
                    Regenerate(config, spec, split.Train, trigger, surrogatePath, method, seed, target, methodDir, device, progress);
                var saved = PoisonSetFile.Load(methodDir, split.Train.Count, split.Train.Channels, split.Train.Height, split.Train.Width);
                owned.Add(saved);
                if (saved.Manifest.Attack != method || saved.Manifest.TargetClass != target)
                    throw new DataException(Path.Combine(methodDir, PoisonSetFile.ManifestFileName), $"poison set is {saved.Manifest.Attack} for target {saved.Manifest.TargetClass}, expected {method} for target {target}");
                indices = saved.Indices;
                poisoned = saved.Images;
                placement = saved.PastedAfterAugmentation ? PoisonPlacement.PastedAfterAugmentation : PoisonPlacement.Fixed;
                if (placement == PoisonPlacement.Fixed)
                {
                    using var idx = tensor(indices, ScalarType.Int64);
                    train = new ImageDataset($"{split.Train.Name}+{method}", split.Train.Images.clone().index_copy_(0, idx, poisoned), split.Train.Labels.clone(), split.Train.ClassNames);
                    owned.Add(train);
                }
            }

            // The attacker's anchor, as the runner computed it (surrogate codes of the training split), when the surrogate
            // is in the folder; no defense uses it (a defender does not know it), analyses may.
            Tensor? anchor = null;
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

            var inputs = new DefenseInputs
            {
                Anchor = anchor,
                Victim = victim, AttackName = method, TargetClass = target, Train = train, PoisonIndices = indices, PoisonedImages = poisoned,
                Placement = placement, Trigger = trigger, Query = split.Query, Database = split.Database,
                Trainer = config.Training with { Seed = seed }, TopK = config.Evaluation.TopK,
                Rule = config.Evaluation.QueryRule == "zero" ? QueryRule.Zero : QueryRule.Skip,
            };
            return new DefenseRun(inputs, seed, methodDir, owned);
        }
        catch
        {
            for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
            throw;
        }
    }

    /// <summary>The attack options the experiment runner uses for (seed, target): one place for the lead to share with it.</summary>
    public static PoisonOptions RunnerPoisonOptions(ExperimentConfig config, long seed, int target) =>
        new() { TargetClass = target, Count = config.Poison.Count, Seed = seed * 1000 + target, Perturbation = config.Perturbation };

    private static void Regenerate(ExperimentConfig config, HashModelSpec spec, ImageDataset train, PatchTrigger trigger, string surrogatePath,
        string method, long seed, int target, string methodDir, Device device, IRunProgress progress)
    {
        var (surrogate, _) = ModelFile.Load(surrogatePath, spec);
        using (surrogate)
        {
            surrogate.to(device);
            var attack = PoisoningAttacks.Create(method);
            using var step = progress.Start($"regenerate {method} poison set (seed {seed}, target {target})", config.Perturbation.Rounds);
            var context = new PoisonContext(RunnerPoisonOptions(config, seed, target), trigger, surrogate)
            {
                PerturbationProgress = (round, objective) => step.Report(round, $"objective {objective:F4}"),
            };
            using var poison = attack.Poison(train, context);
            PoisonSetFile.Save(methodDir, poison);
        }
        progress.Info($"poison set saved to {methodDir}");
    }
}
