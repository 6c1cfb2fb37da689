using System.Text;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>Training steps the defenses share: copying the victim, choosing the defender's small clean subset,
/// retraining a victim on a filtered training set, fine-tuning a copy. All go through <see cref="HashTrainer"/>.</summary>
public static class VictimTraining
{
    /// <summary>A deep copy of <paramref name="model"/> (same spec and weights, including BatchNorm statistics), eval mode.</summary>
    public static HashModel Copy(HashModel model, Device device)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) model.save(w);
        ms.Position = 0;
        var copy = new HashModel(model.Spec);
        using (var r = new BinaryReader(ms)) copy.load(r, strict: true);
        copy.to(device);
        copy.eval();
        return copy;
    }

    /// <summary>
    /// The defender's clean subset: round(<paramref name="fraction"/> x N) training rows drawn without replacement, with
    /// <paramref name="seed"/>, among the rows that are NOT poisoned (the defender is assumed to hold a small set of
    /// trusted images; the true poison indices only keep poisons out of it). Ascending.
    /// </summary>
    public static long[] CleanSubset(DefenseInputs inputs, double fraction, long seed)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new UsageException($"clean fraction {fraction}: must lie in (0, 1]");
        var poison = inputs.PoisonMask();
        var clean = Enumerable.Range(0, inputs.Train.Count).Where(i => !poison[i]).Select(i => (long)i).ToArray();
        int count = Math.Max(2, (int)Math.Round(fraction * inputs.Train.Count));
        if (count > clean.Length) throw new UsageException($"clean fraction {fraction}: needs {count} clean rows, the training set has {clean.Length}");
        using var gen = new Generator().manual_seed(seed);
        using var perm = randperm(clean.Length, generator: gen).narrow(0, 0, count).sort().Values.contiguous();
        return perm.data<long>().ToArray().Select(j => clean[j]).ToArray();
    }

    /// <summary>A victim trained from scratch on the rows <paramref name="keep"/> with the victim's recipe and initial
    /// weights (the recipe's seed), poisoned survivors treated as the attack fed them.</summary>
    public static HashModel Retrain(DefenseInputs inputs, long[] keep, DefenseContext context, string stage)
    {
        var (set, plan) = inputs.TrainingSubset(keep);
        using (set)
        {
            try
            {
                var options = inputs.Trainer;
                TorchRuntime.Seed(options.Seed);
                var model = new HashModel(inputs.Victim.Spec);
                model.to(context.Device);
                new HashTrainer(options).Train(model, set.Images, set.Labels, plan, null, false,
                    p => context.Progress?.Invoke(stage, (p.Epoch - 1 + (double)p.Batch / p.Batches) / p.Epochs), context.Cancel);
                return model;
            }
            finally
            {
                plan.Augmentable?.Dispose();
            }
        }
    }

    /// <summary>Fine-tunes <paramref name="model"/> in place on <paramref name="clean"/> rows of the stored training set
    /// with <paramref name="options"/>; <paramref name="afterStep"/> runs after every optimiser step (fine-pruning uses it
    /// to keep pruned channels at zero).</summary>
    public static void FineTune(HashModel model, DefenseInputs inputs, long[] clean, HashTrainerOptions options, DefenseContext context,
        string stage, Action? afterStep = null)
    {
        using var set = inputs.Train.Subset(clean, $"{inputs.Train.Name} clean {clean.Length}");
        new HashTrainer(options).Train(model, set.Images, set.Labels, null, null, false, p =>
        {
            afterStep?.Invoke();
            context.Progress?.Invoke(stage, (p.Epoch - 1 + (double)p.Batch / p.Batches) / p.Epochs);
        }, context.Cancel);
    }
}
