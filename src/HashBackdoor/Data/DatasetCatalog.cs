using System.Globalization;

namespace HashBackdoor.Data;

/// <summary>
/// Turns a dataset spec (the <c>--dataset</c> value) into loaded <see cref="DatasetSplits"/>.
/// </summary>
/// <remarks>
/// Specs:
/// <list type="bullet">
/// <item><c>fashion-mnist</c> (default; also empty) or <c>fashion-mnist:DIR</c>: Debian's dataset-fashion-mnist files.</item>
/// <item><c>mnist:DIR</c>: the four MNIST IDX files in DIR (raw or .gz).</item>
/// <item><c>cifar10:DIR</c>: CIFAR-10 binary batches in DIR (or DIR/cifar-10-batches-bin).</item>
/// <item><c>folder:TRAIN_DIR[,TEST_DIR]</c>: image folders ROOT/&lt;class&gt;/&lt;images&gt;; without TEST_DIR a single pool.</item>
/// <item><c>list:ROOT:TRAIN_LIST[,TEST_LIST]</c>: list files of "path l0 .. lC-1" lines, paths relative to ROOT;
/// without TEST_LIST a single pool.</item>
/// <item><c>synthetic:N_PER_CLASS:CLASSES:SIZE[:SEED]</c>: generated patterns (<see cref="SyntheticDataset"/>).</item>
/// </list>
/// Relative paths are relative to the current directory. Paths may not contain ',' (and ROOT of list: not ':').
/// </remarks>
public static class DatasetCatalog
{
    /// <summary>The default spec.</summary>
    public const string Default = "fashion-mnist";

    /// <summary>One kind of dataset spec: the word before the first ':', the form shown in messages (null: not listed,
    /// as the synthetic data of tests), and the loader of (the whole spec, the text after ':' or null, the options).</summary>
    public sealed record DatasetKind(string Name, string? Form, Func<string, string?, DatasetOptions, DatasetSplits> Load);

    /// <summary>The dataset kinds by name (the toolkit's one registry mechanism, <see cref="ExtensionRegistry{T}"/>): a new
    /// dataset is a reader plus one line here, or a <c>Registry.Register</c> call from another assembly.</summary>
    public static readonly ExtensionRegistry<DatasetKind> Registry = CreateRegistry();

    private static ExtensionRegistry<DatasetKind> CreateRegistry()
    {
        var r = new ExtensionRegistry<DatasetKind>("dataset", "dataset", k => k.Name);
        r.Register("fashion-mnist", () => new DatasetKind("fashion-mnist", "fashion-mnist",
            (spec, arg, o) => FashionMnist.Load(string.IsNullOrEmpty(arg) ? o.FashionMnistDirectory : arg, spec)));
        r.Register("mnist", () => new DatasetKind("mnist", "mnist:DIR", (spec, arg, _) => Mnist.Load(RequireArg(spec, arg, "mnist:DIR"), spec)));
        r.Register("cifar10", () => new DatasetKind("cifar10", "cifar10:DIR", (spec, arg, _) => Cifar10Reader.Load(RequireArg(spec, arg, "cifar10:DIR"), spec)));
        r.Register("folder", () => new DatasetKind("folder", "folder:DIR", (spec, arg, o) => LoadFolder(spec, RequireArg(spec, arg, "folder:TRAIN_DIR[,TEST_DIR]"), o)));
        r.Register("list", () => new DatasetKind("list", "list:ROOT:FILE", (spec, arg, o) => LoadList(spec, RequireArg(spec, arg, "list:ROOT:TRAIN_LIST[,TEST_LIST]"), o)));
        r.Register("synthetic", () => new DatasetKind("synthetic", null, (spec, arg, _) => LoadSynthetic(spec, RequireArg(spec, arg, "synthetic:N_PER_CLASS:CLASSES:SIZE[:SEED]"))));
        return r;
    }

    /// <summary>The known spec forms, as listed in the unknown-dataset message.</summary>
    public static string KnownList => string.Join(", ", Registry.Names.Select(n => Registry.Create(n).Form).OfType<string>());

    /// <summary>Loads the dataset named by <paramref name="spec"/>.</summary>
    /// <exception cref="UsageException">Unknown or malformed spec.</exception>
    /// <exception cref="DataException">Missing or damaged source file (message names the file).</exception>
    public static DatasetSplits Load(string? spec = null, DatasetOptions? options = null)
    {
        options ??= new DatasetOptions();
        spec = string.IsNullOrWhiteSpace(spec) ? Default : spec.Trim();
        int colon = spec.IndexOf(':');
        string kind = colon < 0 ? spec : spec[..colon];
        string? arg = colon < 0 ? null : spec[(colon + 1)..];
        // Spec words are case-sensitive (as the paths after them), unlike the registry's names.
        if (Registry.Find(kind)?.Name != kind) throw new UsageException($"dataset {spec}: unknown dataset (known: {KnownList})");
        return Registry.Create(kind).Load(spec, arg, options);
    }

