namespace HashBackdoor.Attacks;

/// <summary>
/// What a front end fills to poison a training set (method.md sections 5-6): the target class, how many target-class
/// images to poison (or exactly which), the seed, and the perturbation settings. The trigger and the surrogate model
/// come with the <see cref="PoisonContext"/>.
/// </summary>
public sealed record PoisonOptions
{
    /// <summary>Target class t: poisoned images are training images labelled with t alone, and keep that label. Default 0. Config key targets.</summary>
    public int TargetClass { get; init; } = 0;

    /// <summary>Number N of poisoned images, chosen at random (seeded) among the target-class training images. Default
    /// 60 (reference). Ignored when <see cref="Indices"/> is given. Config key poison.count.</summary>
    public int Count { get; init; } = 60;

    /// <summary>Exactly which training images to poison (each must be labelled with the target class alone); their order
    /// forms the perturbation groups. Default null: choose <see cref="Count"/> images with <see cref="Seed"/>.
    /// Not a config key (an experiment draws the indices and records them in the run folder).</summary>
    public IReadOnlyList<long>? Indices { get; init; }

    /// <summary>Seed of every random choice of the poisoning (which images, the noise of Tri+Noise). Default 0. Set by the run (<c>RunSeeds</c>).</summary>
    public long Seed { get; init; } = 0;

    /// <summary>Confusing-perturbation and noise settings. Default: <see cref="PerturbationOptions"/> defaults.</summary>
    public PerturbationOptions Perturbation { get; init; } = new();

    /// <summary>Checks the count or indices (the target is checked against the dataset by
    /// <see cref="PoisonContext.ChooseIndices"/>, the perturbation settings by the attacks that use them); throws
    /// <see cref="UsageException"/> naming the config key.</summary>
    public PoisonOptions Validate()
    {
        if (Indices is null && Count < 1) throw new UsageException($"poison.count {Count}: must be at least 1");
        if (Indices is not null && Indices.Count < 1) throw new UsageException("poison indices: the list is empty; give at least one index");
        return this;
    }
}
