using System.IO.Compression;

namespace HashBackdoor.Data;

/// <summary>
/// Reads a dataset source file whole, with every I/O failure turned into a one-line <see cref="DataException"/>,
/// and its SHA-256 taken from the very bytes that are parsed (so the recorded checksum always matches what was loaded).
/// </summary>
internal static class SourceFile
{
    /// <summary>Reads all bytes of <paramref name="path"/>, refusing files larger than <paramref name="maxBytes"/>
    /// before reading them.</summary>
    public static byte[] ReadAll(string path, long maxBytes, string what = "file")
    {
        FileInfo info;
        try { info = new FileInfo(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException or IOException)
        {
            throw new DataException(path, $"invalid path: {e.Message}", e);
        }
        if (!info.Exists)
            throw new DataException(path, Directory.Exists(path) ? "is a directory, expected a file" : $"{what} not found");
        if (info.Length > maxBytes)
            throw new DataException(path, $"{what} is too large ({info.Length} bytes; at most {maxBytes} expected)");
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(path, $"cannot read {what}: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>True when the bytes start with the gzip magic 1f 8b (the file name is not consulted).</summary>
    public static bool IsGzip(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;

    /// <summary>A stream over the file's content: decompressing when the bytes are gzip, raw otherwise.</summary>
    public static Stream OpenContent(byte[] fileBytes) =>
        IsGzip(fileBytes)
            ? new GZipStream(new MemoryStream(fileBytes, writable: false), CompressionMode.Decompress)
            : new MemoryStream(fileBytes, writable: false);

    /// <summary>The gzip trailer's ISIZE field (uncompressed length mod 2^32), a size hint only.</summary>
    public static uint GzipSizeHint(byte[] fileBytes) =>
        fileBytes.Length >= 18 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(fileBytes.AsSpan(fileBytes.Length - 4)) : 0;

    /// <summary>Collapses a message to one line.</summary>
    public static string OneLine(string s) => s.Replace("\r", " ").Replace("\n", " ").Trim();
}
