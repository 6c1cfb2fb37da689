using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Data;

/// <summary>Vectorised conversions from byte blocks to the tensors an <see cref="ImageDataset"/> holds.</summary>
internal static class ImageTensors
{
    /// <summary>Bytes laid out <c>[n, c, h, w]</c> (0..255) to float32 in 0..1, in one tensor op.</summary>
    public static Tensor FromBytes(byte[] bytes, long n, long c, long h, long w)
    {
        using var raw = torch.tensor(bytes, new long[] { n, c, h, w });
        return raw.to_type(ScalarType.Float32).div_(255f);
    }

    /// <summary>Class indices to one-hot float32 <c>[n, numClasses]</c>.</summary>
    public static Tensor OneHot(byte[] labels, int numClasses)
    {
        using var idx = torch.tensor(labels, new long[] { labels.Length });
        using var i64 = idx.to_type(ScalarType.Int64);
        using var oh = torch.nn.functional.one_hot(i64, numClasses);
        return oh.to_type(ScalarType.Float32);
    }

    /// <summary>Class indices to one-hot float32 <c>[n, numClasses]</c>.</summary>
    public static Tensor OneHot(int[] labels, int numClasses)
    {
        using var idx = torch.tensor(labels, new long[] { labels.Length });
        using var i64 = idx.to_type(ScalarType.Int64);
        using var oh = torch.nn.functional.one_hot(i64, numClasses);
        return oh.to_type(ScalarType.Float32);
    }

    /// <summary>Row-major 0/1 bytes <c>[n, numClasses]</c> to float32.</summary>
    public static Tensor MultiHot(byte[] labels, long n, int numClasses)
    {
        using var raw = torch.tensor(labels, new long[] { n, numClasses });
        return raw.to_type(ScalarType.Float32);
    }

    /// <summary>Concatenates datasets row-wise (same image shape and classes) into a new dataset.</summary>
    public static ImageDataset Concat(string name, IReadOnlyList<ImageDataset> parts)
    {
        if (parts.Count == 1) return parts[0].Subset(Enumerable.Range(0, parts[0].Count).Select(i => (long)i).ToArray(), name);
        var x = torch.cat(parts.Select(p => p.Images).ToArray(), 0);
        var y = torch.cat(parts.Select(p => p.Labels).ToArray(), 0);
        return new ImageDataset(name, x, y, parts[0].ClassNames);
    }

    /// <summary>Index of the first 1 in each label row (-1 for a row without labels): the "primary" label.</summary>
    public static int[] PrimaryLabels(ImageDataset d)
    {
        int c = d.NumClasses;
        using var pos = d.Labels.gt(0.5f);
        using var any = pos.any(1);
        // argmax returns the first maximal index, so on a 0/1 row it is the first 1.
        using var first = pos.to_type(ScalarType.Int32).argmax(1).to_type(ScalarType.Int32);
        using var none = torch.full(d.Count, -1, ScalarType.Int32);
        using var fixedUp = torch.where(any, first, none);
        return fixedUp.data<int>().ToArray();
    }
}
