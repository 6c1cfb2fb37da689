using System.Text.Json.Serialization;
using HashBackdoor.Attacks;

namespace HashBackdoor.Experiments;

/// <summary>Config section <c>trigger</c>: the trigger optimisation (<see cref="TriggerOptions"/>, whose defaults and
/// documentation these keys share). There is no seed key: the run derives it (<see cref="SeedPurpose.Trigger"/>).</summary>
public sealed record TriggerConfig
{
    private static readonly TriggerOptions Defaults = new();

    /// <summary>Side P of the square patch, pixels.</summary>
    public int Size { get; init; } = Defaults.Size;
    /// <summary>Optimisation steps.</summary>
    public int Steps { get; init; } = Defaults.Steps;
    /// <summary>Images sampled per step.</summary>
    public int BatchSize { get; init; } = Defaults.BatchSize;
    /// <summary>Step length, a pixel amount (0.047 or 12/255).</summary>
    [JsonConverter(typeof(PixelBudgetJsonConverter))]
    public double Alpha { get; init; } = Defaults.Alpha;
    /// <summary>Starting patch: uniform (every pixel initValue, the reference) or checkerboard.</summary>
    public TriggerInit Init { get; init; } = Defaults.Init;
    /// <summary>Initial value of every patch pixel.</summary>
    public double InitValue { get; init; } = Defaults.InitValue;
    /// <summary>Temperatures of tanh(beta z) (first half of the steps, then equal slices).</summary>
    public IReadOnlyList<double> BetaSchedule { get; init; } = Defaults.BetaSchedule;

    /// <summary>The optimiser's options with <paramref name="seed"/>.</summary>
    public TriggerOptions ToOptions(long seed) => new()
    {
        Size = Size, Steps = Steps, BatchSize = BatchSize, Alpha = Alpha, Init = Init, InitValue = InitValue, BetaSchedule = BetaSchedule, Seed = seed,
    };

    /// <summary>The section for <paramref name="options"/> (their seed is dropped: the run sets it).</summary>
    public static TriggerConfig From(TriggerOptions options) => new()
    {
        Size = options.Size, Steps = options.Steps, BatchSize = options.BatchSize, Alpha = options.Alpha, Init = options.Init, InitValue = options.InitValue,
        BetaSchedule = options.BetaSchedule,
    };

    /// <summary>Code written against the optimiser's options keeps working (their seed is dropped).</summary>
    public static implicit operator TriggerConfig(TriggerOptions options) => From(options);

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (trigger.size, ...).</summary>
    public TriggerConfig Validate()
    {
        ToOptions(0).Validate();
        return this;
    }
}
