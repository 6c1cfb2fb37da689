namespace HashBackdoor.Data;

/// <summary>How image files (PNG, JPEG, BMP) are turned into tensors by <see cref="ImageFileDecoder"/>,
/// <see cref="ImageFolderReader"/> and <see cref="ListFileReader"/>.</summary>
public sealed record ImageLoadOptions
{
    /// <summary>Largest accepted width or height, of a file or of the target size.</summary>
    public const int MaxSide = 8192;

    /// <summary>Target width; null: the first image's width (or <see cref="Height"/> when only that is set).</summary>
    public int? Width { get; init; }

    /// <summary>Target height; null: the first image's height (or <see cref="Width"/> when only that is set).</summary>
    public int? Height { get; init; }

    /// <summary>3: RGB (default); 1: luminance Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601).</summary>
    public int Channels { get; init; } = 3;

    internal void Validate()
    {
        if (Channels != 1 && Channels != 3) throw new UsageException($"channels {Channels}: must be 1 (grey) or 3 (RGB)");
        if (Width is { } w && (w < 1 || w > MaxSide)) throw new UsageException($"width {w}: must be 1..{MaxSide}");
        if (Height is { } h && (h < 1 || h > MaxSide)) throw new UsageException($"height {h}: must be 1..{MaxSide}");
    }
}
