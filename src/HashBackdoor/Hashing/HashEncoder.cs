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

/// <summary>Conversions from the model's sign tensors to the retrieval layer's packed codes.</summary>
public static class CodeConversion
{
    /// <summary>Packs sign codes [N, K] (float) into <see cref="Retrieval.BinaryCodes"/>; exact zeros go to bit 0 and are
    /// counted in <paramref name="exactZeros"/>.</summary>
    public static Retrieval.BinaryCodes ToBinaryCodes(Tensor signs, out long exactZeros)
    {
        using var c = signs.to_type(ScalarType.Float32).cpu().contiguous();
        return Retrieval.BinaryCodes.FromSigns(c.data<float>().ToArray(), (int)c.shape[1], out exactZeros);
    }

    /// <summary>Multi-hot labels [N, C] as label sets.</summary>
    public static Retrieval.LabelSets ToLabelSets(Tensor labels)
    {
        using var c = labels.to_type(ScalarType.Float32).cpu().contiguous();
        return Retrieval.LabelSets.FromMultiHot(c.data<float>().ToArray(), (int)c.shape[1]);
    }
}
