using System.Numerics;

namespace HashBackdoor.Retrieval;

/// <summary>
/// <see cref="Count"/> binary hash codes of <see cref="Bits"/> bits each, packed into 64-bit words.
/// </summary>
/// <remarks>
/// <para>Layout: one contiguous <c>ulong[]</c> of <c>Count * WordsPerCode</c> words, code <c>i</c> occupying words
/// <c>[i * WordsPerCode, (i + 1) * WordsPerCode)</c>. Bit <c>b</c> of a code is bit <c>b % 64</c> (least significant
/// first) of its word <c>b / 64</c>. Padding bits above <see cref="Bits"/> in the last word are always zero, so the
/// Hamming distance of two codes is the sum of the popcounts of the XOR of their words.</para>
/// <para>A set bit means the positive side of the sign: a real-valued network output <c>h</c> gives bit 1 when
/// <c>h &gt; 0</c>. <c>sign(0)</c> maps to bit 0, the negative side (see <see cref="FromSigns(ReadOnlySpan{float}, int, out long)"/>,
/// which reports how many exact zeros were met so that a caller can warn about them).</para>
/// <para><see cref="Bits"/> is any positive multiple of 8 up to <see cref="MaxBits"/>, so that every code also has the
/// FAISS binary layout (<see cref="FromFaissBytes"/>, <see cref="ToFaissBytes"/>). Instances are immutable.</para>
/// </remarks>
public sealed class BinaryCodes
{
    /// <summary>Largest supported code length in bits (65,536). Typical lengths are 16, 32, 48 and 64.</summary>
    public const int MaxBits = 1 << 16;

    readonly ulong[] _words;

    BinaryCodes(ulong[] words, int count, int bits)
    {
        _words = words;
        Count = count;
        Bits = bits;
        WordsPerCode = WordsFor(bits);
    }

    /// <summary>Number of codes, N.</summary>
    public int Count { get; }

    /// <summary>Code length in bits, K (a positive multiple of 8).</summary>
    public int Bits { get; }

    /// <summary>Number of 64-bit words per code: <c>ceil(K / 64)</c>.</summary>
    public int WordsPerCode { get; }

    /// <summary>Number of bytes per code in the FAISS layout: <c>K / 8</c>.</summary>
    public int BytesPerCode => Bits / 8;

    /// <summary>All words, code after code (<c>Count * WordsPerCode</c> of them).</summary>
    public ReadOnlySpan<ulong> Words => _words;

    /// <summary>The backing array, for the hot loops of this namespace. Never written after construction.</summary>
    internal ulong[] WordArray => _words;

