namespace HashBackdoor.Data;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017), the toolkit's default dataset: 60000 training and 10000 test 28x28 grey images
/// of 10 clothing classes, read from Debian's <c>dataset-fashion-mnist</c> package.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the four gzip'd IDX files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Class names, by label index.</summary>
    public static readonly IReadOnlyList<string> ClassNames = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    /// <summary>Loads both splits from <paramref name="directory"/> (default <see cref="DefaultDirectory"/>).
    /// A missing directory or file is a <see cref="DataException"/> that says how to install the package.</summary>
    public static DatasetSplits Load(string? directory = null, string spec = "fashion-mnist") =>
        MnistFiles.Load(directory ?? DefaultDirectory, "fashion-mnist", spec, "Fashion-MNIST", ClassNames,
            "; install it with `apt-get install dataset-fashion-mnist`");
}
