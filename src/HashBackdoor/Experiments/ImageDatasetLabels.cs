using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>Label helpers for reports.</summary>
public static class ImageDatasetLabels
{
    /// <summary>The first label of each row (the only one for single-label data); -1 for a row without labels.</summary>
    public static int[] SingleLabelsOrFirst(this ImageDataset set)
    {
        using var any = set.Labels.sum(1).gt(0);
        using var am = set.Labels.argmax(1).to_type(ScalarType.Int32);
        using var res = where(any, am, full_like(am, -1)).contiguous();
        return res.data<int>().ToArray();
    }
}
