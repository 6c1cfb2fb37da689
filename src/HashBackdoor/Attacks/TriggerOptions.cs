namespace HashBackdoor.Attacks;

/// <summary>
/// Settings of the trigger optimisation (method.md section 4). Defaults are the reference constants with the patch size
/// scaled to the CPU setting (P = 4 on 28-32 px images) and alpha stated in pixel units on the 0..1 scale.
/// </summary>
public sealed record TriggerOptions
{
    /// <summary>Side P of the square patch in pixels. Default 4 (reference: 24 on 224 px images). Flag trigger.size.</summary>
    public int Size { get; init; } = 4;

    /// <summary>Number of optimisation steps. Default 2000 (reference). Flag trigger.steps.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Training images sampled (with replacement, all classes) per step. Default 32 (reference). Flag trigger.batchSize.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Step length: the patch moves by -Alpha times the mean L2-normalised per-image gradient. Pixel units on
    /// the 0..1 scale; default 12/255 (the reference's 12 on its 0..255 scale). Flag trigger.alpha.</summary>
    public double Alpha { get; init; } = 12.0 / 255.0;

    /// <summary>The starting patch: <see cref="TriggerInit.Uniform"/> (every pixel <see cref="InitValue"/>, the
    /// reference) or <see cref="TriggerInit.Checkerboard"/> (black and white). With <see cref="Steps"/> = 0 the trigger is
    /// that patch unchanged. Config key trigger.init.</summary>
    public TriggerInit Init { get; init; } = TriggerInit.Uniform;
    /// <summary>Initial value of every patch pixel. Default 0.5 (mid-grey, as the reference). Flag trigger.initValue.</summary>
    public double InitValue { get; init; } = 0.5;

    /// <summary>Temperatures beta of tanh(beta z): the first value holds for the first half of the steps, the remaining
    /// values share the second half in equal consecutive slices. Default 0.1 | 0.2, 0.3, 0.5, 0.7, 1.0 (reference).</summary>
    public IReadOnlyList<double> BetaSchedule { get; init; } = new[] { 0.1, 0.2, 0.3, 0.5, 0.7, 1.0 };

    /// <summary>Seed of the image sampling. Default 0. Flag --seed.</summary>
    public long Seed { get; init; } = 0;

    /// <summary>Beta of step <paramref name="step"/> (0-based): <c>BetaSchedule[0]</c> while step &lt; Steps/2, then
    /// <c>BetaSchedule[1 + floor((step - Steps/2) * m / (Steps/2))]</c> with m = BetaSchedule.Count - 1 slices (the
    /// reference's thresholds 250k, 300k, ..., 450k with k = Steps/500).</summary>
    public double BetaAt(int step)
    {
        double half = Steps / 2.0;
        if (BetaSchedule.Count == 1 || step < half) return BetaSchedule[0];
        int m = BetaSchedule.Count - 1;
        int slice = (int)Math.Floor((step - half) * m / half);
        return BetaSchedule[1 + Math.Clamp(slice, 0, m - 1)];
    }

    /// <summary>Throws <see cref="UsageException"/> naming the first bad option.</summary>
    public TriggerOptions Validate()
    {
        AttackValidation.TriggerSize(Size);
        if (Steps < 0) throw new UsageException($"trigger.steps {Steps}: must be at least 0");
        if (BatchSize < 1) throw new UsageException($"trigger.batchSize {BatchSize}: must be at least 1");
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new UsageException($"trigger.alpha {Alpha}: must be a positive pixel amount (12/255 = {12.0 / 255:0.#####})");
        if (!(InitValue >= 0 && InitValue <= 1)) throw new UsageException($"trigger.initValue {InitValue}: must lie in [0, 1]");
        if (BetaSchedule is null || BetaSchedule.Count == 0 || BetaSchedule.Any(b => !(b > 0) || double.IsInfinity(b)))
            throw new UsageException($"trigger.betaSchedule {string.Join(",", BetaSchedule ?? Array.Empty<double>())}: needs one or more positive values");
        return this;
    }
}

/// <summary>How the trigger patch starts (<see cref="TriggerOptions.Init"/>).</summary>
public enum TriggerInit
{
    /// <summary>Every pixel <see cref="TriggerOptions.InitValue"/> (mid-grey by default; the reference).</summary>
    Uniform,
    /// <summary>A black-and-white checkerboard (<see cref="PatchTrigger.Checkerboard"/>).</summary>
    Checkerboard,
}
