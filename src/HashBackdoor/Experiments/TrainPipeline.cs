using System.Diagnostics;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Loads a dataset, applies the retrieval protocol, trains a hashing model on its training split and writes a
/// run folder: model.hbm, run.json and checkpoint/ (per-epoch, for --resume).</summary>
public static class TrainPipeline
{
    /// <summary>Trains and writes the run folder; <paramref name="cancel"/> stops training between batches (the last
    /// epoch checkpoint stays, for --resume).</summary>
    public static string Run(TrainRequest request, IRunProgress progress, CancellationToken cancel = default)
    {
        request.Trainer.Validate();
        // Architecture and bits are checked before any data is loaded; the geometry comes from the data below.
        request.Model.Validate().Spec(1, 1, 1, 1);
        var context = RunContext.For(request.Device, progress, cancel);
        TorchRuntime.Configure();
        string outDir = Path.GetFullPath(request.OutDir);
        if (File.Exists(Path.Combine(outDir, RunRecord.ModelFileName)) && !request.Resume)
            throw new UsageException($"outDir {request.OutDir}: already holds a trained model; choose another folder or set resume to continue it");
        RunKinds.RequireOutputFolder(request.OutDir, "outDir", RunKind.Train);
        using var runLock = RunLock.Acquire(outDir);
        AtomicFile.SweepTemporaryFiles(outDir);

        using var data = DatasetCatalog.Load(request.Dataset);
        using var split = RetrievalProtocol.Apply(data, request.Protocol);
        var spec = request.Model.Spec(split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses);
        progress.Info($"dataset {split.Name}: train {split.Train.Count}, query {split.Query.Count}, database {split.Database.Count}");

        var sw = Stopwatch.StartNew();
        using var model = Train(spec, request.Trainer, split.Train, context, Path.Combine(outDir, "checkpoint"), request.Resume, "train");
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

    /// <summary>Builds a model from <paramref name="spec"/> with initial weights drawn from the trainer seed (the backbone's
    /// from <see cref="HashModelSpec.Pretrained"/> when set), and trains it
    /// on <paramref name="context"/>'s device, reporting to its progress and stopping on its cancellation token.
    /// Two calls with the same seed start from the same weights (the victim and the clean model share them).</summary>
    /// <param name="spec">Model to build.</param>
    /// <param name="options">Training recipe and seed.</param>
    /// <param name="train">Training set (its labels; its images unless <paramref name="images"/> is given).</param>
    /// <param name="context">Device, progress and cancellation.</param>
    /// <param name="checkpointDir">Per-epoch checkpoints (null: none).</param>
    /// <param name="resume">Continue from the checkpoint in <paramref name="checkpointDir"/> when there is one.</param>
    /// <param name="label">Progress label.</param>
    /// <param name="plan">Per-row treatment of a poisoned set (null: ordinary training).</param>
    /// <param name="images">Images to train on instead of <paramref name="train"/>'s.</param>
    /// <param name="prefix">Frozen-prefix outputs of the clean training images (<see cref="FrozenPrefixCache"/>; used
    /// only when the model's frozen stages match it, and only for rows whose pixels are the clean ones).</param>
    public static HashModel Train(HashModelSpec spec, HashTrainerOptions options, ImageDataset train, RunContext context,
        string? checkpointDir, bool resume, string label, TrainingSetPlan? plan = null, Tensor? images = null, FrozenPrefixCache? prefix = null)
    {
        TorchRuntime.Seed(options.Seed);
        var model = HashModel.Create(spec);
        model.to(context.Device);
        using var step = context.Step($"{label}: {options.Epochs} epochs", options.Epochs);
        new HashTrainer(options).Train(model, images ?? train.Images, train.Labels, plan, checkpointDir, resume,
            p => step.Report(p.Epoch - 1 + (double)p.Batch / p.Batches,
                $"epoch {p.Epoch}/{p.Epochs} loss {(p.EpochDone ? p.EpochMeanLoss : p.Loss):F4} {p.ImagesPerSecond:F0} img/s"),
            context.Cancellation, prefix);
        return model;
    }

    /// <summary>The same as <see cref="Train(HashModelSpec, HashTrainerOptions, ImageDataset, RunContext, string?, bool, string, TrainingSetPlan?, Tensor?, FrozenPrefixCache?)"/>
    /// with the context's parts given one by one (<paramref name="cancel"/>: default never).</summary>
    public static HashModel Train(HashModelSpec spec, HashTrainerOptions options, ImageDataset train, Device device,
        string? checkpointDir, bool resume, IRunProgress progress, string label, TrainingSetPlan? plan = null, Tensor? images = null,
        CancellationToken cancel = default) =>
        Train(spec, options, train, new RunContext { Device = device, Progress = progress, Cancellation = cancel }, checkpointDir, resume, label, plan, images);
}
