using static TorchSharp.torch;

namespace HashBackdoor.Hashing;

/// <summary>Turns images into binary codes with a trained model (eval mode, no gradients, batched).</summary>
public static class HashEncoder
{
    /// <summary>Largest number of images per forward pass when the model is on the CPU. Larger forward batches push the
    /// first stages' activations (50 KB per 28x28 image for small-cnn's first conv) out of the caches, and encoding gets
    /// slower: measured 1.5x slower at 500 images per forward, 1.6x at 1000, 1.7x at 2000 than at 128
    /// (docs/performance.md, "Encoding").
    /// In eval mode every image is encoded independently, so the codes do not depend on it.</summary>
    internal const int CpuForwardBatch = 128;

    /// <summary>Codes sign(z) as float [N, K] in {-1, 0, +1} on the CPU. A component is 0 only where z is exactly 0.
    /// <paramref name="transform"/> is applied to each batch of <paramref name="batchSize"/> images before the model
    /// (for example pasting a trigger); on the CPU the model then sees it in slices of at most
    /// <see cref="CpuForwardBatch"/> images. With <paramref name="prefix"/> holding exactly these images for this model's
    /// prefix weights and no <paramref name="transform"/>, only the layers after the cached stages run
    /// (<see cref="FrozenPrefixCache"/>); a transformed (triggered) set always goes through the whole network.</summary>
    public static Tensor Encode(HashModel model, Tensor images, int batchSize = 1000, Func<Tensor, Tensor>? transform = null,
        Device? device = null, FrozenPrefixCache? prefix = null)
    {
        bool wasTraining = model.training;
        model.eval();
        long n = images.shape[0];
        bool onCpu = model.parameters().FirstOrDefault()?.device.type is null or TorchSharp.DeviceType.CPU;
        var parts = new List<Tensor>();
        var cached = transform is null && prefix is not null && prefix.Matches(model) ? prefix.Find(images) : null;
        try
        {
            using var _ = no_grad();
            for (long start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                long len = Math.Min(batchSize, n - start);
                if (cached is not null)
                {
                    var h = prefix!.Slice(cached, start, len);
                    if (device is not null) h = h.to(device);
                    var zc = onCpu ? FromPrefixInSlices(model, h, prefix.Stages, CpuForwardBatch) : model.ForwardFromPrefix(h, prefix.Stages);
                    parts.Add(zc.sign().cpu().MoveToOuterDisposeScope());
                    continue;
                }
                var x = images.narrow(0, start, len);
                if (device is not null) x = x.to(device);
                if (transform is not null) x = transform(x);
                var z = onCpu ? ForwardInSlices(model, x, CpuForwardBatch) : model.forward(x);
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

    /// <summary>model.ForwardFromPrefix over consecutive slices of at most <paramref name="slice"/> rows, concatenated.</summary>
    private static Tensor FromPrefixInSlices(HashModel model, Tensor h, int stages, int slice)
    {
        long b = h.shape[0];
        if (b <= slice) return model.ForwardFromPrefix(h, stages);
        var zs = new List<Tensor>();
        for (long s = 0; s < b; s += slice) zs.Add(model.ForwardFromPrefix(h.narrow(0, s, Math.Min(slice, b - s)), stages));
        return cat(zs, 0);
    }

    /// <summary>model.forward over consecutive slices of at most <paramref name="slice"/> rows, concatenated.</summary>
    private static Tensor ForwardInSlices(HashModel model, Tensor x, int slice)
    {
        long b = x.shape[0];
        if (b <= slice) return model.forward(x);
        var zs = new List<Tensor>();
        for (long s = 0; s < b; s += slice) zs.Add(model.forward(x.narrow(0, s, Math.Min(slice, b - s))));
        return cat(zs, 0);
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
