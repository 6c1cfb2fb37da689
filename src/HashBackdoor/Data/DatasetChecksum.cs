using System.Security.Cryptography;
using System.Text;

namespace HashBackdoor.Data;

/// <summary>
/// SHA-256 checksums of dataset source files, as recorded in <see cref="DatasetSplits.Checksums"/> and written into run
/// folders. Digests are lower-case hex. A manifest is the <c>sha256sum</c> text format ("HEX  PATH" per line, sorted
/// by path, ordinal), so <c>sha256sum -c</c> can check it.
/// </summary>
public static class DatasetChecksum
{
    /// <summary>SHA-256 of a byte block, lower-case hex.</summary>
    public static string OfBytes(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>SHA-256 of a file's content, lower-case hex; a missing or unreadable file is a <see cref="DataException"/>.</summary>
    public static string OfFile(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return Convert.ToHexStringLower(SHA256.HashData(fs));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new DataException(path, $"cannot read: {SourceFile.OneLine(e.Message)}", e);
        }
    }

    /// <summary>Checksums of several files, keyed by full path.</summary>
    public static IReadOnlyDictionary<string, string> OfFiles(IEnumerable<string> paths)
    {
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in paths) d[Path.GetFullPath(p)] = OfFile(p);
        return d;
    }

    /// <summary>The manifest text: one "HEX  PATH" line per file, sorted by path (ordinal), each ending in '\n'.</summary>
    public static string ToManifest(IReadOnlyDictionary<string, string> checksums)
    {
        var sb = new StringBuilder();
        foreach (var kv in checksums.OrderBy(k => k.Key, StringComparer.Ordinal))
            sb.Append(kv.Value).Append("  ").Append(kv.Key).Append('\n');
        return sb.ToString();
    }

    /// <summary>One digest for a whole dataset: SHA-256 of the UTF-8 manifest text (empty map: digest of "").</summary>
    public static string Combined(IReadOnlyDictionary<string, string> checksums) =>
        OfBytes(Encoding.UTF8.GetBytes(ToManifest(checksums)));

    /// <summary>Writes the manifest atomically (see <see cref="AtomicFile"/>).</summary>
    public static void WriteManifest(string path, IReadOnlyDictionary<string, string> checksums) =>
        AtomicFile.WriteAllText(path, ToManifest(checksums));

    /// <summary>Reads a manifest written by <see cref="WriteManifest"/> (or by <c>sha256sum</c>).</summary>
    public static IReadOnlyDictionary<string, string> ReadManifest(string path)
    {
        var text = Encoding.UTF8.GetString(SourceFile.ReadAll(path, 1L << 30, "checksum manifest"));
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            int sep = line.IndexOf(' ');
            if (sep != 64 || line.Length < 67 || !line.AsSpan(0, 64).ContainsOnlyHex() || (line[65] != ' ' && line[65] != '*'))
                throw new DataException(path, $"line {lineNo}: expected '<64 hex digits>  <path>'");
            d[line[66..]] = line[..64].ToLowerInvariant();
        }
        return d;
    }

    /// <summary>Re-hashes every file of a manifest; returns one line per file that is missing or changed
    /// (empty when all match).</summary>
    public static IReadOnlyList<string> Verify(IReadOnlyDictionary<string, string> checksums)
    {
        var problems = new List<string>();
        foreach (var kv in checksums.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            if (!File.Exists(kv.Key)) { problems.Add($"{kv.Key}: missing"); continue; }
            string now = OfFile(kv.Key);
            if (!string.Equals(now, kv.Value, StringComparison.OrdinalIgnoreCase))
                problems.Add($"{kv.Key}: SHA-256 {now}, expected {kv.Value}");
        }
        return problems;
    }
}

internal static class HexExtensions
{
    public static bool ContainsOnlyHex(this ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }
}
