using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Data;

/// <summary>
/// Reader of the CIFAR-10 binary version (<c>cifar-10-binary.tar.gz</c>, unpacked): batch files
/// <c>data_batch_1.bin</c> .. <c>data_batch_5.bin</c> (training) and <c>test_batch.bin</c>, each a sequence of
/// 3073-byte records: 1 label byte (0..9) then 3072 pixel bytes, 1024 red, 1024 green, 1024 blue, each 32x32
/// row-major (so CHW). Class names come from <c>batches.meta.txt</c> (one per line) when it is present.
/// </summary>
public static class Cifar10Reader
{
    /// <summary>Bytes per record: 1 label + 3 x 32 x 32 pixels.</summary>
    public const int RecordBytes = 1 + 3 * 32 * 32;

    /// <summary>The training batch file names.</summary>
    public static readonly IReadOnlyList<string> TrainFiles =
        Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").ToArray();

    /// <summary>The test batch file name.</summary>
    public const string TestFile = "test_batch.bin";

    /// <summary>Default class names (as in the dataset's batches.meta.txt).</summary>
    public static readonly IReadOnlyList<string> DefaultClassNames = new[]
    {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    };

    /// <summary>Largest accepted total size of the batch files of one split.</summary>
    const long MaxBytes = 200_000L * RecordBytes;

    /// <summary>
    /// Loads both splits from <paramref name="directory"/> (or its <c>cifar-10-batches-bin</c> subfolder, as the
    /// archive unpacks).
    /// </summary>
    public static DatasetSplits Load(string directory, string? spec = null)
    {
        if (!Directory.Exists(directory)) throw new DataException(directory, "directory not found");
        string dir = directory;
        string sub = Path.Combine(directory, "cifar-10-batches-bin");
        if (!File.Exists(Path.Combine(dir, TrainFiles[0])) && Directory.Exists(sub)) dir = sub;
        var names = ReadClassNames(dir);
        var sums = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string meta = Path.Combine(dir, "batches.meta.txt");
        if (File.Exists(meta)) sums[Path.GetFullPath(meta)] = DatasetChecksum.OfFile(meta);
        var train = LoadBatches(TrainFiles.Select(f => Path.Combine(dir, f)).ToArray(), "cifar10/train", names, sums);
        try
        {
            var test = LoadBatches(new[] { Path.Combine(dir, TestFile) }, "cifar10/test", names, sums);
            string desc = $"CIFAR-10 ({Path.GetFullPath(dir)}): {train.Count} train / {test.Count} test, 32x32 RGB, 10 classes";
            return new DatasetSplits("cifar10", spec ?? $"cifar10:{directory}", desc, train, test, sums);
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    /// <summary>Class names from <c>batches.meta.txt</c> in <paramref name="dir"/> (10 non-empty lines), or
    /// <see cref="DefaultClassNames"/> when the file is absent.</summary>
    public static IReadOnlyList<string> ReadClassNames(string dir)
    {
        string meta = Path.Combine(dir, "batches.meta.txt");
        if (!File.Exists(meta)) return DefaultClassNames;
        var text = Encoding.UTF8.GetString(SourceFile.ReadAll(meta, 1 << 20, "CIFAR-10 class names file"));
        var names = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != 10)
            throw new DataException(meta, $"has {names.Length} class names, expected 10 (one per line)");
        if (names.Distinct(StringComparer.Ordinal).Count() != 10)
            throw new DataException(meta, "class names are not distinct");
        return names;
    }

    /// <summary>
    /// Loads batch files (in the given order) into one 3-channel 32x32 <see cref="ImageDataset"/> with one-hot
    /// labels. Every file must exist, be non-empty, have a length that is a multiple of 3073, and labels 0..9.
    /// </summary>
    /// <param name="files">Batch files.</param>
    /// <param name="name">Dataset name.</param>
    /// <param name="classNames">Class names (default <see cref="DefaultClassNames"/>).</param>
    /// <param name="checksums">When not null, receives each file's SHA-256 keyed by full path.</param>
    public static ImageDataset LoadBatches(IReadOnlyList<string> files, string name = "cifar10",
        IReadOnlyList<string>? classNames = null, IDictionary<string, string>? checksums = null)
    {
        classNames ??= DefaultClassNames;
        if (classNames.Count != 10) throw new ArgumentException("CIFAR-10 has 10 classes", nameof(classNames));
        if (files.Count == 0) throw new ArgumentException("no batch files", nameof(files));
        // Validate every length before reading or allocating anything.
        long total = 0;
        foreach (var f in files)
        {
            if (!File.Exists(f))
                throw new DataException(f, Directory.Exists(f) ? "is a directory, expected a CIFAR-10 batch file"
                    : "missing CIFAR-10 batch file (expected data_batch_1..5.bin and test_batch.bin)");
            long len = new FileInfo(f).Length;
            if (len == 0) throw new DataException(f, "CIFAR-10 batch file is empty");
            if (len % RecordBytes != 0)
                throw new DataException(f, $"length {len} is not a multiple of the {RecordBytes}-byte record (1 label + 3072 pixels): truncated or not a CIFAR-10 binary batch");
            total += len;
            if (total > MaxBytes) throw new DataException(f, $"CIFAR-10 batches exceed {MaxBytes / RecordBytes} records");
        }
        byte[] all = new byte[total];
        long off = 0;
        foreach (var f in files)
        {
            byte[] b = SourceFile.ReadAll(f, MaxBytes, "CIFAR-10 batch file");
            if (b.Length % RecordBytes != 0 || b.Length == 0 || off + b.Length > total)
                throw new DataException(f, "file changed while being read");
            int records = b.Length / RecordBytes;
            for (int r = 0; r < records; r++)
            {
                byte lab = b[r * RecordBytes];
                if (lab >= 10) throw new DataException(f, $"record {r}: label {lab} is out of range (expected 0..9)");
            }
            checksums?.TryAdd(Path.GetFullPath(f), DatasetChecksum.OfBytes(b));
            b.CopyTo(all, off);
            off += b.Length;
        }
        long n = total / RecordBytes;
        using var raw = torch.tensor(all, new long[] { n, RecordBytes });
        using var lab8 = raw.narrow(1, 0, 1).reshape(n);
        using var lab64 = lab8.to_type(ScalarType.Int64);
        using var oh = torch.nn.functional.one_hot(lab64, 10);
        var y = oh.to_type(ScalarType.Float32);
        using var pix = raw.narrow(1, 1, RecordBytes - 1).reshape(n, 3, 32, 32);
        var x = pix.to_type(ScalarType.Float32).div_(255f);
        return new ImageDataset(name, x, y, classNames);
    }
}
