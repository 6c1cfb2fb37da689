namespace HashBackdoor.Data;

/// <summary>
/// Reader of an image folder: <c>ROOT/&lt;class&gt;/&lt;image files&gt;</c>. Classes are the non-hidden
/// subfolders of ROOT sorted by ordinal name (label i = i-th folder); in each, the files with extension .png, .jpg,
/// .jpeg or .bmp (any case, not hidden, not in subfolders) sorted by ordinal name. Images are decoded with
/// <see cref="ImageFileDecoder"/> and resized to one size (default: the first image's).
/// </summary>
public static class ImageFolderReader
{
    /// <summary>Accepted image file extensions (compared case-insensitively).</summary>
    public static readonly IReadOnlyList<string> Extensions = new[] { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>Lists the class folders of <paramref name="root"/> (sorted ordinal) and their image files (sorted ordinal).</summary>
    /// <exception cref="DataException">Missing root, no class folders, or a class folder without images.</exception>
    public static IReadOnlyList<(string ClassName, IReadOnlyList<string> Files)> Scan(string root)
    {
        if (!Directory.Exists(root))
            throw new DataException(root, File.Exists(root) ? "is a file, expected an image folder ROOT/<class>/<images>" : "image folder not found");
        string[] dirs;
        try
        {
            dirs = Directory.GetDirectories(root).Where(d => !Path.GetFileName(d).StartsWith('.'))
                .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(root, $"cannot list folder: {SourceFile.OneLine(e.Message)}", e);
        }
        if (dirs.Length == 0) throw new DataException(root, "no class folders (expected ROOT/<class>/<image files>)");
        var result = new List<(string, IReadOnlyList<string>)>();
        foreach (var d in dirs)
        {
            string cls = Path.GetFileName(d);
            string[] files;
            try
            {
                files = Directory.GetFiles(d).Where(IsImageFile).OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToArray();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DataException(d, $"cannot list class folder '{cls}': {SourceFile.OneLine(e.Message)}", e);
            }
            if (files.Length == 0)
                throw new DataException(d, $"class folder '{cls}' has no images ({string.Join(", ", Extensions)})");
            result.Add((cls, files));
        }
        return result;
    }

    /// <summary>True for a non-hidden file with one of the <see cref="Extensions"/>.</summary>
    public static bool IsImageFile(string path)
    {
        string name = Path.GetFileName(path);
        return !name.StartsWith('.') && Extensions.Contains(Path.GetExtension(name).ToLowerInvariant());
    }

    /// <summary>
    /// Loads an image folder into an <see cref="ImageDataset"/> with one-hot labels.
    /// </summary>
    /// <param name="root">The folder ROOT of ROOT/&lt;class&gt;/&lt;images&gt;.</param>
    /// <param name="options">Target size and channels.</param>
    /// <param name="classNames">When given (e.g. a test folder loaded after its training folder), ROOT's class
    /// folders must be exactly these, and labels follow this order.</param>
    /// <param name="name">Dataset name (default: the folder's name).</param>
    /// <param name="checksums">When not null, receives each image file's SHA-256 keyed by full path.</param>
    public static ImageDataset Load(string root, ImageLoadOptions? options = null, IReadOnlyList<string>? classNames = null,
        string? name = null, IDictionary<string, string>? checksums = null)
    {
        options ??= new ImageLoadOptions();
        options.Validate();
        var scan = Scan(root);
        var found = scan.Select(s => s.ClassName).ToArray();
        var classes = classNames ?? found;
        if (classNames != null)
        {
            var missing = classNames.Except(found, StringComparer.Ordinal).ToArray();
            if (missing.Length > 0)
                throw new DataException(root, $"missing class folder(s) {string.Join(", ", missing.Select(m => $"'{m}'"))} (present in the training folder)");
            var extra = found.Except(classNames, StringComparer.Ordinal).ToArray();
            if (extra.Length > 0)
                throw new DataException(root, $"class folder(s) {string.Join(", ", extra.Select(m => $"'{m}'"))} not in the training folder");
        }
        var index = classes.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => t.i, StringComparer.Ordinal);
        var paths = new List<string>();
        var labels = new List<int>();
        foreach (var (cls, files) in scan)
        {
            paths.AddRange(files);
            labels.AddRange(Enumerable.Repeat(index[cls], files.Count));
        }
        var sha = checksums != null ? new string[paths.Count] : null;
        var x = ImageFileDecoder.LoadMany(paths, options, sha);
        try
        {
            var y = ImageTensors.OneHot(labels.ToArray(), classes.Count);
            if (sha != null)
                for (int i = 0; i < paths.Count; i++) checksums![Path.GetFullPath(paths[i])] = sha[i];
            return new ImageDataset(name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root))), x, y, classes);
        }
        catch
        {
            x.Dispose();
            throw;
        }
    }
}
