using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Retrieval;

public class BinaryCodesTests
{
    [Fact]
    public void FaissLayoutOfBitsZeroAndNineIsBytesOneTwo()
    {
        // 16-bit code with bits 0 and 9 set: bit 0 is bit 0 of byte 0 (0x01); bit 9 is bit 1 of byte 1 (0x02).
        var values = new float[16];
        values[0] = 0.5f;
        values[9] = 3f;
        BinaryCodes codes = BinaryCodes.FromSigns(values, 16);
        Assert.Equal(new byte[] { 0x01, 0x02 }, codes.ToFaissBytes());
        Assert.Equal(0x201UL, codes.Get(0)[0]);
        Assert.True(codes.GetBit(0, 0));
        Assert.True(codes.GetBit(0, 9));
        Assert.False(codes.GetBit(0, 1));

        BinaryCodes back = BinaryCodes.FromFaissBytes(new byte[] { 0x01, 0x02 }, 16);
        Assert.Equal(codes.Words.ToArray(), back.Words.ToArray());
    }

    [Fact]
    public void FaissLayoutCrossesWordBoundaryFor72Bits()
    {
        // 72 bits = 9 bytes = 2 words; byte 8 (bits 64..71) goes to the low byte of word 1.
        var bytes = new byte[] { 0x80, 0, 0, 0, 0, 0, 0, 0x01, 0xA5 };
        BinaryCodes c = BinaryCodes.FromFaissBytes(bytes, 72);
        Assert.Equal(2, c.WordsPerCode);
        Assert.Equal((1UL << 7) | (1UL << 56), c.Get(0)[0]);
        Assert.Equal(0xA5UL, c.Get(0)[1]);
        Assert.True(c.GetBit(0, 64));   // 0xA5 bit 0
        Assert.False(c.GetBit(0, 65));
        Assert.True(c.GetBit(0, 71));   // 0xA5 bit 7
        Assert.Equal(bytes, c.ToFaissBytes());
    }

    [Theory]
    [InlineData(8)]
    [InlineData(48)]
    [InlineData(64)]
    [InlineData(72)]
    [InlineData(128)]
    [InlineData(1024)]
    public void FaissRoundTripOnRandomBytes(int bits)
    {
        var rng = new Random(bits);
        var bytes = new byte[37 * bits / 8];
        rng.NextBytes(bytes);
        BinaryCodes c = BinaryCodes.FromFaissBytes(bytes, bits);
        Assert.Equal(37, c.Count);
        Assert.Equal(bytes, c.ToFaissBytes());
        // every bit agrees with the FAISS definition: bit i = bit i%8 of byte i/8
        for (int i = 0; i < c.Count; i++)
            for (int b = 0; b < bits; b++)
                Assert.Equal(((bytes[i * bits / 8 + b / 8] >> (b % 8)) & 1) == 1, c.GetBit(i, b));
    }

    [Fact]
    public void SignOfZeroIsNegativeSideAndZerosAreCounted()
    {
        float[] v = { 1f, 0f, -0f, -2f, float.PositiveInfinity, float.NegativeInfinity, 1e-30f, -1e-30f };
        BinaryCodes c = BinaryCodes.FromSigns(v, 8, out long zeros);
        Assert.Equal(2, zeros);
        Assert.Equal(new byte[] { 0b0101_0001 }, c.ToFaissBytes());
    }

    [Fact]
    public void NaNIsANumericalError()
    {
        var v = new float[8];
        v[3] = float.NaN;
        Assert.Throws<NumericalException>(() => BinaryCodes.FromSigns(v, 8));
    }

    [Fact]
    public void FromSigns2DMatrix()
    {
        var m = new float[2, 8];
        m[1, 7] = 1;
        BinaryCodes c = BinaryCodes.FromSigns(m, out long zeros);
        Assert.Equal(15, zeros);
        Assert.Equal(new byte[] { 0, 0x80 }, c.ToFaissBytes());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(12)]
    [InlineData(-8)]
    [InlineData(BinaryCodes.MaxBits + 8)]
    public void BadBitCountsAreRejected(int bits) =>
        Assert.Throws<UsageException>(() => BinaryCodes.FromFaissBytes(new byte[16], bits));

    [Fact]
    public void PaddingBitsMustBeZero()
    {
        Assert.Throws<UsageException>(() => BinaryCodes.FromWords(new ulong[] { 1UL << 48 }, 1, 48));
        Assert.Equal(1, BinaryCodes.FromWords(new ulong[] { (1UL << 48) - 1 }, 1, 48).Count);
        Assert.Throws<UsageException>(() => BinaryCodes.FromWords(new ulong[3], 2, 72));
    }

    [Fact]
    public void RandomCodesHaveZeroPaddingAndHammingDistanceMatchesBits()
    {
        BinaryCodes c = BinaryCodes.Random(20, 72, new Random(5));
        for (int i = 0; i < 20; i++) Assert.Equal(0UL, c.Get(i)[1] >> 8);
        for (int i = 0; i < 20; i++)
        {
            int d = 0;
            for (int b = 0; b < 72; b++) if (c.GetBit(0, b) != c.GetBit(i, b)) d++;
            Assert.Equal(d, c.HammingDistance(0, c, i));
        }
        BinaryCodes s = c.Slice(5, 3);
        Assert.Equal(c.Get(6).ToArray(), s.Get(1).ToArray());
    }
}
