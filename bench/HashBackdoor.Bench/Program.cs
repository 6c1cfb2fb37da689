namespace HashBackdoor.Bench;

/// <summary>Benchmark harness: <c>dotnet run -c Release --project bench/HashBackdoor.Bench -- NAME [options]</c>.
/// Each benchmark is one entry of <see cref="Benchmarks"/>; add yours (train, attack, ...) there.</summary>
public static class Program
{
    /// <summary>Benchmark name -> entry point taking the remaining arguments and returning the exit code.</summary>
    static readonly Dictionary<string, Func<string[], int>> Benchmarks = new(StringComparer.OrdinalIgnoreCase)
    {
        ["retrieval"] = RetrievalBenchmark.Run,
    };

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
}
