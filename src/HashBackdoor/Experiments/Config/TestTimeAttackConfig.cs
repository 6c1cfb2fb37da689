using System.Text.Json.Serialization;
using HashBackdoor.Attacks.TestTime;

namespace HashBackdoor.Experiments;

/// <summary>
/// Config section <c>testTimeAttack</c>: the budget and steps of the test-time attacks listed under <c>testTime</c>
/// (P2P, DHTA; <see cref="TestTimeAttackOptions"/>, whose documentation these keys share), run against each seed's clean
/// model. Amounts are pixel amounts (a number on the 0..1 scale or grey levels such as 8/255).
/// </summary>
public sealed record TestTimeAttackConfig
{
    private static readonly TestTimeAttackOptions Defaults = new();

    /// <summary>L-infinity budget; null (the default): <c>perturbation.epsilon</c>, the poisoning attacks' budget, so
    /// that the rows compare at the same eps.</summary>
    [JsonConverter(typeof(NullablePixelBudgetJsonConverter))]
    public double? Epsilon { get; init; }

    /// <summary>Optimisation steps per query. Default 50 (<see cref="TestTimeAttackOptions.Steps"/>).</summary>
    public int Steps { get; init; } = Defaults.Steps;

    /// <summary>Step length, a pixel amount; null (the default): the budget / 4.</summary>
    [JsonConverter(typeof(NullablePixelBudgetJsonConverter))]
    public double? StepSize { get; init; }

    /// <summary>The attack's options: <see cref="Epsilon"/> or <paramref name="perturbationEpsilon"/>, and
    /// <paramref name="seed"/> (P2P's choice of target codes).</summary>
    public TestTimeAttackOptions ToOptions(double perturbationEpsilon, long seed) => new()
    {
        Epsilon = Epsilon ?? perturbationEpsilon, Steps = Steps, StepSize = StepSize, Seed = seed,
    };

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (testTimeAttack.epsilon, ...).</summary>
    public TestTimeAttackConfig Validate()
    {
        if (Epsilon is double e && !(e > 0 && e <= 1))
            throw new UsageException($"testTimeAttack.epsilon {e}: must be positive and at most 1 (pixel units on a 0..1 scale; 8/255 = {8.0 / 255:0.#####})");
        if (Steps < 1) throw new UsageException($"testTimeAttack.steps {Steps}: must be at least 1");
        if (StepSize is double s && !(s > 0 && s <= 1))
            throw new UsageException($"testTimeAttack.stepSize {s}: must be positive and at most 1 (pixel units)");
        return this;
    }
}
