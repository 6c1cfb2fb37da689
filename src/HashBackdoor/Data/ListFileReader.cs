using System.Text;

namespace HashBackdoor.Data;

/// <summary>
/// Reader of the list files used in the deep-hashing literature (NUS-WIDE, MS-COCO, ImageNet-100 lists of DPSH,
/// HashNet, DSDH...): one image per line, <c>relative/path l0 l1 ... lC-1</c>, fields separated by spaces or tabs,
/// each label 0 or 1 (multi-hot). Paths are relative to a root directory (an absolute path is used as is).
/// Blank lines are skipped; every other line must have the same number of labels as the first, and at least one 1.
/// Images are decoded with <see cref="ImageFileDecoder"/>.
/// </summary>
public static class ListFileReader
{
    /// <summary>Largest accepted list file (bytes).</summary>
    const long MaxListBytes = 1L << 30;

    /// <summary>Parses a list file without touching the images.</summary>
    /// <param name="listPath">The list file.</param>
    /// <param name="numClasses">Expected number of labels per line; null: the first entry's count.</param>
    /// <returns>The entries' relative paths, their 1-based line numbers, and the labels row-major [N, C] as 0/1 bytes.</returns>
    public static ListFileEntries Parse(string listPath, int? numClasses = null)
    {
        byte[] bytes = SourceFile.ReadAll(listPath, MaxListBytes, "list file");
        string sha = DatasetChecksum.OfBytes(bytes);
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException e) { throw new DataException(listPath, $"not UTF-8 text: {SourceFile.OneLine(e.Message)}", e); }
        var paths = new List<string>();
        var lines = new List<int>();
        var labels = new List<byte>();
        int c = numClasses ?? -1;
        int firstLine = 0;
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.AsSpan().Trim();
            if (line.IsEmpty) continue;
            var fields = line.ToString().Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2)
                throw new DataException(listPath, $"line {lineNo}: expected 'path l0 l1 ...' but found no labels");
            int k = fields.Length - 1;
            if (c < 0) { c = k; firstLine = lineNo; }
            else if (k != c)
                throw new DataException(listPath, $"line {lineNo}: {k} labels, expected {c}" + (firstLine > 0 ? $" (as on line {firstLine})" : ""));
            bool any = false;
            for (int j = 0; j < k; j++)
            {
                string v = fields[j + 1];
                if (v == "1") { labels.Add(1); any = true; }
                else if (v == "0") labels.Add(0);
                else throw new DataException(listPath, $"line {lineNo}: label {j} is '{Trunc(v)}', expected 0 or 1");
            }
            if (!any) throw new DataException(listPath, $"line {lineNo}: no label set (every image needs at least one 1)");
            paths.Add(fields[0]);
            lines.Add(lineNo);
        }
        if (paths.Count == 0) throw new DataException(listPath, "list file has no entries (empty)");
        return new ListFileEntries(paths, lines, labels.ToArray(), c, sha);
    }

    static string Trunc(string s) => s.Length <= 20 ? s : s[..20] + "...";

    /// <summary>
    /// Loads a list file's images and multi-hot labels into an <see cref="ImageDataset"/>.
    /// Every listed image must exist (checked before any is decoded).
    /// </summary>
    /// <param name="root">Directory the listed paths are relative to.</param>
    /// <param name="listPath">The list file.</param>
    /// <param name="options">Target size and channels.</param>
    /// <param name="classNames">Class names; when given, each line must have this many labels.</param>
    /// <param name="numClasses">Expected labels per line when <paramref name="classNames"/> is null (null: from the first line).</param>
    /// <param name="name">Dataset name (default: the list file's name without extension).</param>
    /// <param name="checksums">When not null, receives the SHA-256 of the list file and of every image, by full path.</param>
    public static ImageDataset Load(string root, string listPath, ImageLoadOptions? options = null,
        IReadOnlyList<string>? classNames = null, int? numClasses = null, string? name = null,
        IDictionary<string, string>? checksums = null)
    {
        options ??= new ImageLoadOptions();
        options.Validate();
        if (!Directory.Exists(root)) throw new DataException(root, "image root directory not found");
        var e = Parse(listPath, classNames?.Count ?? numClasses);
        string listName = Path.GetFileName(listPath);
        var full = new string[e.Paths.Count];
        for (int i = 0; i < full.Length; i++)
        {
            string p;
            try { p = Path.Combine(root, e.Paths[i]); }
            catch (ArgumentException ex) { throw new DataException(listPath, $"line {e.Lines[i]}: invalid path '{e.Paths[i]}'", ex); }
            if (!File.Exists(p))
                throw new DataException(listPath, $"line {e.Lines[i]}: image {e.Paths[i]} not found (looked at {p})");
            full[i] = p;
        }
        var sha = checksums != null ? new string[full.Length] : null;
        var x = ImageFileDecoder.LoadMany(full, options, sha, i => $"listed on {listName} line {e.Lines[i]}");
        try
        {
            var y = ImageTensors.MultiHot(e.Labels, e.Paths.Count, e.NumClasses);
            if (checksums != null)
            {
                checksums[Path.GetFullPath(listPath)] = e.Sha256;
                for (int i = 0; i < full.Length; i++) checksums[Path.GetFullPath(full[i])] = sha![i];
            }
            return new ImageDataset(name ?? Path.GetFileNameWithoutExtension(listPath), x, y, classNames);
        }
        catch
        {
            x.Dispose();
            throw;
        }
    }
}

/// <summary>The parsed content of a list file.</summary>
/// <param name="Paths">Image paths as written (relative to the root).</param>
/// <param name="Lines">1-based line number of each entry.</param>
/// <param name="Labels">Multi-hot labels, row-major [Paths.Count, NumClasses], 0/1 bytes.</param>
/// <param name="NumClasses">Labels per line.</param>
/// <param name="Sha256">SHA-256 (hex) of the list file.</param>
public sealed record ListFileEntries(IReadOnlyList<string> Paths, IReadOnlyList<int> Lines, byte[] Labels, int NumClasses, string Sha256);
