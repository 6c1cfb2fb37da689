using System.Text.Json;
using System.Text.Json.Serialization;
using HashBackdoor.Data;
using HashBackdoor.Hashing;

namespace HashBackdoor.Experiments;

/// <summary>What a training run folder records in run.json: enough to rebuild the same protocol split and to redo the
/// run (resolved options, seeds, dataset checksums, toolkit version).</summary>
public sealed record RunRecord
{
    public string ToolkitVersion { get; init; } = ToolkitInfo.Version;
    public required string Dataset { get; init; }
    public required ProtocolOptions Protocol { get; init; }
    public required HashModelSpec Model { get; init; }
    public required HashTrainerOptions Trainer { get; init; }
    public IReadOnlyDictionary<string, string> DatasetChecksums { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, object>? ProtocolDescription { get; init; }
    public double TrainSeconds { get; init; }
    public string? Machine { get; init; }

    public const string FileName = "run.json";
    public const string ModelFileName = "model.hbm";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public void Save(string dir) => AtomicFile.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, Json));

    /// <summary>Reads DIR/run.json; a missing or damaged file gives a <see cref="DataException"/> naming it.</summary>
    public static RunRecord Load(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!Directory.Exists(dir)) throw new DataException(dir, "model folder not found");
        if (!File.Exists(path)) throw new DataException(path, "not a training run folder (run.json missing); create one with hashbd train");
        try { return JsonSerializer.Deserialize<RunRecord>(File.ReadAllText(path), Json) ?? throw new JsonException("empty file"); }
        catch (JsonException e) { throw new DataException(path, $"damaged run record ({e.Message})"); }
    }

    /// <summary>A one-line description of this machine, for reports.</summary>
    public static string DescribeMachine() =>
        $"{Cpu()}, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, torch threads {TorchSharp.torch.get_num_threads()}";

    /// <summary>The CPU model and its widest vector unit (results differ slightly between AVX2 and AVX-512 kernels), from
    /// /proc/cpuinfo on Linux; the architecture name elsewhere.</summary>
    internal static string Cpu()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var lines = File.ReadLines("/proc/cpuinfo").Take(64).ToList();
                string model = lines.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
                string flags = " " + (lines.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1] ?? "") + " ";
                string vector = flags.Contains(" avx512f ") ? "AVX-512" : flags.Contains(" avx2 ") ? "AVX2" : "no AVX2";
                return $"{model} ({vector})";
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
