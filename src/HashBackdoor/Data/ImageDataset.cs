using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Data;

/// <summary>
/// A labelled image set held in memory as tensors: <see cref="Images"/> float32 [N, C, H, W] in 0..1 and
/// <see cref="Labels"/> float32 [N, numClasses] multi-hot. Single-label datasets have exactly one 1 per row.
/// The dataset owns its tensors.
/// </summary>
public sealed class ImageDataset : IDisposable
{
    public ImageDataset(string name, Tensor images, Tensor labels, IReadOnlyList<string>? classNames = null)
    {
        if (images.dim() != 4) throw new ArgumentException($"images must be [N,C,H,W], got [{string.Join(",", images.shape)}]");
        if (labels.dim() != 2 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"labels must be [N,numClasses] with N={images.shape[0]}, got [{string.Join(",", labels.shape)}]");
        Name = name;
        Images = images.dtype == ScalarType.Float32 ? images : images.to_type(ScalarType.Float32);
        Labels = labels.dtype == ScalarType.Float32 ? labels : labels.to_type(ScalarType.Float32);
        int c = (int)labels.shape[1];
        ClassNames = classNames ?? Enumerable.Range(0, c).Select(i => i.ToString()).ToArray();
        if (ClassNames.Count != c) throw new ArgumentException($"{ClassNames.Count} class names for {c} classes");
    }

    public string Name { get; }
    public Tensor Images { get; }
    public Tensor Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }

    public int Count => (int)Images.shape[0];
    public int Channels => (int)Images.shape[1];
    public int Height => (int)Images.shape[2];
    public int Width => (int)Images.shape[3];
    public int NumClasses => (int)Labels.shape[1];

    /// <summary>A new dataset with the rows at <paramref name="indices"/> (copies).</summary>
    public ImageDataset Subset(long[] indices, string? name = null)
    {
        using var idx = tensor(indices, ScalarType.Int64);
        return new ImageDataset(name ?? Name, Images.index_select(0, idx), Labels.index_select(0, idx), ClassNames);
    }

    /// <summary>Labels as a managed array [N, numClasses] of 0/1 bytes.</summary>
    public byte[] LabelBytes()
    {
        using var b = Labels.to_type(ScalarType.Byte).contiguous();
        return b.data<byte>().ToArray();
    }

    /// <summary>Index of the single label of each row; throws when a row is not single-label.</summary>
    public int[] SingleLabels()
    {
        using var sums = Labels.sum(1);
        using var bad = sums.ne(1).any();
        if (bad.item<bool>()) throw new InvalidOperationException($"{Name} is multi-label; no single label per image");
        using var am = Labels.argmax(1).to_type(ScalarType.Int32);
        return am.data<int>().ToArray();
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
