namespace HashBackdoor.Experiments;

/// <summary>What a seed derived from a repetition's seed is for (see <see cref="RunSeeds"/>).</summary>
public enum SeedPurpose
{
    /// <summary>The clean model of the repetition, and every victim (they share the clean model's initial weights and
    /// batch order): the repetition seed itself.</summary>
    Training,
    /// <summary>The attacker's independent surrogate (surrogate: independent): seed + 1,000,003.</summary>
    Surrogate,
    /// <summary>The trigger optimisation's image sampling of one target: seed * 1000 + target.</summary>
    Trigger,
    /// <summary>The poisoning of one target (which images are poisoned, and tri+noise's noise, each from its own stream
    /// of this seed): seed * 1000 + target, the same number as <see cref="Trigger"/> (as before the refactor; the two
    /// use it in different generators).</summary>
    Poison,
}
