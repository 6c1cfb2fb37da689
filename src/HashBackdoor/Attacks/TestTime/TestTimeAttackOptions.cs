namespace HashBackdoor.Attacks.TestTime;

/// <summary>How a test-time attack turns the gradient of its loss into a step on the perturbation.</summary>
public enum StepRule
{
    /// <summary>L-infinity projected gradient descent: <c>delta -= StepSize * sign(g)</c>.</summary>
    Sign,

    /// <summary>The DHTA reference code's rule: <c>delta -= StepSize * g / ||g||_2</c>, the norm taken per query over
    /// all its pixels (a query whose gradient is exactly 0 does not move).</summary>
    L2,
}

/// <summary>
/// Settings of the test-time targeted attacks (P2P, DHTA; Bai et al., ECCV 2020). Amounts are pixel units on the 0..1
/// image scale (the reference applies its budget to ImageNet-normalised tensors; see docs/attacks.md).
/// </summary>
public sealed record TestTimeAttackOptions
{
    /// <summary>L-infinity budget: |delta| &lt;= Epsilon per pixel. Default 8/255. Flag --eps.</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>Number of optimisation steps per query. Default 50 (chosen on validation images, docs/attacks.md;
    /// the reference uses 2000 on a GPU). Flag --steps.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Step length in pixel units; null means <see cref="Epsilon"/> / 4 (chosen on validation images,
    /// docs/attacks.md). Flag --step-size.</summary>
    public double? StepSize { get; init; }

    /// <summary>Signed-gradient (default) or L2-normalised gradient steps. Flag --step-rule.</summary>
    public StepRule Rule { get; init; } = StepRule.Sign;

    /// <summary>Temperatures beta of tanh(beta z) over the steps: the first value holds for the first half, the
    /// others share the second half in equal consecutive slices (the reference: 0.1 for 1000 of 2000 iterations, then
    /// 0.2, 0.3, 0.5, 0.7, 1.0 for 200 each). Default that schedule, scaled to <see cref="Steps"/>.</summary>
    public IReadOnlyList<double> BetaSchedule { get; init; } = new[] { 0.1, 0.2, 0.3, 0.5, 0.7, 1.0 };

    /// <summary>Queries per forward/backward pass (memory bound only: in eval mode the queries do not interact, so
    /// the result does not depend on it). Default 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Seed of the attack's random choices (P2P's target codes). Default 0. Flag --seed.</summary>
    public long Seed { get; init; }

    /// <summary>The step length in use: <see cref="StepSize"/>, or <see cref="Epsilon"/> / 4 when it is null.</summary>
    public double EffectiveStepSize => StepSize ?? Epsilon / 4;

    /// <summary>Beta of step <paramref name="step"/> (0-based), from <see cref="BetaSchedule"/> as described there.</summary>
    public double BetaAt(int step) => HashBackdoor.Attacks.BetaSchedule.At(BetaSchedule, Steps, step);

    /// <summary>Throws <see cref="UsageException"/> naming the first bad option by its flag.</summary>
    public TestTimeAttackOptions Validate()
    {
        if (!(Epsilon > 0 && Epsilon <= 1))
            throw new UsageException($"testTimeAttack.epsilon {Epsilon}: must be positive and at most 1 (pixel units on a 0..1 scale; 8/255 = {8.0 / 255:0.#####})");
        if (Steps < 1) throw new UsageException($"testTimeAttack.steps {Steps}: must be at least 1");
        if (StepSize is double s && !(s > 0 && s <= 1000))
            throw new UsageException($"testTimeAttack.stepSize {s}: must be positive (pixel units)");
        if (BetaSchedule is null || BetaSchedule.Count == 0 || BetaSchedule.Any(b => !(b > 0) || double.IsInfinity(b)))
            throw new UsageException($"beta schedule {string.Join(",", BetaSchedule ?? Array.Empty<double>())}: needs one or more positive values");
        if (BatchSize < 1) throw new UsageException($"batch size {BatchSize}: must be at least 1");
        return this;
    }
}