    static string RequireArg(string spec, string? arg, string form)
    {
        if (string.IsNullOrWhiteSpace(arg)) throw new UsageException($"dataset {spec}: missing argument (expected {form})");
        return arg;
    }

    static (string First, string? Second) SplitPair(string spec, string arg, string form)
    {
        var parts = arg.Split(',');
        if (parts.Length > 2 || parts.Any(string.IsNullOrWhiteSpace))
            throw new UsageException($"dataset {spec}: expected {form}");
        return (parts[0], parts.Length == 2 ? parts[1] : null);
    }

    static DatasetSplits LoadFolder(string spec, string arg, DatasetOptions o)
    {
        var (trainDir, testDir) = SplitPair(spec, arg, "folder:TRAIN_DIR[,TEST_DIR]");
        var sums = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var load = o.ImageLoad;
        var train = ImageFolderReader.Load(trainDir, load, name: testDir is null ? "folder/pool" : "folder/train", checksums: sums);
        ImageDataset? test = null;
        try
        {
            if (testDir != null)
                test = ImageFolderReader.Load(testDir, load with { Width = train.Width, Height = train.Height }, train.ClassNames, "folder/test", sums);
            string sizes = test is null ? $"{train.Count} images (single pool)" : $"{train.Count} train / {test.Count} test";
            string desc = $"image folder {Path.GetFullPath(trainDir)}{(testDir is null ? "" : $" + {Path.GetFullPath(testDir)}")}: " +
                          $"{sizes}, {train.Height}x{train.Width} {(train.Channels == 1 ? "grey" : "RGB")}, {train.NumClasses} classes";
            return new DatasetSplits("folder", spec, desc, train, test, sums);
        }
        catch
        {
            train.Dispose();
            test?.Dispose();
            throw;
        }
    }

    static DatasetSplits LoadList(string spec, string arg, DatasetOptions o)
    {
        int colon = arg.IndexOf(':');
        if (colon <= 0 || colon == arg.Length - 1)
            throw new UsageException($"dataset {spec}: expected list:ROOT:TRAIN_LIST[,TEST_LIST]");
        string root = arg[..colon];
        var (trainList, testList) = SplitPair(spec, arg[(colon + 1)..], "list:ROOT:TRAIN_LIST[,TEST_LIST]");
        var sums = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var load = o.ImageLoad;
        var train = ListFileReader.Load(root, trainList, load, name: testList is null ? "list/pool" : "list/train", checksums: sums);
        ImageDataset? test = null;
        try
        {
            if (testList != null)
                test = ListFileReader.Load(root, testList, load with { Width = train.Width, Height = train.Height },
                    numClasses: train.NumClasses, name: "list/test", checksums: sums);
            string sizes = test is null ? $"{train.Count} images (single pool)" : $"{train.Count} train / {test.Count} test";
            string desc = $"list files under {Path.GetFullPath(root)} ({Path.GetFileName(trainList)}{(testList is null ? "" : $", {Path.GetFileName(testList)}")}): " +
                          $"{sizes}, {train.Height}x{train.Width} {(train.Channels == 1 ? "grey" : "RGB")}, {train.NumClasses} classes (multi-label)";
            return new DatasetSplits("list", spec, desc, train, test, sums);
        }
        catch
        {
            train.Dispose();
            test?.Dispose();
            throw;
        }
    }

    static DatasetSplits LoadSynthetic(string spec, string arg)
    {
        const string form = "synthetic:N_PER_CLASS:CLASSES:SIZE[:SEED]";
        var p = arg.Split(':');
        if (p.Length is < 3 or > 4) throw new UsageException($"dataset {spec}: expected {form}");
        int Int(string s, string what) =>
            int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
                ? v : throw new UsageException($"dataset {spec}: {what} '{s}' is not an integer (expected {form})");
        long seed = 0;
        if (p.Length == 4 && !long.TryParse(p[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out seed))
            throw new UsageException($"dataset {spec}: SEED '{p[3]}' is not an integer (expected {form})");
        return SyntheticDataset.Create(Int(p[0], "N_PER_CLASS"), Int(p[1], "CLASSES"), Int(p[2], "SIZE"), seed, spec);
    }
}
