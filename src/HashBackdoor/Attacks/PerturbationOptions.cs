namespace HashBackdoor.Attacks;

/// <summary>
/// Settings of the confusing perturbation (method.md section 5) and of the uniform noise of Tri+Noise. Amounts are pixel
/// units on the 0..1 image scale. The reference applies eps and the step to ImageNet-normalised tensors (divided by a
/// standard deviation of about 0.226), so its real pixel budget is about 1.8/255; this project's eps = 8/255 really is
/// 8 grey levels (a documented departure, docs/attacks.md).
/// </summary>
public sealed record PerturbationOptions
{
    /// <summary>L-infinity budget: |delta| &lt;= Epsilon per pixel. Default 8/255. Also the noise amplitude of Tri+Noise. Flag perturbation.epsilon.</summary>
    public double Epsilon { get; init; } = 8.0 / 255.0;

    /// <summary>Length of each signed-gradient ascent step, pixel units. Default 0.003 (the reference's number; the
    /// reference applies it to ImageNet-normalised tensors, where it is about 0.17/255 of a pixel; here it is 0.765/255).
    /// With the defaults, 20 rounds move a pixel by at most 0.06 = 15.3/255, enough to reach eps = 8/255. Flag perturbation.stepSize.</summary>
    public double StepSize { get; init; } = 0.003;

    /// <summary>Number of ascent rounds; every image takes one step per round. Default 20 (reference). Flag perturbation.rounds.</summary>
    public int Rounds { get; init; } = 20;

    /// <summary>Weight of the dispersion term: L = (1 - Lambda) L_adv + Lambda L_disp. Default 0.8 (CIBA); 0 gives
    /// Tri+Adv. Flag perturbation.lambda.</summary>
    public double Lambda { get; init; } = 0.8;

    /// <summary>Size of the consecutive groups of chosen images whose codes are dispersed from each other. Default 20
    /// (reference). Flag perturbation.groupSize.</summary>
    public int GroupSize { get; init; } = 20;

    /// <summary>Throws <see cref="UsageException"/> naming the first bad option.</summary>
    public PerturbationOptions Validate()
    {
        AttackValidation.Epsilon(Epsilon);
        if (!(StepSize > 0) || StepSize > 1) throw new UsageException($"perturbation.stepSize {StepSize}: must lie in (0, 1] (pixel units)");
        if (Rounds < 0) throw new UsageException($"perturbation.rounds {Rounds}: must be at least 0");
        if (!(Lambda >= 0 && Lambda <= 1)) throw new UsageException($"perturbation.lambda {Lambda}: must lie in [0, 1]");
        if (GroupSize < 1) throw new UsageException($"perturbation.groupSize {GroupSize}: must be at least 1");
        return this;
    }
}
