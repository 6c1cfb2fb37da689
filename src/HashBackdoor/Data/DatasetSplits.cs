namespace HashBackdoor.Data;

/// <summary>
/// A loaded dataset: its training split, its test split (absent for a single-pool dataset such as
/// <c>folder:DIR</c> without a test folder), a name, a one-line description and the SHA-256 of every source file.
/// Owns both splits.
/// </summary>
public sealed class DatasetSplits : IDisposable
{
    /// <summary>Creates the splits; <paramref name="test"/> null means a single pool held in <paramref name="train"/>.</summary>
    public DatasetSplits(string name, string spec, string description, ImageDataset train, ImageDataset? test,
        IReadOnlyDictionary<string, string>? checksums = null)
    {
        if (test != null)
        {
            if (test.NumClasses != train.NumClasses)
                throw new ArgumentException($"train has {train.NumClasses} classes, test {test.NumClasses}");
            if (test.Channels != train.Channels || test.Height != train.Height || test.Width != train.Width)
                throw new ArgumentException("train and test images differ in shape");
        }
        Name = name;
        Spec = spec;
        Description = description;
        Train = train;
        Test = test;
        Checksums = checksums ?? new SortedDictionary<string, string>(StringComparer.Ordinal);
    }

    /// <summary>Short dataset name ("fashion-mnist", "mnist", "cifar10", "folder", "list", "synthetic"), used in
    /// protocol names such as "fashion-mnist/q100-t500".</summary>
    public string Name { get; }

    /// <summary>The spec string the dataset was loaded from (see <see cref="DatasetCatalog"/>).</summary>
    public string Spec { get; }

    /// <summary>One line for humans: source, sizes, image shape, classes.</summary>
    public string Description { get; }

    /// <summary>The training split, or the whole pool when <see cref="IsSinglePool"/>.</summary>
    public ImageDataset Train { get; }

    /// <summary>The test split; null for a single-pool dataset.</summary>
    public ImageDataset? Test { get; }

    /// <summary>True when there is no separate test split: the protocol then takes queries from <see cref="Train"/>.</summary>
    public bool IsSinglePool => Test is null;

    /// <summary>SHA-256 (lower-case hex) of each source file, keyed by full path (empty for generated data).</summary>
    public IReadOnlyDictionary<string, string> Checksums { get; }

    /// <summary>Class names (shared by both splits).</summary>
    public IReadOnlyList<string> ClassNames => Train.ClassNames;

    /// <summary>Number of classes.</summary>
    public int NumClasses => Train.NumClasses;

    /// <summary>Disposes both splits.</summary>
    public void Dispose()
    {
        Train.Dispose();
        Test?.Dispose();
    }
}
