using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Bench;

/// <summary>
/// Retrieval benchmarks (docs/performance.md, retrieval section):
/// (a) Hamming ranking + mAP@R: the fast fused path against <see cref="ReferenceRetrieval"/> (timed on a subset of the
/// queries and scaled to all of them, after checking that both give the same mAP on that subset);
/// (b) top-R search alone against FAISS IndexBinaryFlat (python3-faiss) with the same number of threads, checking that
/// the neighbours agree up to ties (same distance multiset per query).
/// Both on 1,000,000 random 64-bit codes and on a protocol-sized database (69,000 codes of 48 bits).
/// </summary>
internal static class RetrievalBenchmark
{
    sealed class Options
    {
        public int Queries = 1000;
        public int TopR = 1000;
        public int Classes = 10;
        public int Reps = 3;
        public int RefQueriesLarge = 5;
        public int RefQueriesSmall = 50;
        public int[] Threads = { 1, Environment.ProcessorCount };
        public bool Faiss = true;
        public string? Python;
        public bool Quick;
        public int Seed = 2024;
    }

    const string Usage =
        "retrieval [--queries 1000] [--topr 1000] [--reps 3] [--threads 1,2] [--ref-queries-large 5] [--ref-queries-small 50]\n" +
        "          [--no-faiss] [--python PATH] [--quick] [--seed 2024]";

    public static int Run(string[] args)
    {
        Options o = Parse(args);
        Console.WriteLine($"# retrieval benchmark  {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, " +
                          $".NET {Environment.Version}, popcnt={System.Runtime.Intrinsics.X86.Popcnt.X64.IsSupported}");
        Console.WriteLine($"load average at start: {LoadAverage()} (the machine is shared; cpu = process CPU seconds, all threads)");
        Console.WriteLine($"queries={o.Queries} R={o.TopR} classes={o.Classes} reps={o.Reps} (times: best of reps, median in brackets)");
        string? python = o.Faiss ? FindFaissPython(o.Python) : null;
        if (o.Faiss && python is null) Console.WriteLine("FAISS: python3 with the faiss module (Debian package python3-faiss) not found; skipping the FAISS comparison");

        var cases = o.Quick
            ? new[] { (N: 100_000, Bits: 64), (N: 69_000, Bits: 48) }
            : new[] { (N: 1_000_000, Bits: 64), (N: 69_000, Bits: 48) };
        foreach (var (n, bits) in cases)
        {
            int refQueries = n >= 500_000 ? o.RefQueriesLarge : o.RefQueriesSmall;
            RunCase(o, n, bits, refQueries, python);
        }
        return 0;
    }