    /// <summary>The <see cref="WordsPerCode"/> words of code <paramref name="index"/>.</summary>
    public ReadOnlySpan<ulong> Get(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"code index must be in [0, {Count})");
        return new ReadOnlySpan<ulong>(_words, index * WordsPerCode, WordsPerCode);
    }

    /// <summary>Bit <paramref name="bit"/> (0-based, 0 = least significant bit of the first word and of the first FAISS
    /// byte) of code <paramref name="index"/>; true means the positive side.</summary>
    public bool GetBit(int index, int bit)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"code index must be in [0, {Count})");
        if ((uint)bit >= (uint)Bits) throw new ArgumentOutOfRangeException(nameof(bit), bit, $"bit must be in [0, {Bits})");
        return ((_words[index * WordsPerCode + (bit >> 6)] >> (bit & 63)) & 1UL) != 0;
    }

    /// <summary>Hamming distance between code <paramref name="index"/> of this set and code <paramref name="otherIndex"/>
    /// of <paramref name="other"/> (which must have the same <see cref="Bits"/>).</summary>
    public int HammingDistance(int index, BinaryCodes other, int otherIndex)
    {
        ArgumentNullException.ThrowIfNull(other);
        RequireSameBits(other);
        ReadOnlySpan<ulong> a = Get(index), b = other.Get(otherIndex);
        int d = 0;
        for (int w = 0; w < a.Length; w++) d += BitOperations.PopCount(a[w] ^ b[w]);
        return d;
    }

    /// <summary>Codes <c>[start, start + count)</c> as a new set (the words are copied).</summary>
    public BinaryCodes Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start}+{count}) is outside [0, {Count})");
        var words = new ulong[(long)count * WordsPerCode];
        Array.Copy(_words, (long)start * WordsPerCode, words, 0, words.LongLength);
        return new BinaryCodes(words, count, Bits);
    }

    /// <summary>The codes of <paramref name="rows"/>, in that order (a copy).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A row outside [0, Count).</exception>
    public BinaryCodes Select(IReadOnlyList<long> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var words = new ulong[(long)rows.Count * WordsPerCode];
        for (int i = 0; i < rows.Count; i++)
        {
            long r = rows[i];
            if ((ulong)r >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(rows), r, $"row must be in [0, {Count})");
            Array.Copy(_words, r * WordsPerCode, words, (long)i * WordsPerCode, WordsPerCode);
        }
        return FromWords(words, rows.Count, Bits);
    }

    /// <summary>Number of 64-bit words needed for <paramref name="bits"/> bits.</summary>
    public static int WordsFor(int bits) => (bits + 63) >> 6;

    /// <summary>Throws <see cref="UsageException"/> unless <paramref name="bits"/> is a positive multiple of 8 no larger
    /// than <see cref="MaxBits"/>.</summary>
    public static void ValidateBits(int bits)
    {
        if (bits <= 0 || bits % 8 != 0 || bits > MaxBits)
            throw new UsageException($"code length {bits} bits: must be a positive multiple of 8, at most {MaxBits}");
    }

    /// <summary>Wraps packed words (the array is taken, not copied; do not modify it afterwards).</summary>
    /// <exception cref="UsageException">Bad length, bad <paramref name="bits"/>, or a padding bit set.</exception>
    public static BinaryCodes FromWords(ulong[] words, int count, int bits)
    {
        ArgumentNullException.ThrowIfNull(words);
        ValidateBits(bits);
        if (count < 0) throw new UsageException($"code count {count}: must not be negative");
        int wpc = WordsFor(bits);
        if (words.LongLength != (long)count * wpc)
            throw new UsageException($"{words.LongLength} words given for {count} codes of {bits} bits ({wpc} words each)");
        int rem = bits & 63;
        if (rem != 0)
        {
            ulong pad = ~((1UL << rem) - 1);
            for (int i = 0; i < count; i++)
                if ((words[(long)i * wpc + wpc - 1] & pad) != 0)
                    throw new UsageException($"code {i}: padding bits above bit {bits} are set");
        }
        return new BinaryCodes(words, count, bits);
    }

    /// <summary>Codes from a row-major real-valued matrix of <c>count x bits</c> values (e.g. network outputs or their
    /// signs): bit = 1 where the value is &gt; 0, else 0. An exact zero maps to bit 0 (the negative side).</summary>
    /// <exception cref="NumericalException">A value is NaN.</exception>
    public static BinaryCodes FromSigns(ReadOnlySpan<float> values, int bits) => FromSigns(values, bits, out _);

    /// <summary>Codes from a row-major real-valued matrix of <c>count x bits</c> values: bit = 1 where the value is
    /// &gt; 0, else 0. <c>sign(0)</c> maps to bit 0 (the negative side, as with <c>torch.sign(h) &gt; 0</c>); the number of
    /// exact zeros met is returned in <paramref name="exactZeros"/> so that the caller can report it, since a zero
    /// means the sign was undecided. +/-Infinity are ordinary positive/negative values.</summary>
    /// <param name="values">Row-major values, length must be a multiple of <paramref name="bits"/>.</param>
    /// <param name="bits">Code length K.</param>
    /// <param name="exactZeros">How many values were exactly 0 (either sign of zero).</param>
    /// <exception cref="NumericalException">A value is NaN (its sign is meaningless).</exception>
    public static BinaryCodes FromSigns(ReadOnlySpan<float> values, int bits, out long exactZeros)
    {
        ValidateBits(bits);
        if (values.Length % bits != 0)
            throw new UsageException($"{values.Length} values is not a whole number of {bits}-bit codes");
        int count = values.Length / bits;
        int wpc = WordsFor(bits);
        var words = new ulong[(long)count * wpc];
        long zeros = 0;
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<float> row = values.Slice(i * bits, bits);
            for (int b = 0; b < bits; b++)
            {
                float v = row[b];
                if (v > 0f) words[(long)i * wpc + (b >> 6)] |= 1UL << (b & 63);
                else if (v == 0f) zeros++;
                else if (float.IsNaN(v)) throw new NumericalException($"code {i}, bit {b}: value is NaN, its sign is undefined");
            }
        }
        exactZeros = zeros;
        return new BinaryCodes(words, count, bits);
    }

    /// <summary>Codes from a <c>[count, bits]</c> matrix: bit = 1 where the value is &gt; 0 (0 maps to bit 0).</summary>
    /// <exception cref="NumericalException">A value is NaN.</exception>
    public static BinaryCodes FromSigns(float[,] values, out long exactZeros)
    {
        ArgumentNullException.ThrowIfNull(values);
        int rows = values.GetLength(0), cols = values.GetLength(1);
        ValidateBits(cols);
        var flat = new float[(long)rows * cols];
        Buffer.BlockCopy(values, 0, flat, 0, flat.Length * sizeof(float));
        return FromSigns(flat, cols, out exactZeros);
    }

    /// <summary>Codes from the FAISS binary layout: <c>uint8 [count, bits / 8]</c> row-major; bit <c>i</c> of a code is bit
    /// <c>i % 8</c> (least significant first) of byte <c>i / 8</c>; 1 = positive side.</summary>
    public static BinaryCodes FromFaissBytes(ReadOnlySpan<byte> bytes, int bits)
    {
        ValidateBits(bits);
        int bpc = bits / 8;
        if (bytes.Length % bpc != 0)
            throw new UsageException($"{bytes.Length} bytes is not a whole number of {bits}-bit codes ({bpc} bytes each)");
        int count = bytes.Length / bpc;
        int wpc = WordsFor(bits);
        var words = new ulong[(long)count * wpc];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> row = bytes.Slice(i * bpc, bpc);
            long w0 = (long)i * wpc;
            // Byte j holds bits 8j..8j+7, i.e. bits 8(j%8).. of word j/8: little-endian byte order within a word.
            for (int j = 0; j < bpc; j++)
                words[w0 + (j >> 3)] |= (ulong)row[j] << ((j & 7) * 8);
        }
        return new BinaryCodes(words, count, bits);
    }

    /// <summary>The codes in the FAISS binary layout (see <see cref="FromFaissBytes"/>): <c>Count * Bits / 8</c> bytes.</summary>
    public byte[] ToFaissBytes()
    {
        int bpc = BytesPerCode;
        var bytes = new byte[(long)Count * bpc];
        for (int i = 0; i < Count; i++)
        {
            long w0 = (long)i * WordsPerCode, b0 = (long)i * bpc;
            for (int j = 0; j < bpc; j++)
                bytes[b0 + j] = (byte)(_words[w0 + (j >> 3)] >> ((j & 7) * 8));
        }
        return bytes;
    }

    /// <summary>Uniformly random codes (each bit an independent fair coin) from <paramref name="rng"/>: for tests,
    /// benchmarks and random baselines.</summary>
    public static BinaryCodes Random(int count, int bits, System.Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ValidateBits(bits);
        if (count < 0) throw new UsageException($"code count {count}: must not be negative");
        int wpc = WordsFor(bits);
        var words = new ulong[(long)count * wpc];
        int rem = bits & 63;
        ulong lastMask = rem == 0 ? ulong.MaxValue : (1UL << rem) - 1;
        Span<byte> buf = stackalloc byte[8];
        for (long k = 0; k < words.LongLength; k++)
        {
            rng.NextBytes(buf);
            ulong w = BitConverter.ToUInt64(buf);
            if (k % wpc == wpc - 1) w &= lastMask;
            words[k] = w;
        }
        return new BinaryCodes(words, count, bits);
    }

    internal void RequireSameBits(BinaryCodes other)
    {
        if (other.Bits != Bits)
            throw new UsageException($"codes have {other.Bits} bits but {Bits} bits were expected (same K needed)");
    }
}
