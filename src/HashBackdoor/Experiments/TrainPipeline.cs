using System.Diagnostics;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Inputs of <see cref="TrainPipeline"/>.</summary>
public sealed record TrainRequest
{
    public string Dataset { get; init; } = "fashion-mnist";
    public ProtocolOptions Protocol { get; init; } = new();
    public string Architecture { get; init; } = "small-cnn";
    public int Bits { get; init; } = 48;
    /// <summary>Pretrained backbone, input size, layout and normalisation: see the same members of <see cref="HashModelSpec"/>.</summary>
    public string? Pretrained { get; init; }
    public int? InputSize { get; init; }
    public string? Layout { get; init; }
    public string? Normalization { get; init; }
    public HashTrainerOptions Trainer { get; init; } = new();
    public required string OutDir { get; init; }
    public bool Resume { get; init; }
    public string Device { get; init; } = "cpu";
}

/// <summary>Loads a dataset, applies the retrieval protocol, trains a hashing model on its training split and writes a
/// run folder: model.hbm, run.json and checkpoint/ (per-epoch, for --resume).</summary>
public static class TrainPipeline
{
    public static string Run(TrainRequest request, IRunProgress progress)
    {
        request.Trainer.Validate();
        // Architecture and bits are checked before any data is loaded; the geometry comes from the data below.
        WithBackbone(new HashModelSpec(request.Architecture, request.Bits, 1, 1, 1, 1), request).Validate();
        var device = TorchRuntime.ParseDevice(request.Device);
        TorchRuntime.Configure();
        string outDir = Path.GetFullPath(request.OutDir);
        if (File.Exists(Path.Combine(outDir, RunRecord.ModelFileName)) && !request.Resume)
            throw new UsageException($"--out {request.OutDir}: already holds a trained model; choose another folder or pass --resume");

        using var data = DatasetCatalog.Load(request.Dataset);
        using var split = RetrievalProtocol.Apply(data, request.Protocol);
        var spec = WithBackbone(new HashModelSpec(request.Architecture, request.Bits, split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses), request).Validate();
        progress.Info($"dataset {split.Name}: train {split.Train.Count}, query {split.Query.Count}, database {split.Database.Count}");

        var sw = Stopwatch.StartNew();
        using var model = Train(spec, request.Trainer, split.Train, device, Path.Combine(outDir, "checkpoint"), request.Resume, progress, "train");
        var record = new RunRecord
        {
            Dataset = request.Dataset, Protocol = split.Options, Model = spec, Trainer = request.Trainer,
            DatasetChecksums = data.Checksums, ProtocolDescription = split.Describe(), TrainSeconds = sw.Elapsed.TotalSeconds,
            Machine = RunRecord.DescribeMachine(),
        };
        ModelFile.Save(Path.Combine(outDir, RunRecord.ModelFileName), model,
            new ModelMetadata { Spec = spec, Loss = request.Trainer.Loss, EpochsTrained = request.Trainer.Epochs, Seed = request.Trainer.Seed });
        record.Save(outDir);
        progress.Info($"model written to {Path.Combine(outDir, RunRecord.ModelFileName)} ({sw.Elapsed.TotalSeconds:F0} s)");
        return outDir;
    }

    private static HashModelSpec WithBackbone(HashModelSpec spec, TrainRequest r) =>
        spec with { Pretrained = r.Pretrained, InputSize = r.InputSize, Layout = r.Layout, Normalization = r.Normalization };

    /// <summary>Builds a model from <paramref name="spec"/> with initial weights drawn from the trainer seed (the backbone's
    /// from <see cref="HashModelSpec.Pretrained"/> when set), and trains it.
    /// Two calls with the same seed start from the same weights (the victim and the clean model share them).</summary>
    public static HashModel Train(HashModelSpec spec, HashTrainerOptions options, ImageDataset train, Device device,
        string? checkpointDir, bool resume, IRunProgress progress, string label, TrainingSetPlan? plan = null, Tensor? images = null)
    {
        TorchRuntime.Seed(options.Seed);
        var model = HashModel.Create(spec);
        model.to(device);
        using var step = progress.Start($"{label}: {options.Epochs} epochs", options.Epochs);
        new HashTrainer(options).Train(model, images ?? train.Images, train.Labels, plan, checkpointDir, resume,
            p => step.Report(p.Epoch - 1 + (double)p.Batch / p.Batches,
                $"epoch {p.Epoch}/{p.Epochs} loss {(p.EpochDone ? p.EpochMeanLoss : p.Loss):F4} {p.ImagesPerSecond:F0} img/s"),
            CliCancellation.Token);
        return model;
    }
}

/// <summary>A process-wide cancellation token set by the front end (Ctrl+C).</summary>
public static class CliCancellation
{
    public static CancellationToken Token { get; set; }
}
