using System.Text.Json.Serialization;
using HashBackdoor.Attacks;

namespace HashBackdoor.Experiments;

/// <summary>Config section <c>perturbation</c>: the confusing perturbation and tri+noise's noise
/// (<see cref="PerturbationOptions"/>, whose defaults and documentation these keys share). Amounts are pixel amounts:
/// a number on the 0..1 scale or grey levels such as 8/255.</summary>
public sealed record PerturbationConfig
{
    private static readonly PerturbationOptions Defaults = new();

    /// <summary>L-infinity budget eps (also tri+noise's amplitude), a pixel amount.</summary>
    [JsonConverter(typeof(PixelBudgetJsonConverter))]
    public double Epsilon { get; init; } = Defaults.Epsilon;
    /// <summary>Signed-gradient step, a pixel amount.</summary>
    [JsonConverter(typeof(PixelBudgetJsonConverter))]
    public double StepSize { get; init; } = Defaults.StepSize;
    /// <summary>Ascent rounds.</summary>
    public int Rounds { get; init; } = Defaults.Rounds;
    /// <summary>Weight of the dispersion term (CIBA's; tri+adv always uses 0).</summary>
    public double Lambda { get; init; } = Defaults.Lambda;
    /// <summary>Size of the consecutive groups whose codes are dispersed from each other.</summary>
    public int GroupSize { get; init; } = Defaults.GroupSize;

    /// <summary>The attack's options.</summary>
    public PerturbationOptions ToOptions() => new() { Epsilon = Epsilon, StepSize = StepSize, Rounds = Rounds, Lambda = Lambda, GroupSize = GroupSize };

    /// <summary>The section for <paramref name="options"/>.</summary>
    public static PerturbationConfig From(PerturbationOptions options) => new()
    {
        Epsilon = options.Epsilon, StepSize = options.StepSize, Rounds = options.Rounds, Lambda = options.Lambda, GroupSize = options.GroupSize,
    };

    /// <summary>Code written against the attack's options keeps working.</summary>
    public static implicit operator PerturbationConfig(PerturbationOptions options) => From(options);

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (perturbation.epsilon, ...).</summary>
    public PerturbationConfig Validate()
    {
        ToOptions().Validate();
        return this;
    }
}
