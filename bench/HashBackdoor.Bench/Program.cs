namespace HashBackdoor.Bench;

/// <summary>Benchmark harness: <c>dotnet run -c Release --project bench/HashBackdoor.Bench -- NAME [options]</c>.
/// Each benchmark is one entry of <see cref="Benchmarks"/>; add yours (train, attack, ...) there.</summary>
public static class Program
{
    /// <summary>Benchmark name -> entry point taking the remaining arguments and returning the exit code.</summary>
    static readonly Dictionary<string, Func<string[], int>> Benchmarks = new(StringComparer.OrdinalIgnoreCase)
    {
        ["retrieval"] = RetrievalBenchmark.Run,
        ["train"] = TrainBenchmark.Run,
        ["attack"] = AttackBenchmark.Run,
        ["encode"] = EncodeBenchmark.Run,
        ["memory"] = MemoryBenchmark.Run,
        ["prefix-cache"] = PrefixCacheBenchmark.Run,
        ["scoring"] = ScoringBenchmark.Run,
        ["all"] = All,
    };

    /// <summary>The order in which <c>all</c> runs the benchmarks.</summary>
    static readonly string[] AllOrder = { "train", "attack", "encode", "memory", "retrieval", "scoring" };

    public static int Main(string[] args)
    {
        if (args.Length == 0 || !Benchmarks.TryGetValue(args[0], out Func<string[], int>? run))
        {
            Console.Error.WriteLine(args.Length == 0 ? "which benchmark?" : $"unknown benchmark '{args[0]}'");
            Console.Error.WriteLine("usage: HashBackdoor.Bench NAME [options]; NAME is one of: " + string.Join(", ", Benchmarks.Keys.Order()));
            return 2;
        }
        try
        {
            return run(args[1..]);
        }
        catch (HashBackdoorException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
    }

    /// <summary><c>all [--quick]</c>: every benchmark in turn (only --quick is passed on); the exit code is the first
    /// non-zero one.</summary>
    static int All(string[] args)
    {
        if (args.Any(a => a != "--quick"))
            throw new UsageException("all takes only --quick; run a single benchmark to pass it options");
        int code = 0;
        foreach (string name in AllOrder)
        {
            Console.WriteLine();
            Console.WriteLine(new string('=', 100));
            int c = Benchmarks[name](args);
            Console.Out.Flush();
            if (c != 0 && code == 0) code = c;
        }
        return code;
    }
}