    static void RunCase(Options o, int n, int bits, int refQueries, string? python)
    {
        Console.WriteLine();
        Console.WriteLine($"## database {n:N0} codes x {bits} bits, {o.Queries} queries, R = {o.TopR}");
        var rng = new Random(o.Seed + n + bits);
        BinaryCodes db = BinaryCodes.Random(n, bits, rng);
        BinaryCodes queries = BinaryCodes.Random(o.Queries, bits, rng);
        LabelSets dbLabels = RandomLabels(rng, n, o.Classes);
        LabelSets qLabels = RandomLabels(rng, o.Queries, o.Classes);

        // (a) ranking + mAP@R: fast fused path vs the reference
        var fastTimes = new Dictionary<int, Timing>();
        MapResult? fastMap = null;
        foreach (int t in o.Threads)
        {
            var index = new HammingIndex(db, t);
            RetrievalMetrics.MeanAveragePrecision(index, queries.Slice(0, Math.Min(32, o.Queries)), qLabels.Slice(0, Math.Min(32, o.Queries)),
                dbLabels, o.TopR, QueryRule.Skip); // JIT warm-up
            Timing tm = Time(o.Reps, () => fastMap = RetrievalMetrics.MeanAveragePrecision(index, queries, qLabels, dbLabels, o.TopR, QueryRule.Skip));
            fastTimes[t] = tm;
            Console.WriteLine($"fast ranking+mAP@{o.TopR}, {t} thread(s): {tm}  {fastMap}  (load {LoadAverage()})");
        }

        int m = Math.Min(refQueries, o.Queries);
        BinaryCodes refQ = queries.Slice(0, m);
        LabelSets refL = qLabels.Slice(0, m);
        MapResult refMap = null!;
        Timing refT = Time(1, () => refMap = ReferenceRetrieval.MeanAveragePrecision(db, refQ, refL, dbLabels, o.TopR, QueryRule.Skip));
        double refSubset = refT.Best, refScaled = refSubset * o.Queries / m, refCpuScaled = refT.Cpu * o.Queries / m;
        MapResult fastSubset = RetrievalMetrics.MeanAveragePrecision(new HammingIndex(db, 1), refQ, refL, dbLabels, o.TopR, QueryRule.Skip);
        bool same = Math.Abs(fastSubset.MeanAP - refMap.MeanAP) < 1e-12 && fastSubset.QueriesCounted == refMap.QueriesCounted;
        Console.WriteLine($"reference ranking+mAP@{o.TopR}, 1 thread: {Sec(refSubset)} (cpu {Sec(refT.Cpu)}) for {m} queries -> {Sec(refScaled)} (cpu {Sec(refCpuScaled)}) " +
                          $"scaled to {o.Queries} (same mAP as fast path on those {m}: {(same ? "yes" : "NO")}, {refMap.Percent:F4}%)  (load {LoadAverage()})");
        foreach ((int t, Timing tm) in fastTimes)
            Console.WriteLine($"speed-up fast ({t} thread(s)) vs reference (1 thread, scaled): wall {refScaled / tm.Best:F1}x, cpu {refCpuScaled / tm.Cpu:F1}x");

        // (b) top-R search alone vs FAISS IndexBinaryFlat
        if (python is null) return;
        string dir = Path.Combine(Path.GetTempPath(), $"hashbd-bench-{Environment.ProcessId}-{n}-{bits}");
        Directory.CreateDirectory(dir);
        try
        {
            string dbPath = Path.Combine(dir, "db.npy"), qPath = Path.Combine(dir, "q.npy"), script = Path.Combine(dir, "faiss_search.py");
            HammingSearch.WriteCodes(dbPath, db);
            HammingSearch.WriteCodes(qPath, queries);
            AtomicFile.WriteAllText(script, FaissScript);
            foreach (int t in o.Threads)
            {
                var index = new HammingIndex(db, t);
                index.Search(queries.Slice(0, Math.Min(32, o.Queries)), o.TopR); // JIT warm-up
                long[] ours = Array.Empty<long>();
                int[] oursD = Array.Empty<int>();
                Timing tm = Time(o.Reps, () => ours = index.Search(queries, o.TopR, out oursD));

                string outPrefix = Path.Combine(dir, $"faiss_t{t}");
                (Dictionary<string, Timing> modes, string version) = RunFaiss(python, script, dbPath, qPath, o.TopR, t, o.Reps, outPrefix);
                Console.WriteLine($"top-{o.TopR} search, {t} thread(s): hashbd {tm}  (load {LoadAverage()})");
                foreach ((string mode, Timing ft) in modes)
                {
                    long[] fI = NpyFile.Read($"{outPrefix}_{mode}_I.npy").AsInt64();
                    int[] fD = NpyFile.Read($"{outPrefix}_{mode}_D.npy").AsInt32();
                    (int sameMultiset, int sameOrder, int badFaissDistances) = Compare(db, queries, o.TopR, ours, oursD, fI, fD);
                    Console.WriteLine($"  FAISS {version} IndexBinaryFlat use_heap={(mode == "heap" ? "True" : "False")}: {ft} -> FAISS/hashbd ratio: " +
                                      $"wall {ft.Best / tm.Best:F2}, cpu {ft.Cpu / tm.Cpu:F2}");
                    Console.WriteLine($"    neighbours: same distance multiset in {sameMultiset}/{o.Queries} queries, identical index lists in " +
                                      $"{sameOrder}/{o.Queries}, FAISS distances inconsistent with its indices in {badFaissDistances} queries");
                }
            }
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Per query: same multiset of distances (ours vs FAISS); identical index lists; and FAISS rows whose reported
    /// distances differ from the true distances of the indices it returned.</summary>
    static (int SameMultiset, int SameOrder, int BadFaiss) Compare(BinaryCodes db, BinaryCodes queries, int r, long[] ours, int[] oursD, long[] fI, int[] fD)
    {
        int q = queries.Count, rEff = Math.Min(r, db.Count), same = 0, order = 0, bad = 0;
        if (fI.Length != (long)q * rEff) throw new InvalidOperationException($"FAISS returned {fI.Length} indices, expected {q * rEff}");
        var a = new int[rEff];
        var b = new int[rEff];
        for (int i = 0; i < q; i++)
        {
            bool rowBad = false, rowOrder = true;
            for (int k = 0; k < rEff; k++)
            {
                long fi = fI[(long)i * rEff + k];
                int trueD = fi < 0 ? -1 : queries.HammingDistance(i, db, (int)fi);
                if (trueD != fD[(long)i * rEff + k]) rowBad = true;
                a[k] = oursD[(long)i * rEff + k];
                b[k] = trueD;
                if (fi != ours[(long)i * rEff + k]) rowOrder = false;
            }
            Array.Sort(a);
            Array.Sort(b);
            if (a.AsSpan().SequenceEqual(b)) same++;
            if (rowOrder) order++;
            if (rowBad) bad++;
        }
        return (same, order, bad);
    }

    /// <summary>Loads the codes, builds IndexBinaryFlat, then times only index.search, for both of its search modes:
    /// use_heap = True (the default, a heap per query) and False (counting by distance). Writes I and D per mode.</summary>
    const string FaissScript = """
        import json, sys, time
        import numpy as np
        import faiss
        db_path, q_path, k, threads, reps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        db = np.load(db_path)
        q = np.load(q_path)
        faiss.omp_set_num_threads(threads)
        index = faiss.IndexBinaryFlat(db.shape[1] * 8)
        index.add(db)
        result = {"version": faiss.__version__, "threads": faiss.omp_get_max_threads(), "modes": {}}
        for mode, use_heap in (("heap", True), ("count", False)):
            index.use_heap = use_heap
            times, cpus = [], []
            for _ in range(reps):
                c0 = time.process_time()
                t0 = time.perf_counter()
                D, I = index.search(q, k)
                times.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
            np.save(out + "_" + mode + "_I.npy", I.astype(np.int64))
            np.save(out + "_" + mode + "_D.npy", D.astype(np.int32))
            result["modes"][mode] = {"times": times, "cpus": cpus}
        print(json.dumps(result))
        """;

    static (Dictionary<string, Timing> Modes, string Version) RunFaiss(string python, string script, string db, string q, int k, int threads, int reps, string outPrefix)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { script, db, q, k.ToString(CultureInfo.InvariantCulture), threads.ToString(CultureInfo.InvariantCulture),
                     reps.ToString(CultureInfo.InvariantCulture), outPrefix })
            psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"FAISS script failed ({p.ExitCode}): {stderr.Result}");
        string json = stdout.Trim().Split('\n')[^1];
        using JsonDocument doc = JsonDocument.Parse(json);
        int used = doc.RootElement.GetProperty("threads").GetInt32();
        if (used != threads) Console.WriteLine($"  (warning: FAISS reports {used} OpenMP threads, {threads} requested)");
        var modes = new Dictionary<string, Timing>();
        foreach (JsonProperty mode in doc.RootElement.GetProperty("modes").EnumerateObject())
        {
            double[] times = mode.Value.GetProperty("times").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            double[] cpus = mode.Value.GetProperty("cpus").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Array.Sort(times);
            modes[mode.Name] = new Timing(times[0], times[times.Length / 2], cpus.Min());
        }
        return (modes, doc.RootElement.GetProperty("version").GetString() ?? "?");
    }

    static string? FindFaissPython(string? explicitPath)
    {
        IEnumerable<string> candidates = explicitPath is not null ? new[] { explicitPath } : new[] { "python3", "/usr/bin/python3" };
        foreach (string c in candidates)
        {
            try
            {
                var psi = new ProcessStartInfo(c, "-c \"import faiss, numpy\"") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                using Process p = Process.Start(psi)!;
                p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode == 0) return c;
            }
            catch (System.ComponentModel.Win32Exception) { /* not installed */ }
        }
        return null;
    }

    /// <summary>Runs <paramref name="action"/> <paramref name="reps"/> times: best and median wall time, and the process
    /// CPU time (all threads) of the best run, which is what the work costs whatever else the machine is doing.</summary>
    static Timing Time(int reps, Action action)
    {
        var runs = new (double Wall, double Cpu)[reps];
        using Process self = Process.GetCurrentProcess();
        for (int i = 0; i < reps; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            self.Refresh();
            TimeSpan cpu0 = self.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            action();
            double wall = sw.Elapsed.TotalSeconds;
            self.Refresh();
            runs[i] = (wall, (self.TotalProcessorTime - cpu0).TotalSeconds);
        }
        Array.Sort(runs);
        return new Timing(runs[0].Wall, runs[reps / 2].Wall, runs.Min(r => r.Cpu));
    }

    /// <summary>Best and median wall-clock seconds, and the smallest CPU seconds of a run.</summary>
    readonly record struct Timing(double Best, double Median, double Cpu)
    {
        public override string ToString() => $"{Sec(Best)} [{Sec(Median)}] (cpu {Sec(Cpu)})";
    }

    static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    static string Sec(double s) => s >= 10 ? $"{s:F1} s" : s >= 1 ? $"{s:F2} s" : $"{s * 1000:F1} ms";

    static LabelSets RandomLabels(Random rng, int count, int classes)
    {
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = rng.Next(classes);
        return LabelSets.FromClassIndices(labels, classes);
    }

    static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{a}: missing value\nusage: {Usage}");
            int Int() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v : throw new UsageException($"{a}: expected a positive integer\nusage: {Usage}");
            switch (a)
            {
                case "--queries": o.Queries = Int(); break;
                case "--topr": o.TopR = Int(); break;
                case "--reps": o.Reps = Int(); break;
                case "--classes": o.Classes = Int(); break;
                case "--ref-queries-large": o.RefQueriesLarge = Int(); break;
                case "--ref-queries-small": o.RefQueriesSmall = Int(); break;
                case "--seed": o.Seed = Int(); break;
                case "--threads":
                    o.Threads = Next().Split(',').Select(s => int.TryParse(s, out int t) && t > 0 ? t
                        : throw new UsageException($"--threads: expected positive integers separated by commas")).Distinct().ToArray();
                    break;
                case "--no-faiss": o.Faiss = false; break;
                case "--python": o.Python = Next(); break;
                case "--quick": o.Quick = true; break;
                default: throw new UsageException($"unknown option {a}\nusage: {Usage}");
            }
        }
        return o;
    }
}
