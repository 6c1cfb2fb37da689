using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Retrieval;

public class HammingSearchTests
{
    [Fact]
    public void SearchFilesWritesInt64TopRInRankingOrder()
    {
        using var dir = new TempDir();
        // 16-bit codes, FAISS layout. Query 0 = all zeros; query 1 = all ones.
        NpyFile.Write(dir.File("db.npy"), new byte[] { 0x07, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x80, 0xFF, 0xFF }, 5, 2);
        NpyFile.Write(dir.File("q.npy"), new byte[] { 0x00, 0x00, 0xFF, 0xFF }, 2, 2);
        HammingSearch.Summary s = HammingSearch.SearchFiles(dir.File("db.npy"), dir.File("q.npy"), 3, dir.File("out/top.npy"));
        Assert.Equal(new HammingSearch.Summary(5, 2, 16, 3), s);

        NpyArray top = NpyFile.Read(dir.File("out/top.npy"));
        Assert.Equal(NpyDType.Int64, top.DType);
        Assert.Equal(new[] { 2, 3 }, top.Shape);
        // distances to query 0: 3, 1, 0, 1, 16 -> 2, 1, 3; to query 1: 13, 15, 16, 15, 0 -> 4, 0, 1
        Assert.Equal(new long[] { 2, 1, 3, 4, 0, 1 }, top.AsInt64());

        // R larger than the database: the whole database, ranked
        HammingSearch.SearchFiles(dir.File("db.npy"), dir.File("q.npy"), 100, dir.File("all.npy"), degreeOfParallelism: 1);
        Assert.Equal(new[] { 2, 5 }, NpyFile.Read(dir.File("all.npy")).Shape);
    }

    [Fact]
    public void TiesReportCountsTheGroupAroundTheCut()
    {
        using var dir = new TempDir();
        // The database of the test above: distances to query 0 are 3, 1, 0, 1, 16; to query 1: 13, 15, 16, 15, 0.
        NpyFile.Write(dir.File("db.npy"), new byte[] { 0x07, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x80, 0xFF, 0xFF }, 5, 2);
        NpyFile.Write(dir.File("q.npy"), new byte[] { 0x00, 0x00, 0xFF, 0xFF }, 2, 2);
        // R = 2: query 0's cut is at distance 1, where items 1 and 3 tie and only item 1 is taken; query 1's cut is at
        // distance 13 (item 0 alone).
        var s = HammingSearch.SearchFiles(dir.File("db.npy"), dir.File("q.npy"), 2, dir.File("top.npy"), reportTies: true);
        Assert.Equal(1, s.QueriesCutInTie);
        NpyArray ties = NpyFile.Read(dir.File("top_ties.npy"));
        Assert.Equal(new[] { 2, 3 }, ties.Shape);
        Assert.Equal(new long[] { 1, 2, 1, 13, 1, 1 }, ties.AsInt64());
        // Without the report no file is written.
        HammingSearch.SearchFiles(dir.File("db.npy"), dir.File("q.npy"), 2, dir.File("plain.npy"));
        Assert.False(File.Exists(dir.File("plain_ties.npy")));
    }

    [Fact]
    public void CodesRoundTripThroughNpy()
    {
        using var dir = new TempDir();
        BinaryCodes c = BinaryCodes.Random(33, 48, new Random(3));
        HammingSearch.WriteCodes(dir.File("c.npy"), c);
        Assert.Equal(new[] { 33, 6 }, NpyFile.Read(dir.File("c.npy")).Shape);
        Assert.Equal(c.Words.ToArray(), HammingSearch.ReadCodes(dir.File("c.npy")).Words.ToArray());
    }

    [Fact]
    public void BadInputsAreReportedAgainstTheRightFile()
    {
        using var dir = new TempDir();
        string db = dir.File("db.npy"), q = dir.File("q.npy"), outp = dir.File("top.npy");
        NpyFile.Write(db, new byte[16], 2, 8);
        NpyFile.Write(q, new byte[12], 2, 6);
        var e = Assert.Throws<DataException>(() => HammingSearch.SearchFiles(db, q, 1, outp));
        Assert.Equal(q, e.Path);
        Assert.Contains("48 bits", e.Problem);

        Assert.Throws<UsageException>(() => HammingSearch.SearchFiles(db, db, 0, outp));

        NpyFile.Write(q, new float[16], 2, 8);
        Assert.Equal(q, Assert.Throws<DataException>(() => HammingSearch.SearchFiles(db, q, 1, outp)).Path);
        NpyFile.Write(q, new byte[16], 16);
        Assert.Equal(q, Assert.Throws<DataException>(() => HammingSearch.SearchFiles(db, q, 1, outp)).Path);
        NpyFile.Write(db, Array.Empty<byte>(), 0, 8);
        Assert.Equal(db, Assert.Throws<DataException>(() => HammingSearch.SearchFiles(db, db, 1, outp)).Path);
        Assert.Equal(dir.File("missing.npy"), Assert.Throws<DataException>(() => HammingSearch.SearchFiles(dir.File("missing.npy"), q, 1, outp)).Path);
        Assert.False(File.Exists(outp));
    }
}
