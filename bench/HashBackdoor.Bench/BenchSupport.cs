using System.Diagnostics;
using System.Globalization;
using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Bench;

/// <summary>Shared pieces of the training, attack, encoding and memory benchmarks: option parsing, timing (wall and
/// process CPU), machine and load description, /proc memory readings, tables, and the benchmark data.</summary>
internal static class BenchSupport
{
    /// <summary>Wall and process CPU seconds (all threads) of one measured piece of work.</summary>
    internal readonly record struct Measured(double Wall, double Cpu);

    /// <summary>Runs <paramref name="action"/> once and returns its wall and process CPU seconds.</summary>
    internal static Measured Measure(Action action)
    {
        var proc = Process.GetCurrentProcess();
        proc.Refresh();
        var cpu0 = proc.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        action();
        sw.Stop();
        proc.Refresh();
        return new Measured(sw.Elapsed.TotalSeconds, (proc.TotalProcessorTime - cpu0).TotalSeconds);
    }

    internal static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
    }

    /// <summary>The 1-minute load average (the machine is shared; absolute times depend on it).</summary>
    internal static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "n/a"; }
    }

    /// <summary>A field of /proc/self/status in MiB (VmRSS, VmHWM, ...), NaN where not available.</summary>
    internal static double StatusMiB(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var parts = line[(field.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0], CultureInfo.InvariantCulture) / 1024.0;
                }
        }
        catch (IOException) { }
        return double.NaN;
    }

    /// <summary>Resets VmHWM to the current VmRSS (writes 5 to /proc/self/clear_refs, Linux 4.0+), so that a later
    /// VmHWM is the peak of what followed. Returns false where that is not possible.</summary>
    internal static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>CPU model, cores, memory, OS, runtime and torch threads in one line.</summary>
    internal static string Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            var info = File.ReadLines("/proc/cpuinfo").ToList();
            string? model = info.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
            string? family = info.FirstOrDefault(l => l.StartsWith("cpu family", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
            if (model is not null) cpu = family is null ? model : $"{model} (family {family})";
        }
        catch (IOException) { }
        double memGiB = double.NaN;
        try
        {
            var total = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            memGiB = long.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or FormatException) { }
        string os = System.Runtime.InteropServices.RuntimeInformation.OSDescription;
        try
        {
            var pretty = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
            if (pretty is not null) os = pretty["PRETTY_NAME=".Length..].Trim('"');
        }
        catch (IOException) { }
        return $"{cpu}, {Environment.ProcessorCount} logical cores, {memGiB:F1} GiB, {os}, .NET {Environment.Version}, " +
               $"torch threads {TorchSharp.torch.get_num_threads()}, OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset)"}";
    }

    /// <summary>Prints the header every benchmark starts with.</summary>
    internal static void Header(string name, string what)
    {
        TorchRuntime.Configure();
        Console.WriteLine($"# {name} benchmark  {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine(what);
        Console.WriteLine($"machine: {Machine()}");
        Console.WriteLine($"load average at start: {LoadAverage()} (shared machine: absolute figures depend on the load; the ratios are measured in the same run, interleaved)");
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not ("PASSIVE" or "passive"))
            Console.WriteLine("note: OMP_WAIT_POLICY is not PASSIVE; on a shared machine idle OpenMP threads spin and inflate CPU time");
    }

    /// <summary>Prints a Markdown table (the column widths padded for the terminal).</summary>
    internal static void Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = Enumerable.Range(0, header.Count).Select(c => all.Max(r => c < r.Count ? r[c].Length : 0)).ToArray();
        string Line(IReadOnlyList<string> r) => "| " + string.Join(" | ", Enumerable.Range(0, header.Count).Select(c => (c < r.Count ? r[c] : "").PadRight(widths[c]))) + " |";
        Console.WriteLine(Line(header));
        Console.WriteLine("| " + string.Join(" | ", widths.Select(w => new string('-', Math.Max(3, w)))) + " |");
        foreach (var r in all.Skip(1)) Console.WriteLine(Line(r));
    }

    internal static string F(double v, int decimals = 0) => double.IsNaN(v) ? "n/a" : v.ToString("N" + decimals, CultureInfo.InvariantCulture);
    internal static string Ratio(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>Training images of the default protocol: Fashion-MNIST q100/t500 (5,000 images) when the dataset is
    /// installed, otherwise 5,000 synthetic 28x28 images (<see cref="SyntheticDataset"/>). The first <paramref name="count"/>
    /// are kept.</summary>
    internal static (Tensor Images, Tensor Labels, string Source) TrainingImages(int count)
    {
        ImageDataset? train = null;
        string source;
        try
        {
            using var data = DatasetCatalog.Load("fashion-mnist");
            using var split = RetrievalProtocol.Apply(data, new ProtocolOptions());
            train = split.Train.Subset(Enumerable.Range(0, Math.Min(count, split.Train.Count)).Select(i => (long)i).ToArray(), "train");
            source = $"Fashion-MNIST protocol q100/t500 training split ({FashionMnist.DefaultDirectory})";
        }
        catch (DataException e)
        {
            Console.WriteLine($"Fashion-MNIST not available ({e.Message}); using synthetic 28x28 images");
            int perClass = (count + 9) / 10;
            using var data = SyntheticDataset.Create(perClass, 10, 28, 0);
            train = data.Train.Subset(Enumerable.Range(0, count).Select(i => (long)i).ToArray(), "train");
            source = "synthetic 28x28, 10 classes (Fashion-MNIST not installed)";
        }
        using (train)
        {
            var x = train.Images.contiguous().clone().DetachFromDisposeScope();
            var y = train.Labels.contiguous().clone().DetachFromDisposeScope();
            return (x, y, $"{x.shape[0]} images from {source}");
        }
    }

    /// <summary>Minimal option parser: --name value and --flag; unknown options are a usage error.</summary>
    internal sealed class Args
    {
        private readonly Dictionary<string, string?> values = new(StringComparer.Ordinal);

        public Args(string[] args, string usage, IReadOnlyCollection<string> flags, IReadOnlyCollection<string> valued)
        {
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                if (a is "-h" or "--help") { Console.WriteLine("usage: " + usage); Environment.Exit(0); }
                if (flags.Contains(a)) values[a] = null;
                else if (valued.Contains(a))
                {
                    if (i + 1 >= args.Length) throw new UsageException($"{a} needs a value; usage: {usage}");
                    values[a] = args[++i];
                }
                else throw new UsageException($"unknown option '{a}'; usage: {usage}");
            }
        }

        public bool Has(string flag) => values.ContainsKey(flag);

        public int Int(string name, int fallback) =>
            values.TryGetValue(name, out var v) && v is not null
                ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) && r > 0 ? r : throw new UsageException($"{name} {v}: expected a positive integer")
                : fallback;

        public int[] Ints(string name, int[] fallback) =>
            values.TryGetValue(name, out var v) && v is not null
                ? v.Split(',').Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) && r > 0 ? r
                    : throw new UsageException($"{name} {v}: expected positive integers separated by commas")).ToArray()
                : fallback;

        public string? Str(string name) => values.TryGetValue(name, out var v) ? v : null;
    }
}
