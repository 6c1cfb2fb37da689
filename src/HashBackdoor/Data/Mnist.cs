namespace HashBackdoor.Data;

/// <summary>MNIST (LeCun et al.) handwritten digits, from a user directory holding the four IDX files
/// (see <see cref="MnistFiles"/> for the names).</summary>
public static class Mnist
{
    /// <summary>Class names "0".."9".</summary>
    public static readonly IReadOnlyList<string> ClassNames = Enumerable.Range(0, 10).Select(i => i.ToString()).ToArray();

    /// <summary>Loads both splits from <paramref name="directory"/>.</summary>
    public static DatasetSplits Load(string directory, string? spec = null) =>
        MnistFiles.Load(directory, "mnist", spec ?? $"mnist:{directory}", "MNIST", ClassNames);
}
