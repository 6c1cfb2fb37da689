namespace HashBackdoor;

/// <summary>
/// The one seed-mixing function of the toolkit: the SplitMix64 output function (Steele, Lea and Flood 2014),
/// <c>z = (z ^ (z &gt;&gt; 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z &gt;&gt; 27)) * 0x94D049BB133111EB; z ^ (z &gt;&gt; 31)</c>.
/// <see cref="Data.SplitMix64"/> applies it to its state, the trainer to (seed, epoch, stream), a poisoning to
/// (seed, stream); each combines its inputs linearly first (with its own odd constants) and then mixes them here.
/// </summary>
public static class SeedMix
{
    /// <summary>Golden-ratio increment of SplitMix64, also the multiplier of the first input of a combination.</summary>
    public const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>The SplitMix64 output function of <paramref name="z"/> (a bijection on 64-bit values).</summary>
    public static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>A non-negative 63-bit seed from a combined value: <c>Mix(x) &gt;&gt; 1</c>.</summary>
    public static long ToSeed(ulong combined) => (long)(Mix(combined) >> 1);
}
