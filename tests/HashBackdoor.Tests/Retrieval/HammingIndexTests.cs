using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Retrieval;

public class HammingIndexTests
{
    static BinaryCodes Bytes8(params byte[] codes) => BinaryCodes.FromFaissBytes(codes, 8);

    [Fact]
    public void HandWorkedRankingWithTiesInDatabaseOrder()
    {
        // query 0x00; distances: item0 3, item1 1, item2 2, item3 0, item4 1, item5 1
        BinaryCodes db = Bytes8(0x07, 0x01, 0x03, 0x00, 0x80, 0x10);
        var index = new HammingIndex(db);
        long[] top = index.Search(Bytes8(0x00), 6, out int[] d);
        Assert.Equal(new long[] { 3, 1, 4, 5, 2, 0 }, top);
        Assert.Equal(new[] { 0, 1, 1, 1, 2, 3 }, d);
        // cutting inside a tie keeps the earliest database items
        Assert.Equal(new long[] { 3, 1, 4 }, index.Search(Bytes8(0x00), 3));
        Assert.Equal(new long[] { 3 }, index.Search(Bytes8(0x00), 1));
    }

    [Fact]
    public void AllEqualDistancesGiveDatabaseOrder()
    {
        var db = BinaryCodes.FromFaissBytes(Enumerable.Repeat((byte)0x0F, 3000).ToArray(), 8);
        long[] top = new HammingIndex(db).Search(Bytes8(0x00, 0xFF), 1500);
        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long)i), top.Take(1500));
        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long)i), top.Skip(1500));
    }

    [Fact]
    public void RIsReducedToTheDatabaseSize()
    {
        BinaryCodes db = Bytes8(0xFF, 0x00);
        var index = new HammingIndex(db);
        Assert.Equal(2, index.EffectiveR(1000));
        Assert.Equal(new long[] { 1, 0, 0, 1 }, index.Search(Bytes8(0x00, 0xFE), 1000));
        Assert.Throws<UsageException>(() => index.Search(Bytes8(0x00), 0));
        Assert.Empty(index.Search(BinaryCodes.FromFaissBytes(Array.Empty<byte>(), 8), 5));
    }

    [Fact]
    public void MismatchedCodeLengthsAreRejected()
    {
        var index = new HammingIndex(BinaryCodes.Random(4, 64, new Random(1)));
        Assert.Throws<UsageException>(() => index.Search(BinaryCodes.Random(2, 48, new Random(2)), 2));
        Assert.Throws<UsageException>(() => new HammingIndex(index.Database, -1));
    }

    public static TheoryData<int, int, int> RandomCases => new()
    {
        // bits, database size, queries; K = 8 with thousands of items makes ties abundant
        { 8, 3000, 40 },
        { 16, 2000, 20 },
        { 48, 1500, 37 },
        { 64, 1500, 37 },
        { 72, 1000, 20 },
        { 128, 1000, 20 },
        { 200, 500, 10 },
    };

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomCodes(int bits, int n, int q)
    {
        var rng = new Random(bits * 7919 + n);
        BinaryCodes db = BinaryCodes.Random(n, bits, rng);
        BinaryCodes queries = BinaryCodes.Random(q, bits, rng);
        int[][] refOrder = Enumerable.Range(0, q).Select(i => ReferenceRetrieval.RankAll(db, queries, i)).ToArray();
        int[][] refDist = Enumerable.Range(0, q).Select(i => ReferenceRetrieval.Distances(db, queries, i)).ToArray();
        foreach ((int dop, bool simd) in new[] { (1, true), (2, true), (2, false) })
        {
            var index = new HammingIndex(db, dop) { UseAvx2 = simd };
            foreach (int r in new[] { 1, 7, 100, 1000, n - 1, n, n + 5 })
            {
                long[] top = index.Search(queries, r, out int[] dist);
                int rEff = Math.Min(r, n);
                Assert.Equal(q * rEff, top.Length);
                for (int i = 0; i < q; i++)
                    for (int k = 0; k < rEff; k++)
                    {
                        Assert.Equal(refOrder[i][k], top[i * rEff + k]);
                        Assert.Equal(refDist[i][refOrder[i][k]], dist[i * rEff + k]);
                    }
            }
            for (int i = 0; i < Math.Min(q, 3); i++)
                Assert.Equal(refDist[i], index.Distances(queries, i));
        }
    }

    [Fact]
    public void DatabaseApproachingTheQueryKeepsManyCandidatesAndStaysCorrect()
    {
        // Items get steadily closer to the query (and come in tied runs), so the cutoff keeps falling and the
        // candidate buffer has to be compacted and grown: the worst case for the selection.
        const int bits = 64, n = 6000;
        var words = new ulong[n];
        for (int j = 0; j < n; j++)
        {
            int ones = 64 - j / 100;                         // 64 down to 5, runs of 100 ties
            words[j] = ones == 64 ? ulong.MaxValue : (1UL << ones) - 1;
        }
        BinaryCodes db = BinaryCodes.FromWords(words, n, bits);
        BinaryCodes queries = BinaryCodes.FromWords(new ulong[] { 0, ulong.MaxValue }, 2, bits);
        foreach (int r in new[] { 150, 700, 2500 }) // 150 and 700 use the selection (R < N / 8), 2500 the dense ranking
        {
            long[] expected = ReferenceRetrieval.Search(db, queries, r);
            Assert.Equal(expected, new HammingIndex(db, 1).Search(queries, r));
            Assert.Equal(expected, new HammingIndex(db, 2) { UseAvx2 = false }.Search(queries, r));
        }
    }

    [Theory]
    [InlineData(8, 6000)]
    [InlineData(48, 6000)]
    [InlineData(64, 6000)]
    [InlineData(72, 5000)]
    [InlineData(136, 5000)]
    public void SampledCutoffCapPathMatchesReference(int bits, int n)
    {
        // R >= 256 and N >= 16 R: each query first guesses a cap of its cutoff from a sample of the database
        var rng = new Random(bits);
        BinaryCodes db = BinaryCodes.Random(n, bits, rng);
        BinaryCodes queries = BinaryCodes.Random(6, bits, rng);
        long[] expected = ReferenceRetrieval.Search(db, queries, 300);
        Assert.Equal(expected, new HammingIndex(db, 2).Search(queries, 300));
        Assert.Equal(expected, new HammingIndex(db, 2) { UseAvx2 = false }.Search(queries, 300));
    }

    [Fact]
    public void TooLowSampledCapFallsBackToAFullScan()
    {
        // R = 300, N = 4818 (> 16 R): the sample takes every 18th item. Those 268 items equal the query (distance 0), so
        // the sample suggests cap 0, but only 268 < R items lie within it: the query must be scanned again without a cap.
        const int n = 4818;
        var rng = new Random(11);
        var words = new ulong[n];
        for (int j = 0; j < n; j++) words[j] = j % 18 == 0 ? 0 : (ulong)rng.NextInt64() | 1UL;
        BinaryCodes db = BinaryCodes.FromWords(words, n, 64);
        BinaryCodes queries = BinaryCodes.FromWords(new ulong[] { 0, 0 }, 2, 64);
        var index = new HammingIndex(db, 1);
        Assert.Equal(ReferenceRetrieval.Search(db, queries, 300), index.Search(queries, 300));
        Assert.Equal(2, index.Rescans);
    }
}
