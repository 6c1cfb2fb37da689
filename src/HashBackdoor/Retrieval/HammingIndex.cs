using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HashBackdoor.Retrieval;

/// <summary>
/// Exhaustive Hamming ranking over a database of binary codes: the fast path of retrieval evaluation.
/// </summary>
/// <remarks>
/// <para>For each query, database items are ranked by Hamming distance, ties broken by database order (a stable
/// ranking: of two items at the same distance, the one with the smaller index comes first). This is exactly the order
/// of a stable sort on distance, which <see cref="ReferenceRetrieval"/> computes the slow way.</para>
/// <para>How: distances are XOR + 64-bit hardware popcount (<see cref="BitOperations.PopCount(ulong)"/>) over the
/// contiguous code words, with dedicated loops for one-word (K &lt;= 64) and two-word (K &lt;= 128) codes. Distances
/// take only K + 1 values, so instead of sorting, a counting selection keeps a histogram of the distances seen and
/// the smallest cutoff distance <c>t</c> whose cumulative count reaches R; an item is kept as a candidate only if it
/// can still enter the top R (distance below the cutoff, or at the cutoff while the quota there is not full). The scan
/// itself is branch-free: every item costs one XOR, one popcount, one store and one compare, and the candidate buffer
/// end advances only for a qualifying item; after each cache-sized chunk the new candidates update the histogram and
/// lower the cutoff. The candidates, collected in database order, are finally placed by a counting sort in distance
/// order, which keeps database order inside a distance. Queries are processed in blocks against cache-sized chunks of the database (each chunk is read
/// once per block), and blocks run in parallel with <see cref="DegreeOfParallelism"/> workers, each with its own
/// buffers (no allocation per query once a worker's buffers have grown).</para>
/// <para>When R is at least a sixteenth of the database (e.g. mAP over the whole database), most items enter the top R
/// and the selection would gain nothing: each query then computes all N distances and places the first R by one
/// counting-sort pass instead.</para>
/// <para>If R exceeds the database size, R is reduced to the database size (<see cref="EffectiveR"/>): every query
/// then gets the whole database, ranked.</para>
/// <para>Thread-safe: an index is immutable and may be searched from several threads at once.</para>
/// </remarks>
public sealed class HammingIndex
{
    /// <summary>Queries per block (each block's queries share the database chunks loaded into cache).</summary>
    const int QueryBlock = 16;

    /// <summary>Target size of a database chunk, in bytes (within a core's L1/L2 cache).</summary>
    const int ChunkBytes = 8 * 1024;

    long _rescans;

    /// <summary>Whether the AVX2 kernel is used for one-word codes (default: when the CPU has AVX2). Tests turn it off
    /// to cover the scalar kernel.</summary>
    internal bool UseAvx2 { get; init; } = Avx2.IsSupported;

    /// <summary>Queries scanned twice so far because the sampled cap of their cutoff was too low (diagnostic).</summary>
    internal long Rescans => Interlocked.Read(ref _rescans);

