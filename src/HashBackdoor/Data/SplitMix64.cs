namespace HashBackdoor.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014), the documented generator of <see cref="RetrievalProtocol"/>: small,
/// fixed and easy to reproduce in any language, unlike System.Random whose algorithm is not specified.
/// state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z &gt;&gt; 30)) * 0xBF58476D1CE4E5B9;
/// z = (z ^ (z &gt;&gt; 27)) * 0x94D049BB133111EB; return z ^ (z &gt;&gt; 31).
/// </summary>
public sealed class SplitMix64
{
    ulong _state;

    /// <summary>Starts from state = seed (as an unsigned 64-bit value).</summary>
    public SplitMix64(long seed) => _state = unchecked((ulong)seed);

    /// <summary>The next 64-bit output.</summary>
    public ulong Next()
    {
        unchecked
        {
            return SeedMix.Mix(_state += SeedMix.Golden);
        }
    }

    /// <summary>Uniform integer in [0, n) without modulo bias: draws x until x &lt; 2^64 - (2^64 mod n), then
    /// returns x mod n.</summary>
    public long NextBelow(long n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        ulong un = (ulong)n;
        ulong rem = (ulong.MaxValue % un + 1) % un; // 2^64 mod n
        ulong limit = unchecked(0UL - rem);         // 2^64 - rem (0 stands for 2^64 when rem == 0)
        while (true)
        {
            ulong x = Next();
            if (rem == 0 || x < limit) return (long)(x % un);
        }
    }

    /// <summary>Fisher–Yates shuffle in place: for i = n-1 down to 1, swap items i and NextBelow(i + 1).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = (int)NextBelow(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
