namespace HashBackdoor.Data;

/// <summary>
/// Loads a directory holding the four MNIST-layout IDX files — <c>train-images-idx3-ubyte</c>,
/// <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c> — each raw or with a
/// <c>.gz</c> suffix (the raw name is preferred when both exist; the LeCun site's "train-images.idx3-ubyte" spelling
/// is accepted too). Shared by <see cref="FashionMnist"/> and <see cref="Mnist"/>.
/// </summary>
public static class MnistFiles
{
    /// <summary>The four base file names, in the order train images, train labels, test images, test labels.</summary>
    public static readonly IReadOnlyList<string> BaseNames =
        new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

    /// <summary>Finds a file of <see cref="BaseNames"/> in <paramref name="dir"/>; a missing one is a
    /// <see cref="DataException"/> naming the expected path.</summary>
    public static string Find(string dir, string baseName, string? hint = null)
    {
        string dotted = baseName.Replace("-idx", ".idx");
        foreach (var cand in new[] { baseName, baseName + ".gz", dotted, dotted + ".gz" })
        {
            string p = Path.Combine(dir, cand);
            if (File.Exists(p)) return p;
        }
        throw new DataException(Path.Combine(dir, baseName + ".gz"), $"missing IDX file (looked for {baseName} and {baseName}.gz){hint}");
    }

    /// <summary>Loads both splits of an MNIST-layout directory.</summary>
    /// <param name="dir">Directory with the four files.</param>
    /// <param name="name">Dataset name.</param>
    /// <param name="spec">Spec string recorded in the result.</param>
    /// <param name="title">Human name used in the description.</param>
    /// <param name="classNames">Class names (their count is the number of classes).</param>
    /// <param name="missingHint">Appended to the "missing" error messages (e.g. how to install the files).</param>
    public static DatasetSplits Load(string dir, string name, string spec, string title, IReadOnlyList<string> classNames,
        string? missingHint = null)
    {
        if (!Directory.Exists(dir))
            throw new DataException(dir, $"directory not found{missingHint}");
        var f = BaseNames.Select(b => Find(dir, b, missingHint)).ToArray();
        var sums = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var train = IdxReader.Load(f[0], f[1], $"{name}/train", classNames, checksums: sums);
        try
        {
            var test = IdxReader.Load(f[2], f[3], $"{name}/test", classNames, checksums: sums);
            if (test.Height != train.Height || test.Width != train.Width)
            {
                test.Dispose();
                throw new DataException(f[2], $"test images are {test.Height}x{test.Width} but training images are {train.Height}x{train.Width}");
            }
            string desc = $"{title} ({Path.GetFullPath(dir)}): {train.Count} train / {test.Count} test, " +
                          $"{train.Height}x{train.Width} grey, {classNames.Count} classes";
            return new DatasetSplits(name, spec, desc, train, test, sums);
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }
}
