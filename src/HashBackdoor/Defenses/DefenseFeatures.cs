using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>Which representation a feature-space defense inspects.</summary>
public enum FeatureSpace
{
    /// <summary>The backbone's output, the hash layer's input (<see cref="HashModel.Features"/>); the classification
    /// defenses' "penultimate layer".</summary>
    Penultimate,
    /// <summary>The continuous codes tanh(z) [N, K] (<see cref="HashModel.Continuous"/>).</summary>
    Codes,
}

/// <summary>Features of images under a model: eval mode, no gradients, in batches.</summary>
public static class DefenseFeatures
{
    /// <summary>Features float [N, D] on the CPU of <paramref name="images"/> [N, C, H, W].</summary>
    public static Tensor Extract(HashModel model, Tensor images, FeatureSpace space, Device? device = null, int batchSize = 256)
    {
        bool wasTraining = model.training;
        model.eval();
        var parts = new List<Tensor>();
        try
        {
            using var _ = no_grad();
            for (long s = 0; s < images.shape[0]; s += batchSize)
            {
                using var scope = NewDisposeScope();
                var x = images.narrow(0, s, Math.Min(batchSize, images.shape[0] - s));
                if (device is not null) x = x.to(device);
                var f = space == FeatureSpace.Penultimate ? model.Features(x) : model.Continuous(x);
                parts.Add(f.cpu().MoveToOuterDisposeScope());
            }
            if (parts.Count == 0) return zeros(0, 1);
            return cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
            if (wasTraining) model.train();
        }
    }

    /// <summary>Name used in settings and file names.</summary>
    public static string Describe(FeatureSpace space) => space == FeatureSpace.Penultimate ? "penultimate features" : "continuous codes tanh(z)";
}
