using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments;

/// <summary>Encodes one split of a run folder's protocol to a .npy file of uint8 codes in the FAISS binary layout.</summary>
public static class EncodePipeline
{
    public static readonly IReadOnlyList<string> Splits = new[] { "query", "database", "train" };

    public static string Run(string modelDir, string split, string outFile, string device, IRunProgress progress)
    {
        if (!Splits.Contains(split)) throw new UsageException($"split {split}: unknown split (query, database, train)");
        if (!outFile.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"outFile {outFile}: the output must be a .npy file");
        OutputLocation.RequireWritableFile(outFile, "outFile");
        using var run = LoadedRun.Open(modelDir, device);
        var set = split switch { "query" => run.Split.Query, "database" => run.Split.Database, _ => run.Split.Train };
        var enc = EvaluatePipeline.Encode(run.Model, set, progress, $"encode {split}");
        NpyFile.Write(outFile, enc.Codes.ToFaissBytes(), enc.Codes.Count, enc.Codes.Bits / 8);
        progress.Info($"{enc.Codes.Count} codes of {enc.Codes.Bits} bits written to {outFile}");
        return outFile;
    }
}
