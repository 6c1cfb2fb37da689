namespace HashBackdoor.Data;

/// <summary>Options of <see cref="DatasetCatalog.Load"/>. Each applies only where it says.</summary>
public sealed record DatasetOptions
{
    /// <summary>Image width for <c>folder:</c> and <c>list:</c> datasets; null: the first image's width (or
    /// <see cref="Height"/> when only that is set). Every image is resized to it.</summary>
    public int? Width { get; init; }

    /// <summary>Image height for <c>folder:</c> and <c>list:</c> datasets; null: the first image's height (or
    /// <see cref="Width"/> when only that is set).</summary>
    public int? Height { get; init; }

    /// <summary>Channels for <c>folder:</c> and <c>list:</c> datasets: 3 (RGB, default) or 1 (luminance).</summary>
    public int Channels { get; init; } = 3;

    /// <summary>Directory of the Debian <c>dataset-fashion-mnist</c> files, for the <c>fashion-mnist</c> spec.</summary>
    public string FashionMnistDirectory { get; init; } = FashionMnist.DefaultDirectory;

    /// <summary>Options for the image decoder derived from these options.</summary>
    public ImageLoadOptions ImageLoad => new() { Width = Width, Height = Height, Channels = Channels };
}
