namespace HashBackdoor.Retrieval;

/// <summary>
/// File-level Hamming search, the library side of <c>hashbd search --database DB.npy --queries Q.npy --topk R --out TOP.npy</c>,
/// and .npy input/output of binary codes in the FAISS layout.
/// </summary>
public static class HammingSearch
{
    /// <summary>What <see cref="SearchFiles"/> did.</summary>
    /// <param name="DatabaseCount">Database codes N.</param>
    /// <param name="QueryCount">Query codes Q.</param>
    /// <param name="Bits">Code length K.</param>
    /// <param name="R">Results per query written (the requested R, reduced to N if larger).</param>
    /// <param name="QueriesCutInTie">With a ties report: queries whose R-th neighbour shares its distance with an item
    /// past R (the top R is then one of several equally ranked choices); null without one.</param>
    public sealed record Summary(int DatabaseCount, int QueryCount, int Bits, int R, int? QueriesCutInTie = null);

    /// <summary>The ties report's file beside <paramref name="outNpy"/>: TOP.npy -> TOP_ties.npy.</summary>
    public static string TiesPath(string outNpy) =>
        Path.Combine(Path.GetDirectoryName(outNpy) ?? "", Path.GetFileNameWithoutExtension(outNpy) + "_ties.npy");

    /// <summary>Reads codes stored as a 2-D uint8 .npy of shape <c>[N, K/8]</c> in the FAISS binary layout.</summary>
    /// <exception cref="DataException">Not a 2-D uint8 array with at least one column, or any .npy problem.</exception>
    public static BinaryCodes ReadCodes(string path)
    {
        byte[] bytes = NpyFile.ReadUInt8Matrix(path, out int rows, out int columns);
        if (columns < 1) throw new DataException(path, $"codes array has shape ({rows}, {columns}): at least one byte per code is needed");
        if (columns * 8L > BinaryCodes.MaxBits) throw new DataException(path, $"codes of {columns * 8L} bits exceed the supported {BinaryCodes.MaxBits}");
        return BinaryCodes.FromFaissBytes(bytes, columns * 8);
    }

    /// <summary>Writes codes as a 2-D uint8 .npy of shape <c>[N, K/8]</c> in the FAISS binary layout, atomically.</summary>
    public static void WriteCodes(string path, BinaryCodes codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        NpyFile.Write(path, codes.ToFaissBytes(), codes.Count, codes.BytesPerCode);
    }

    /// <summary>Ranks every query code against every database code by Hamming distance (ties in database order) and
    /// writes the top R database indices as int64 <c>[Q, R]</c> to <paramref name="outNpy"/>, atomically.</summary>
    /// <param name="databaseNpy">uint8 <c>[N, K/8]</c> codes, FAISS layout.</param>
    /// <param name="queriesNpy">uint8 <c>[Q, K/8]</c> codes, FAISS layout, same K.</param>
    /// <param name="topR">R &gt;= 1; reduced to N if larger.</param>
    /// <param name="outNpy">Output path.</param>
    /// <param name="degreeOfParallelism">Worker threads, 0 = all cores.</param>
    /// <exception cref="UsageException">R &lt; 1 (the message names <c>--topk</c>).</exception>
    /// <exception cref="DataException">A file is missing, malformed, not 2-D uint8, the database is empty, or the two K
    /// differ (the message names the offending file).</exception>
    /// <param name="reportTies">Also write <see cref="TiesPath"/>: int64 <c>[Q, 3]</c>, per query the Hamming distance
    /// of its R-th neighbour, how many database items share that distance, and how many of those are inside the top R
    /// (fewer than the second = the cut falls inside a tie group, and which tied items are returned is database order).</param>
    public static Summary SearchFiles(string databaseNpy, string queriesNpy, int topR, string outNpy, int degreeOfParallelism = 0, bool reportTies = false)
    {
        ArgumentNullException.ThrowIfNull(databaseNpy);
        ArgumentNullException.ThrowIfNull(queriesNpy);
        ArgumentNullException.ThrowIfNull(outNpy);
        if (topR < 1) throw new UsageException($"topR {topR}: must be at least 1");
        if (degreeOfParallelism < 0) throw new UsageException($"degreeOfParallelism {degreeOfParallelism}: must be >= 0 (0 = all cores)");
        OutputLocation.RequireWritableFile(outNpy, "outNpy");
        BinaryCodes db = ReadCodes(databaseNpy);
        if (db.Count == 0) throw new DataException(databaseNpy, "the database holds no codes");
        BinaryCodes queries = ReadCodes(queriesNpy);
        if (queries.Bits != db.Bits)
            throw new DataException(queriesNpy, $"query codes have {queries.Bits} bits but the database {databaseNpy} has {db.Bits}");
        var index = new HammingIndex(db, degreeOfParallelism);
        int r = index.EffectiveR(topR);
        long[] top = index.Search(queries, r);
        NpyFile.Write(outNpy, top, queries.Count, r);
        if (!reportTies) return new Summary(db.Count, queries.Count, db.Bits, r);
        var ties = TieAwareMetrics.TiesAtCut(index, queries, r);
        var table = new long[ties.Length * 3];
        for (int i = 0; i < ties.Length; i++)
            (table[3 * i], table[3 * i + 1], table[3 * i + 2]) = (ties[i].CutDistance, ties[i].TiedAtCut, ties[i].TiedInsideTopR);
        NpyFile.Write(TiesPath(outNpy), table, ties.Length, 3);
        return new Summary(db.Count, queries.Count, db.Bits, r, ties.Count(t => t.TiedAtCut > t.TiedInsideTopR));
    }
}
