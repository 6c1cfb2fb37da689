namespace HashBackdoor;

/// <summary>
/// Writes files atomically: the content goes to a temporary file in the same folder, which is then renamed over the
/// destination. A reader therefore sees either the old file, the complete new file, or no file; never half of one.
/// A failed write (full disk, permission, cancellation, any exception of the writer) removes its temporary file; a full
/// file system becomes an <see cref="OutOfSpaceException"/> saying how many bytes the file needs and how many are free.
/// </summary>
public static class AtomicFile
{
    /// <summary>Suffix of every temporary file (<c>.NAME.PID.GUID.tmp</c>); a killed process can leave one behind, which
    /// <see cref="SweepTemporaryFiles"/> removes.</summary>
    public const string TemporarySuffix = ".tmp";

    // Test hook (fault injection): called before every chunk written to a temporary file with the destination and the
    // bytes written so far; it may throw (a simulated full disk or kill). Flows with the calling context only.
    private static readonly AsyncLocal<Action<string, long>?> writeHook = new();

    /// <summary>Installs <paramref name="hook"/> for writes made from the current execution context until the returned
    /// object is disposed (fault-injection tests).</summary>
    internal static IDisposable InjectWriteHook(Action<string, long> hook)
    {
        var previous = writeHook.Value;
        writeHook.Value = hook;
        return new Restore(() => writeHook.Value = previous);
    }

    /// <summary>Writes through <paramref name="write"/> into a temporary file, flushes it to disk, then renames it.</summary>
    /// <exception cref="OutOfSpaceException">The file system is full; nothing is left behind.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        string full = System.IO.Path.GetFullPath(path);
        string tmp = TemporaryPathFor(full);
        long written = 0;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var counting = new CountingStream(fs, full, writeHook.Value))
            {
                write(counting);
                written = counting.Written;
                counting.Flush();
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e)
        {
            Delete(tmp);
            if (e is not OutOfSpaceException && DiskSpace.IsOutOfSpace(e)) throw OutOfSpace(full, () => Measure(write, written), e);
            throw;
        }
    }

    /// <summary>Writes through a writer that needs a file name (a library's own save function): <paramref name="write"/>
    /// writes to the temporary path it is given, which is then flushed to disk and renamed over <paramref name="path"/>.</summary>
    /// <exception cref="OutOfSpaceException">The file system is full; nothing is left behind.</exception>
    public static void WriteVia(string path, Action<string> write)
    {
        string full = System.IO.Path.GetFullPath(path);
        string tmp = TemporaryPathFor(full);
        try
        {
            writeHook.Value?.Invoke(full, 0);
            write(tmp);
            using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) fs.Flush(flushToDisk: true);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e)
        {
            long partial = File.Exists(tmp) ? new FileInfo(tmp).Length : 0;
            Delete(tmp);
            // The writer cannot be replayed to measure the whole file: the size of the previous version is the estimate.
            long previous = File.Exists(full) ? new FileInfo(full).Length : 0;
            if (e is not OutOfSpaceException && DiskSpace.IsOutOfSpace(e)) throw new OutOfSpaceException(full, Math.Max(partial, previous), DiskSpace.FreeBytes(full), e, atLeast: true);
            throw;
        }
    }

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { var b = System.Text.Encoding.UTF8.GetBytes(text); s.Write(b); });

    /// <summary>Whether <paramref name="fileName"/> is the name of a temporary file of this class.</summary>
    public static bool IsTemporaryName(string fileName) => fileName.StartsWith('.') && fileName.EndsWith(TemporarySuffix, StringComparison.Ordinal);

    /// <summary>Deletes the temporary files left below <paramref name="dir"/> by killed writers (recursively when
    /// <paramref name="recursive"/>); only call it when no other process can be writing there. Returns how many were removed.</summary>
    public static int SweepTemporaryFiles(string dir, bool recursive = true)
    {
        if (!Directory.Exists(dir)) return 0;
        int n = 0;
        foreach (var f in Directory.EnumerateFiles(dir, "." + "*" + TemporarySuffix, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly))
            if (IsTemporaryName(System.IO.Path.GetFileName(f)) && Delete(f)) n++;
        return n;
    }

    private static string TemporaryPathFor(string full)
    {
        string dir = System.IO.Path.GetDirectoryName(full)!;
        try { Directory.CreateDirectory(dir); }
        catch (IOException e) when (DiskSpace.IsOutOfSpace(e)) { throw new OutOfSpaceException(full, 4096, DiskSpace.FreeBytes(dir), e); }
        return System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}{TemporarySuffix}");
    }

    private static OutOfSpaceException OutOfSpace(string full, Func<long> needed, Exception inner) =>
        new(full, needed(), DiskSpace.FreeBytes(full), inner);

    /// <summary>The size of the whole content: the writer replayed into a stream that only counts (the writers are pure
    /// functions of data in memory); at least what was written before the failure.</summary>
    private static long Measure(Action<Stream> write, long writtenBeforeFailure)
    {
        try
        {
            using var counter = new CountingStream(Stream.Null, "", null);
            write(counter);
            return Math.Max(counter.Written, writtenBeforeFailure);
        }
        catch
        {
            return writtenBeforeFailure;
        }
    }

    private static bool Delete(string tmp)
    {
        try { if (!File.Exists(tmp)) return false; File.Delete(tmp); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; /* best effort */ }
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    /// <summary>Passes writes through to the temporary file, counting bytes and calling the test hook before each chunk.</summary>
    private sealed class CountingStream(Stream inner, string destination, Action<string, long>? hook) : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hook?.Invoke(destination, Written);
            inner.Write(buffer);
            Written += buffer.Length;
        }

        public override void WriteByte(byte value) => Write(new[] { value });
    }
}
