using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Hashing;

/// <summary>
/// An epoch checkpoint in a folder: model.hbm (a <see cref="ModelFile"/>), optimizer.bin (TorchSharp optimizer state) and
/// state.json (epochs completed). Saving removes state.json first and writes it last, so a kill between the files leaves
/// no checkpoint (the run starts over, with the same seeds and therefore the same result) instead of a model of one epoch
/// beside the state of another: a checkpoint exists exactly when all three files belong to the epoch state.json names.
/// </summary>
public static class TrainingCheckpoint
{
    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, "state.json"));

    public static void Save(string dir, HashModel model, TorchSharp.Modules.OptimizerHelper optimizer, int epochsDone, HashTrainerOptions options)
    {
        Directory.CreateDirectory(dir);
        File.Delete(Path.Combine(dir, "state.json"));
        ModelFile.Save(Path.Combine(dir, $"model.hbm"), model, new ModelMetadata { Spec = model.Spec, Loss = options.Loss, EpochsTrained = epochsDone, Seed = options.Seed });
        // TorchSharp writes the optimizer state to a file name: through a temporary name, fsynced and renamed, removed on
        // failure (full disk, permission), like every other file.
        AtomicFile.WriteVia(Path.Combine(dir, "optimizer.bin"), tmp => optimizer.save_state_dict(tmp));
        AtomicFile.WriteAllText(Path.Combine(dir, "state.json"), JsonSerializer.Serialize(new State(epochsDone, options)));
    }

    /// <summary>Restores model and optimizer; returns the number of epochs already done.</summary>
    public static int Load(string dir, HashModel model, TorchSharp.Modules.OptimizerHelper optimizer)
    {
        string statePath = Path.Combine(dir, "state.json");
        State state;
        try { state = JsonSerializer.Deserialize<State>(File.ReadAllText(statePath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new DataException(statePath, $"damaged checkpoint state ({e.Message})"); }
        var modelPath = Path.Combine(dir, "model.hbm");
        var (saved, meta) = ModelFile.Load(modelPath, model.Spec);
        using (saved)
        {
            if (meta.EpochsTrained != state.EpochsDone)
                throw new DataException(modelPath, $"checkpoint model has {meta.EpochsTrained} epochs, state.json says {state.EpochsDone}");
            using var _ = no_grad();
            var src = saved.state_dict();
            foreach (var (name, t) in model.state_dict()) t.copy_(src[name]);
        }
        var optPath = Path.Combine(dir, "optimizer.bin");
        if (!File.Exists(optPath)) throw new DataException(optPath, "checkpoint optimizer state is missing");
        try { optimizer.load_state_dict(optPath); }
        catch (Exception e) { throw new DataException(optPath, $"damaged optimizer state ({e.Message})"); }
        return state.EpochsDone;
    }

    private sealed record State(int EpochsDone, HashTrainerOptions Options);
}
