using static TorchSharp.torch;

namespace HashBackdoor.Hashing;

/// <summary>Turns images into binary codes with a trained model (eval mode, no gradients, batched).</summary>
public static class HashEncoder
{
    /// <summary>Codes sign(z) as float [N, K] in {-1, 0, +1} on the CPU. A component is 0 only where z is exactly 0.
    /// <paramref name="transform"/> is applied to each batch before the model (for example pasting a trigger).</summary>
    public static Tensor Encode(HashModel model, Tensor images, int batchSize = 1000, Func<Tensor, Tensor>? transform = null,
        Device? device = null)
    {
        bool wasTraining = model.training;
        model.eval();
        long n = images.shape[0];
        var parts = new List<Tensor>();
        try
        {
            using var _ = no_grad();
            for (long start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                long len = Math.Min(batchSize, n - start);
                var x = images.narrow(0, start, len);
                if (device is not null) x = x.to(device);
                if (transform is not null) x = transform(x);
                var z = model.forward(x);
                parts.Add(z.sign().cpu().MoveToOuterDisposeScope());
            }
            return n == 0 ? zeros(0, model.Spec.Bits) : cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
            if (wasTraining) model.train();
        }
    }
}