    /// <summary>Indexes <paramref name="database"/> (the codes are used as they are, not copied).</summary>
    /// <param name="database">Database codes.</param>
    /// <param name="degreeOfParallelism">Worker threads for searches; 0 (default) means
    /// <see cref="Environment.ProcessorCount"/>.</param>
    /// <exception cref="UsageException"><paramref name="degreeOfParallelism"/> is negative.</exception>
    public HammingIndex(BinaryCodes database, int degreeOfParallelism = 0)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (degreeOfParallelism < 0) throw new UsageException($"degree of parallelism {degreeOfParallelism}: must be >= 0 (0 = all cores)");
        Database = database;
        DegreeOfParallelism = degreeOfParallelism == 0 ? Environment.ProcessorCount : degreeOfParallelism;
    }

    /// <summary>The database codes.</summary>
    public BinaryCodes Database { get; }

    /// <summary>Number of worker threads a search uses (queries are split among them).</summary>
    public int DegreeOfParallelism { get; }

    /// <summary>Database size N.</summary>
    public int Count => Database.Count;

    /// <summary>Code length K.</summary>
    public int Bits => Database.Bits;

    /// <summary>The number of results a search for <paramref name="topR"/> returns per query: <c>min(topR, N)</c>.</summary>
    /// <exception cref="UsageException"><paramref name="topR"/> &lt; 1.</exception>
    public int EffectiveR(int topR)
    {
        if (topR < 1) throw new UsageException($"top R = {topR}: must be at least 1");
        return Math.Min(topR, Count);
    }

    /// <summary>The top R database indices of every query, nearest first, ties in database order.</summary>
    /// <param name="queries">Query codes with the same K as the database.</param>
    /// <param name="topR">R &gt;= 1; reduced to the database size if larger (<see cref="EffectiveR"/>).</param>
    /// <returns>Row-major <c>Q x R</c> indices (R the effective R).</returns>
    public long[] Search(BinaryCodes queries, int topR) => SearchCore(queries, topR, wantDistances: false, out _);

    /// <summary>As <see cref="Search(BinaryCodes, int)"/>, also returning the Hamming distance of each result
    /// (row-major <c>Q x R</c>, non-decreasing along a row).</summary>
    public long[] Search(BinaryCodes queries, int topR, out int[] distances)
    {
        long[] idx = SearchCore(queries, topR, wantDistances: true, out int[]? d);
        distances = d!;
        return idx;
    }

    /// <summary>Hamming distances from query <paramref name="queryIndex"/> to every database code, in database order.</summary>
    public int[] Distances(BinaryCodes queries, int queryIndex)
    {
        ArgumentNullException.ThrowIfNull(queries);
        Database.RequireSameBits(queries);
        var d = new int[Count];
        FillDistances(queries.Get(queryIndex), d);
        return d;
    }

    long[] SearchCore(BinaryCodes queries, int topR, bool wantDistances, out int[]? distances)
    {
        ArgumentNullException.ThrowIfNull(queries);
        Database.RequireSameBits(queries);
        int r = EffectiveR(topR);
        long total = (long)queries.Count * r;
        if (total > Array.MaxLength) throw new UsageException($"{queries.Count} queries x top {r} = {total} results do not fit in one array");
        var idx = new long[total];
        int[]? dist = wantDistances ? new int[total] : null;
        Rank(queries, r, (first, count, blockIdx, blockDist) =>
        {
            long o = (long)first * r;
            for (int k = 0; k < count * r; k++) idx[o + k] = blockIdx[k];
            if (dist is not null) Array.Copy(blockDist, 0, dist, o, (long)count * r);
        });
        distances = dist;
        return idx;
    }

    /// <summary>Receives the ranking of queries <c>[first, first + count)</c>: <paramref name="indices"/> and
    /// <paramref name="distances"/> hold <c>count x R</c> row-major entries (the arrays may be longer; they are reused
    /// after the call returns). Called on worker threads, concurrently for different blocks.</summary>
    internal delegate void BlockSink(int first, int count, int[] indices, int[] distances);

    /// <summary>Ranks every query (top <paramref name="r"/>, already effective) and hands the results block by block to
    /// <paramref name="sink"/>, without materialising all of them.</summary>
    internal void Rank(BinaryCodes queries, int r, BlockSink sink) =>
        RankCore(queries, r, null, (first, count, idx, dist, _, _) => sink(first, count, idx, dist));

    /// <summary>One-word label masks of the queries and the database items, for <see cref="RankWithCut"/>.</summary>
    internal sealed record CutLabels(ulong[] QueryMasks, ulong[] DatabaseMasks);

    /// <summary>A block of rankings as <see cref="BlockSink"/>, plus for every query of the block the number of database
    /// items at the distance of its R-th neighbour (the tie group the cut falls in, inside the top R or not) and how many
    /// of them share a label with the query.</summary>
    internal delegate void CutSink(int first, int count, int[] indices, int[] distances, int[] cutTotal, int[] cutRelevant);

    /// <summary>
    /// <see cref="Rank"/>, counting in the same scan the whole tie group at each query's cut: with the top R (which
    /// holds every item nearer than the cut distance T), it gives the distance histogram of all items and of the
    /// relevant ones up to T, all that tie-aware metrics need (<see cref="TieAwareMetrics"/>), without a second pass
    /// over the database. The scan counts the items it rejects at exactly the current cutoff and restarts the count
    /// whenever the cutoff falls. Labels are one 64-bit mask per item (up to 64 classes).
    /// </summary>
    internal void RankWithCut(BinaryCodes queries, int r, CutLabels labels, CutSink sink) => RankCore(queries, r, labels, sink);

    void RankCore(BinaryCodes queries, int r, CutLabels? cut, CutSink sink)
    {
        int q = queries.Count;
        if (q == 0 || r == 0) return;
        // At most 16 queries per block, fewer when there are few queries per worker or R is huge (output rows of a block
        // stay under 4M entries).
        int blockSize = Math.Max(1, Math.Min(Math.Min(QueryBlock, (q + DegreeOfParallelism - 1) / DegreeOfParallelism), (1 << 22) / r));
        int blocks = (q + blockSize - 1) / blockSize;
        CutoffSample? sample = CutoffSample.For(Database, r);
        if (DegreeOfParallelism == 1 || blocks == 1)
        {
            var worker = new RankWorker(this, r, blockSize, sample, cut);
            for (int b = 0; b < blocks; b++) worker.RunBlock(queries, b * blockSize, Math.Min(blockSize, q - b * blockSize), sink);
            return;
        }
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = DegreeOfParallelism },
            () => new RankWorker(this, r, blockSize, sample, cut),
            (b, _, worker) =>
            {
                worker.RunBlock(queries, b * blockSize, Math.Min(blockSize, q - b * blockSize), sink);
                return worker;
            },
            _ => { });
    }

    /// <summary>Distances from one query to every database code, into <paramref name="dest"/> (length N).</summary>
    internal unsafe void FillDistances(ReadOnlySpan<ulong> query, Span<int> dest)
    {
        int n = Count, w = Database.WordsPerCode;
        fixed (ulong* db = Database.WordArray)
        fixed (ulong* qp = query)
        fixed (int* d = dest)
        {
            if (w == 1)
            {
                ulong q0 = qp[0];
                for (int j = 0; j < n; j++) d[j] = BitOperations.PopCount(q0 ^ db[j]);
            }
            else
            {
                for (int j = 0; j < n; j++)
                {
                    ulong* c = db + (long)j * w;
                    int s = 0;
                    for (int k = 0; k < w; k++) s += BitOperations.PopCount(qp[k] ^ c[k]);
                    d[j] = s;
                }
            }
        }
    }

    /// <summary>The running top-R selection of one query.</summary>
    /// <remarks>
    /// The scan offers it every database item in database order; <see cref="Accept"/> is called only for an item whose
    /// distance is below <see cref="Limit"/>. Invariants: for every <c>d &lt; T</c>, <c>Hist[d]</c> is the exact number
    /// of items seen so far at distance d, and all of them are in <c>Cand</c>; <c>Hist[T]</c> counts the earliest items
    /// seen at distance T (all of them while <c>Count &lt; R</c>); <c>Count</c> is the sum. Once <c>Count &gt;= R</c>, T
    /// is the smallest distance with <c>Count(&lt;= T) &gt;= R</c>, so the top R are all items below T plus the first
    /// <c>R - Count(&lt; T)</c> items at T in database order, which are already in <c>Cand</c>: from then on only items
    /// strictly below T are kept (<c>Limit = T</c>). Before that, <c>Limit = Cap + 1</c>, where the cap is K, or a
    /// guessed upper bound of the final cutoff: if the guess proves too low (fewer than R items within the cap at the
    /// end), the query is scanned again with cap K.
    /// </remarks>
    sealed class Selection
    {
        readonly int _r;
        readonly int _bits;
        public readonly int[] Hist;
        public ulong[] Cand = new ulong[4096]; // (distance << 32) | index, in database order
        public int NCand;
        public int T;
        public int Count;
        public int Limit;
        /// <summary>With cut counting: the database's label masks, the query's, and the items rejected at exactly
        /// <see cref="Limit"/> since it took its value (<see cref="RejectedAtLimit"/>, and the relevant ones among them).</summary>
        public ulong[]? DbMasks;
        public ulong QMask;
        public int RejectedAtLimit, RelevantRejectedAtLimit;

        public Selection(int bits, int r)
        {
            _bits = bits;
            _r = r;
            Hist = new int[bits + 1];
            Reset(bits);
        }

        /// <summary>True once the top R are known to lie within the cap.</summary>
        public bool Complete => Count >= _r;


        public void Reset(int cap)
        {
            Array.Clear(Hist, 0, Math.Min(T, _bits) + 1); // entries above T are always zero
            T = cap;
            Count = 0;
            NCand = 0;
            Limit = cap + 1;
            RejectedAtLimit = RelevantRejectedAtLimit = 0;
        }

        /// <summary>Counts item <paramref name="j"/>, rejected at distance == <see cref="Limit"/> (cut counting only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void RejectAtLimit(int j)
        {
            RejectedAtLimit++;
            ulong shared = QMask & DbMasks![j];
            RelevantRejectedAtLimit += (int)((shared | (0UL - shared)) >> 63);
        }

        /// <summary>After <see cref="Emit"/>'s scan (complete): all items at distance T, and the relevant ones.</summary>
        public (int Total, int Relevant) CutCounts()
        {
            int t = T, relevant = RelevantRejectedAtLimit;
            ulong[] c = Cand, masks = DbMasks!;
            for (int i = 0; i < NCand; i++)
                if ((int)(c[i] >> 32) == t && (QMask & masks[(int)(uint)c[i]]) != 0) relevant++;
            return (Hist[t] + RejectedAtLimit, relevant);
        }

        /// <summary>Keeps item <paramref name="j"/> at distance <paramref name="d"/> (&lt; Limit); returns the new Limit.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public int Accept(int j, int d)
        {
            if (NCand == Cand.Length) MakeRoom();
            Cand[NCand++] = ((ulong)(uint)d << 32) | (uint)j;
            Hist[d]++;
            if (++Count >= _r)
            {
                // Lower the cutoff while the items strictly below it already fill the top R.
                int t = T;
                while (Count - Hist[t] >= _r)
                {
                    Count -= Hist[t];
                    Hist[t] = 0;
                    t--;
                }
                T = t;
                if (Limit != t) RejectedAtLimit = RelevantRejectedAtLimit = 0; // the count was of a farther distance
                Limit = t;
            }
            return Limit;
        }

        void MakeRoom()
        {
            // Drop candidates that fell above the cutoff (keeping order), then grow if that freed too little.
            int t = T, k = 0;
            ulong[] c = Cand;
            for (int i = 0; i < NCand; i++)
                if ((int)(c[i] >> 32) <= t) c[k++] = c[i];
            NCand = k;
            if (k > c.Length / 2) Array.Resize(ref Cand, c.Length * 2);
        }

        /// <summary>Writes the top R (all items scanned, <see cref="Complete"/>) into the given rows, nearest first.</summary>
        public void Emit(Span<int> outIdx, Span<int> outDist, int[] pos)
        {
            int t = T, acc = 0;
            for (int d = 0; d <= t; d++)
            {
                pos[d] = acc;
                acc += Hist[d];
            }
            ulong[] c = Cand;
            for (int i = 0; i < NCand; i++)
            {
                ulong e = c[i];
                int d = (int)(e >> 32);
                if (d > t) continue;
                int p = pos[d];
                if (p >= _r) continue; // only possible at d == t, past the quota there
                pos[d] = p + 1;
                outIdx[p] = (int)(uint)e;
                outDist[p] = d;
            }
        }
    }

    /// <summary>
    /// A strided sample of the database, copied into contiguous memory once per search, from which each query guesses
    /// an upper bound of its cutoff before the scan (<see cref="RankWorker.GuessCap"/>). Starting from that cap, the
    /// scan keeps about 1.5 to 3 R candidates instead of about R (1 + ln(N / R)), and fewer items take the slow path
    /// early in the scan. Used only where the saving outweighs the sample: R &gt;= 256 and N &gt; 16 R; the sample has
    /// about 16 N / R codes (expected 16 of them within the true cutoff), at most N / 16.
    /// </summary>
    sealed class CutoffSample
    {
        public readonly ulong[] Words;
        public readonly int Count;

        CutoffSample(ulong[] words, int count)
        {
            Words = words;
            Count = count;
        }

        public static CutoffSample? For(BinaryCodes db, int r)
        {
            int n = db.Count, w = db.WordsPerCode;
            if (r < 256 || n <= 16L * r) return null; // (R >= N / 16 ranks densely)
            int stride = r / 16;
            int count = (n + stride - 1) / stride;
            var words = new ulong[(long)count * w];
            for (int i = 0; i < count; i++) Array.Copy(db.WordArray, (long)i * stride * w, words, (long)i * w, w);
            return new CutoffSample(words, count);
        }
    }

    /// <summary>One worker's buffers: a selection per query of a block, and the block's output rows.</summary>
    sealed class RankWorker
    {
        readonly HammingIndex _index;
        readonly int _r;
        readonly Selection[] _sel;
        readonly int[] _outIdx, _outDist, _pos;
        readonly ulong[] _queryWords;

        readonly CutoffSample? _sample;
        readonly bool _avx2;
        readonly int[]? _dist, _hist; // dense ranking only
        readonly CutLabels? _cut;
        readonly int[] _cutTotal, _cutRelevant;
        unsafe ulong* _masks; // the database's label masks, pinned for the duration of a block's scans (cut counting)

        public RankWorker(HammingIndex index, int r, int blockSize, CutoffSample? sample, CutLabels? cut)
        {
            _index = index;
            _cut = cut;
            _cutTotal = cut is null ? Array.Empty<int>() : new int[blockSize];
            _cutRelevant = cut is null ? Array.Empty<int>() : new int[blockSize];
            _sample = sample;
            _avx2 = index.UseAvx2 && Avx2.IsSupported;
            _r = r;
            _sel = new Selection[blockSize];
            for (int i = 0; i < blockSize; i++) _sel[i] = new Selection(index.Bits, r) { DbMasks = cut?.DatabaseMasks };
            _outIdx = new int[blockSize * r];
            _outDist = new int[blockSize * r];
            _pos = new int[index.Bits + 1];
            _queryWords = new ulong[blockSize * index.Database.WordsPerCode];
            if (16L * r >= index.Count)
            {
                _dist = new int[index.Count];
                _hist = new int[4 * (index.Bits + 1)];
            }
        }

        public unsafe void RunBlock(BinaryCodes queries, int first, int count, CutSink sink)
        {
            BinaryCodes db = _index.Database;
            int w = db.WordsPerCode, n = db.Count, bits = db.Bits;
            Array.Copy(queries.WordArray, (long)first * w, _queryWords, 0, (long)count * w);
            if (_dist is not null)
            {
                for (int i = 0; i < count; i++)
                {
                    RankDense(queries, first + i, _outIdx.AsSpan(i * _r, _r), _outDist.AsSpan(i * _r, _r));
                    if (_cut is not null) (_cutTotal[i], _cutRelevant[i]) = DenseCutCounts(_outDist[i * _r + _r - 1], _cut.QueryMasks[first + i]);
                }
                sink(first, count, _outIdx, _outDist, _cutTotal, _cutRelevant);
                return;
            }
            int chunk = Math.Max(64, ChunkBytes / (8 * w));
            fixed (ulong* dbp = db.WordArray)
            fixed (ulong* qw = _queryWords)
            fixed (ulong* masks = _cut is null ? null : _cut.DatabaseMasks)
            {
                _masks = masks;
                for (int i = 0; i < count; i++)
                {
                    _sel[i].Reset(GuessCap(qw + (long)i * w, w, bits));
                    if (_cut is not null) _sel[i].QMask = _cut.QueryMasks[first + i];
                }
                for (int c0 = 0; c0 < n; c0 += chunk)
                {
                    int c1 = Math.Min(n, c0 + chunk);
                    for (int i = 0; i < count; i++) Scan(dbp, w, c0, c1, qw + (long)i * w, _sel[i]);
                }
                for (int i = 0; i < count; i++)
                {
                    Selection s = _sel[i];
                    if (s.Complete) continue;
                    // The guessed cap was too low: fewer than R items within it. Scan again, uncapped.
                    Interlocked.Increment(ref _index._rescans);
                    s.Reset(bits);
                    Scan(dbp, w, 0, n, qw + (long)i * w, s);
                }
                _masks = null;
            }
            for (int i = 0; i < count; i++)
            {
                _sel[i].Emit(_outIdx.AsSpan(i * _r, _r), _outDist.AsSpan(i * _r, _r), _pos);
                if (_cut is not null) (_cutTotal[i], _cutRelevant[i]) = _sel[i].CutCounts();
            }
            sink(first, count, _outIdx, _outDist, _cutTotal, _cutRelevant);
        }

        /// <summary>Dense ranking's cut counts: every item at distance <paramref name="t"/> (from the distances the
        /// dense pass kept) and the relevant ones.</summary>
        (int Total, int Relevant) DenseCutCounts(int t, ulong queryMask)
        {
            int[] dist = _dist!;
            ulong[] masks = _cut!.DatabaseMasks;
            int total = 0, relevant = 0;
            for (int j = 0; j < dist.Length; j++)
                if (dist[j] == t)
                {
                    total++;
                    if ((queryMask & masks[j]) != 0) relevant++;
                }
            return (total, relevant);
        }

        /// <summary>
        /// Dense ranking, for R of at least N / 16 (e.g. mAP@ALL), where most items enter the top R and the selection
        /// would keep nearly all of them: all N distances and their histogram, then one counting-sort pass that places
        /// each item of the first R by its distance, in database order within a distance.
        /// </summary>
        unsafe void RankDense(BinaryCodes queries, int query, Span<int> outIdx, Span<int> outDist)
        {
            int[] dist = _dist!, hist = _hist!, pos = _pos;
            int n = _index.Count, bits = _index.Bits, w = _index.Database.WordsPerCode, h = bits + 1;
            Array.Clear(hist);
            // Distances and their histogram in one pass; four interleaved histograms so that runs of equal distances
            // do not serialise on one counter.
            fixed (ulong* db = _index.Database.WordArray)
            fixed (ulong* q = &queries.WordArray[(long)query * w])
            fixed (int* dp = dist)
            fixed (int* hp = hist)
            {
                int j = 0;
                if (w == 1)
                {
                    ulong q0 = q[0];
                    for (; j + 4 <= n; j += 4)
                    {
                        int d0 = BitOperations.PopCount(q0 ^ db[j]);
                        int d1 = BitOperations.PopCount(q0 ^ db[j + 1]);
                        int d2 = BitOperations.PopCount(q0 ^ db[j + 2]);
                        int d3 = BitOperations.PopCount(q0 ^ db[j + 3]);
                        dp[j] = d0;
                        dp[j + 1] = d1;
                        dp[j + 2] = d2;
                        dp[j + 3] = d3;
                        hp[d0]++;
                        hp[h + d1]++;
                        hp[2 * h + d2]++;
                        hp[3 * h + d3]++;
                    }
                }
                for (; j < n; j++)
                {
                    ulong* c = db + (long)j * w;
                    int d = 0;
                    for (int k = 0; k < w; k++) d += BitOperations.PopCount(q[k] ^ c[k]);
                    dp[j] = d;
                    hp[d]++;
                }
            }
            int acc = 0;
            for (int d = 0; d <= bits; d++)
            {
                pos[d] = acc;
                acc += hist[d] + hist[h + d] + hist[2 * h + d] + hist[3 * h + d];
            }
            for (int j = 0; j < n; j++)
            {
                int d = dist[j];
                int p = pos[d];
                if (p >= _r) continue;
                pos[d] = p + 1;
                outIdx[p] = j;
                outDist[p] = d;
            }
        }

        /// <summary>
        /// An upper bound guess of the final cutoff from the database sample of <see cref="CutoffSample"/>: the
        /// smallest distance d such that the sample holds clearly more than its share of R items within d (expected
        /// share m plus three standard deviations plus 3), so that the guess is rarely too low. Returns K for no guess.
        /// </summary>
        unsafe int GuessCap(ulong* q, int w, int bits)
        {
            CutoffSample? sample = _sample;
            if (sample is null) return bits;
            int[] hist = _pos;
            Array.Clear(hist);
            int n = sample.Count;
            fixed (ulong* sp = sample.Words)
            {
                if (w == 1)
                {
                    ulong q0 = q[0];
                    for (int j = 0; j < n; j++) hist[BitOperations.PopCount(q0 ^ sp[j])]++;
                }
                else
                {
                    ulong* c = sp;
                    for (int j = 0; j < n; j++, c += w)
                    {
                        int d = 0;
                        for (int k = 0; k < w; k++) d += BitOperations.PopCount(q[k] ^ c[k]);
                        hist[d]++;
                    }
                }
            }
            double m = (double)n * _r / _index.Count;
            int target = (int)Math.Ceiling(m + 3 * Math.Sqrt(m) + 3);
            int acc = 0;
            for (int d = 0; d < bits; d++)
            {
                acc += hist[d];
                if (acc >= target) return d;
            }
            return bits;
        }

        unsafe void Scan(ulong* db, int w, int start, int end, ulong* q, Selection s)
        {
            if (_cut is not null)
            {
                if (w == 1 && _avx2) ScanOneWordAvx2Cut(db, _masks, start, end, q[0], s);
                else ScanWords(db, w, start, end, q, s, countCut: true);
                return;
            }
            if (w == 1)
            {
                if (_avx2) ScanOneWordAvx2(db, start, end, q[0], s);
                else ScanOneWord(db, start, end, q[0], s);
            }
            else if (w == 2) ScanTwoWords(db, start, end, q[0], q[1], s);
            else ScanWords(db, w, start, end, q, s);
        }

        /// <summary><see cref="ScanOneWordAvx2"/> with cut counting: the 8 distances are also compared for equality with
        /// the limit; the equal ones are counted first, with their relevance tested on the 8 label masks at once (at the
        /// limit the group started with), then the nearer ones go
        /// through the scalar path in database order, where an item that meets a limit lowered meanwhile is counted
        /// (a fall of the limit restarts the count, in <see cref="Selection.Accept"/>).</summary>
        static unsafe void ScanOneWordAvx2Cut(ulong* db, ulong* masks, int start, int end, ulong q, Selection s)
        {
            int limit = s.Limit;
            Vector256<ulong> qv = Vector256.Create(q);
            Vector256<ulong> qm = Vector256.Create(s.QMask);
            Vector256<long> lim = Vector256.Create((long)limit);
            // The counts at the limit live in locals between calls into the selection (which may restart them).
            int rejected = s.RejectedAtLimit, relevant = s.RelevantRejectedAtLimit;
            int j = start;
            for (; j + 8 <= end; j += 8)
            {
                var (d0, d1) = Distances8(db + j, qv);
                uint lt = (uint)Avx.MoveMask(Avx2.CompareGreaterThan(lim, d0).AsDouble()) | ((uint)Avx.MoveMask(Avx2.CompareGreaterThan(lim, d1).AsDouble()) << 4);
                uint eq = (uint)Avx.MoveMask(Avx2.CompareEqual(lim, d0).AsDouble()) | ((uint)Avx.MoveMask(Avx2.CompareEqual(lim, d1).AsDouble()) << 4);
                // Relevance of the 8 items at once, without a branch (on hashing codes about half of the groups of 8
                // hold an item at the cut): their label masks AND the query's, compared with 0.
                uint irrelevant = (uint)Avx.MoveMask(Avx2.CompareEqual(Avx.LoadVector256(masks + j) & qm, Vector256<ulong>.Zero).AsDouble())
                    | ((uint)Avx.MoveMask(Avx2.CompareEqual(Avx.LoadVector256(masks + j + 4) & qm, Vector256<ulong>.Zero).AsDouble()) << 4);
                rejected += BitOperations.PopCount(eq);
                relevant += BitOperations.PopCount(eq & ~irrelevant);
                if (lt == 0) continue;
                s.RejectedAtLimit = rejected;
                s.RelevantRejectedAtLimit = relevant;
                for (; lt != 0; lt &= lt - 1)
                {
                    int k = j + BitOperations.TrailingZeroCount(lt);
                    int d = BitOperations.PopCount(q ^ db[k]);
                    if (d < limit) limit = s.Accept(k, d); // the limit may have fallen since the compare
                    else if (d == limit) s.RejectAtLimit(k);
                }
                rejected = s.RejectedAtLimit;
                relevant = s.RelevantRejectedAtLimit;
                lim = Vector256.Create((long)limit);
            }
            s.RejectedAtLimit = rejected;
            s.RelevantRejectedAtLimit = relevant;
            for (; j < end; j++)
            {
                int d = BitOperations.PopCount(q ^ db[j]);
                if (d < limit) limit = s.Accept(j, d);
                else if (d == limit) s.RejectAtLimit(j);
            }
        }

        static unsafe void ScanOneWord(ulong* db, int start, int end, ulong q, Selection s)
        {
            int limit = s.Limit;
            int j = start;
            for (; j + 4 <= end; j += 4)
            {
                int d0 = BitOperations.PopCount(q ^ db[j]);
                int d1 = BitOperations.PopCount(q ^ db[j + 1]);
                int d2 = BitOperations.PopCount(q ^ db[j + 2]);
                int d3 = BitOperations.PopCount(q ^ db[j + 3]);
                if (d0 < limit) limit = s.Accept(j, d0);
                if (d1 < limit) limit = s.Accept(j + 1, d1);
                if (d2 < limit) limit = s.Accept(j + 2, d2);
                if (d3 < limit) limit = s.Accept(j + 3, d3);
            }
            for (; j < end; j++)
            {
                int d = BitOperations.PopCount(q ^ db[j]);
                if (d < limit) limit = s.Accept(j, d);
            }
        }

        /// <summary>Hamming distances of 8 one-word codes at <paramref name="p"/> to the query <paramref name="qv"/> (in all
        /// four lanes), as two vectors of 4: XOR, popcount by 4-bit table lookup (vpshufb), summed per 64-bit lane (vpsadbw).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static unsafe (Vector256<long>, Vector256<long>) Distances8(ulong* p, Vector256<ulong> qv)
        {
            Vector256<byte> lut = Vector256.Create(
                (byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
            Vector256<byte> nibble = Vector256.Create((byte)0x0F);
            Vector256<byte> x0 = (Avx.LoadVector256(p) ^ qv).AsByte();
            Vector256<byte> x1 = (Avx.LoadVector256(p + 4) ^ qv).AsByte();
            Vector256<byte> c0 = Avx2.Add(Avx2.Shuffle(lut, x0 & nibble), Avx2.Shuffle(lut, Avx2.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & nibble));
            Vector256<byte> c1 = Avx2.Add(Avx2.Shuffle(lut, x1 & nibble), Avx2.Shuffle(lut, Avx2.ShiftRightLogical(x1.AsUInt16(), 4).AsByte() & nibble));
            return (Avx2.SumAbsoluteDifferences(c0, Vector256<byte>.Zero).AsInt64(), Avx2.SumAbsoluteDifferences(c1, Vector256<byte>.Zero).AsInt64());
        }

        /// <summary>One-word codes, 8 at a time with AVX2: XOR, popcount by 4-bit table lookup (vpshufb) summed per
        /// 64-bit lane (vpsadbw), and a compare of the 8 distances with the limit; only the items of a group that are below
        /// the limit (rare once the cutoff has settled) go through the scalar path, in database order.</summary>
        static unsafe void ScanOneWordAvx2(ulong* db, int start, int end, ulong q, Selection s)
        {
            int limit = s.Limit;
            Vector256<ulong> qv = Vector256.Create(q);
            Vector256<long> lim = Vector256.Create((long)limit);
            int j = start;
            for (; j + 8 <= end; j += 8)
            {
                var (d0, d1) = Distances8(db + j, qv);
                Vector256<long> lt0 = Avx2.CompareGreaterThan(lim, d0);
                Vector256<long> lt1 = Avx2.CompareGreaterThan(lim, d1);
                if ((lt0 | lt1) == Vector256<long>.Zero) continue;
                uint mask = (uint)Avx.MoveMask(lt0.AsDouble()) | ((uint)Avx.MoveMask(lt1.AsDouble()) << 4);
                do
                {
                    int k = j + BitOperations.TrailingZeroCount(mask);
                    int d = BitOperations.PopCount(q ^ db[k]);
                    if (d < limit) limit = s.Accept(k, d); // the limit may have fallen since the compare
                    mask &= mask - 1;
                } while (mask != 0);
                lim = Vector256.Create((long)limit);
            }
            for (; j < end; j++)
            {
                int d = BitOperations.PopCount(q ^ db[j]);
                if (d < limit) limit = s.Accept(j, d);
            }
        }

        static unsafe void ScanTwoWords(ulong* db, int start, int end, ulong q0, ulong q1, Selection s)
        {
            int limit = s.Limit;
            ulong* p = db + 2L * start;
            for (int j = start; j < end; j++, p += 2)
            {
                int d = BitOperations.PopCount(q0 ^ p[0]) + BitOperations.PopCount(q1 ^ p[1]);
                if (d < limit) limit = s.Accept(j, d);
            }
        }

        /// <summary>The scalar scan for any code length; with <paramref name="countCut"/> an item at exactly the limit is
        /// counted as rejected at it (<see cref="Selection.RejectAtLimit"/>).</summary>
        static unsafe void ScanWords(ulong* db, int w, int start, int end, ulong* q, Selection s, bool countCut = false)
        {
            int limit = s.Limit;
            ulong* p = db + (long)w * start;
            for (int j = start; j < end; j++, p += w)
            {
                int d = 0;
                for (int k = 0; k < w; k++) d += BitOperations.PopCount(q[k] ^ p[k]);
                if (d < limit) limit = s.Accept(j, d);
                else if (countCut && d == limit) s.RejectAtLimit(j);
            }
        }
    }
}
