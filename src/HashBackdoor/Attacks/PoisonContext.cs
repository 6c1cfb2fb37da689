using HashBackdoor.Data;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// Everything an <see cref="IPoisoningAttack"/> may use: the options (target class, poison count or indices, seed,
/// perturbation settings), the trigger, and the attacker's surrogate model (needed by tri+adv and ciba only). The context
/// does not own the trigger or the surrogate.
/// </summary>
/// <param name="Options">Target, count or indices, seed and perturbation settings.</param>
/// <param name="Trigger">The patch pasted on every poisoned image.</param>
/// <param name="Surrogate">The attacker's clean-trained hashing model; null for attacks that need none.</param>
public sealed record PoisonContext(PoisonOptions Options, PatchTrigger Trigger, HashModel? Surrogate = null)
{
    /// <summary>Called with (round, mean objective) while confusing perturbations are computed. Optional.</summary>
    public Action<int, double>? PerturbationProgress { get; init; }

    /// <summary>Stops long poisonings (confusing perturbations, checked between groups). Default: never.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>The target class.</summary>
    public int TargetClass => Options.TargetClass;

    /// <summary>Seed of the poisoning's random choices.</summary>
    public long Seed => Options.Seed;

    /// <summary>Perturbation and noise settings.</summary>
    public PerturbationOptions Perturbation => Options.Perturbation;

    /// <summary>
    /// The training-set indices to poison: <see cref="PoisonOptions.Indices"/> as given (validated), or
    /// <see cref="PoisonOptions.Count"/> images drawn without replacement, with <see cref="Seed"/>, among the images labelled
    /// with the target class alone, returned in ascending order. Same seed, same choice.
    /// </summary>
    /// <exception cref="UsageException">Unknown target, N &lt; 1, N larger than the target class, or a given index
    /// that is out of range, repeated, or not a target-class image.</exception>
    public long[] ChooseIndices(ImageDataset train)
    {
        Options.Validate();
        AttackValidation.TargetClass(TargetClass, train.NumClasses);
        long[] eligible = TargetRows.Indices(train, TargetClass);
        if (Options.Indices is { } given)
        {
            var allowed = new HashSet<long>(eligible);
            var seen = new HashSet<long>();
            foreach (long i in given)
            {
                if (i < 0 || i >= train.Count) throw new UsageException($"poison indices: {i} is out of range (the training set has {train.Count} images)");
                if (!seen.Add(i)) throw new UsageException($"poison indices: {i} is given twice");
                if (!allowed.Contains(i))
                    throw new UsageException($"poison indices: image {i} is not labelled with the target class {TargetClass} alone (clean-label poisons are target-class images)");
            }
            return given.ToArray();
        }
        AttackValidation.PoisonCount(Options.Count, TargetClass, eligible.Length);
        using var scope = NewDisposeScope();
        using var gen = new Generator();
        gen.manual_seed(StreamSeed(1));
        var perm = randperm(eligible.Length, generator: gen).narrow(0, 0, Options.Count).sort().Values.contiguous();
        return perm.data<long>().ToArray().Select(j => eligible[j]).ToArray();
    }

    /// <summary>The surrogate, or a <see cref="UsageException"/> naming the attack that needs it.</summary>
    public HashModel RequireSurrogate(string attackName) =>
        Surrogate ?? throw new UsageException($"methods {attackName}: needs a surrogate model (surrogate), none was given");

    /// <summary>A seed for one independent random stream of this poisoning (SplitMix64 of seed and stream).</summary>
    internal long StreamSeed(int stream) =>
        SeedMix.ToSeed((ulong)Seed * SeedMix.Golden + (ulong)stream * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL);
}
