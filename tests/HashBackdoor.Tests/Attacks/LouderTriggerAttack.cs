using HashBackdoor.Attacks;
using HashBackdoor.Data;

namespace HashBackdoor.Tests.Attacks;

/// <summary>The settings of <see cref="LouderTriggerAttack"/>: config section <c>louder-tri</c> (its defaults are the
/// attack's).</summary>
public sealed record LouderTriggerSettings : IExtensionSettings
{
    /// <summary>How many times each chosen image is poisoned. Default 1.</summary>
    public int Repeats { get; init; } = 1;

    /// <summary>Optional label of the run, to show that strings bind too.</summary>
    public string Note { get; init; } = "";

    public void Validate()
    {
        if (Repeats < 1) throw new UsageException($"louder-tri.repeats {Repeats}: must be at least 1");
    }
}

/// <summary>A test extension: a poisoning attack with a setting, in one file (settings record and attack). It is the
/// trigger-only attack; <see cref="Settings"/> is what the registry bound from the config section of its name.</summary>
public sealed class LouderTriggerAttack(LouderTriggerSettings settings) : IPoisoningAttack
{
    public LouderTriggerSettings Settings { get; } = settings;

    public string Name => "louder-tri";

    /// <summary>The settings of every instance that poisoned a training set (what a run bound), in order.</summary>
    public static readonly System.Collections.Concurrent.ConcurrentQueue<LouderTriggerSettings> Poisoned = new();

    public PoisonSet Poison(ImageDataset train, PoisonContext context)
    {
        Poisoned.Enqueue(Settings);
        return new TriggerOnlyAttack().Poison(train, context);
    }
}
