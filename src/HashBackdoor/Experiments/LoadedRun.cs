using HashBackdoor.Data;
using HashBackdoor.Hashing;
using TorchSharp;

namespace HashBackdoor.Experiments;

/// <summary>A training run folder opened again: its record, the same protocol split rebuilt from the recorded dataset,
/// protocol options and seed, and the trained model.</summary>
public sealed class LoadedRun : IDisposable
{
    private LoadedRun(string dir, RunRecord record, DatasetSplits data, ProtocolSplit split, HashModel model)
    {
        Directory = dir; Record = record; Data = data; Split = split; Model = model;
    }

    public string Directory { get; }
    public RunRecord Record { get; }
    public DatasetSplits Data { get; }
    public ProtocolSplit Split { get; }
    public HashModel Model { get; }

    /// <summary>Opens DIR: validates run.json and the model file before loading any data.</summary>
    public static LoadedRun Open(string dir, string device = "cpu")
    {
        var dev = TorchRuntime.ParseDevice(device);
        TorchRuntime.Configure();
        var record = RunRecord.Load(dir);
        string modelPath = Path.Combine(dir, RunRecord.ModelFileName);
        var meta = ModelFile.ReadMetadata(modelPath);
        if (meta.Spec != record.Model) throw new DataException(modelPath, $"model does not match {Path.Combine(dir, RunRecord.FileName)} ({meta.Spec.Bits} vs {record.Model.Bits} bits)");
        var data = DatasetCatalog.Load(record.Dataset);
        try
        {
            foreach (var (file, sum) in record.DatasetChecksums)
                if (data.Checksums.TryGetValue(file, out var now) && now != sum)
                    throw new DataException(file, $"dataset file changed since training (SHA-256 {now[..12]}..., recorded {sum[..12]}...)");
            var split = RetrievalProtocol.Apply(data, record.Protocol);
            var (model, _) = ModelFile.Load(modelPath, record.Model);
            model.to(dev);
            return new LoadedRun(dir, record, data, split, model);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        Split.Dispose();
        Data.Dispose();
    }
}
