using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace HashBackdoor.Retrieval;

/// <summary>
/// Reads and writes NumPy .npy files: format versions 1.0, 2.0 (and 3.0, which only changes the header encoding),
/// little-endian element types <c>|u1 |b1 &lt;i4 &lt;i8 &lt;f4 &lt;f8</c>, C order, 1-D and 2-D arrays.
/// </summary>
/// <remarks>
/// Reading is strict and never trusts the header: the header length is checked against the file length before it is
/// read, and the data size implied by the header's shape must equal the bytes left in the file exactly before any
/// array is allocated. Every problem (missing file, bad magic, unsupported version, dtype, Fortran order or rank, a
/// malformed header, a shape that does not match the file length, a truncated file) raises a
/// <see cref="DataException"/> whose message starts with the file's path. Writing goes through
/// <see cref="AtomicFile.Write"/>, with the header padded so that the data starts at a multiple of 64 bytes.
/// </remarks>
public static class NpyFile
{
    static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    /// <summary>Headers larger than this are rejected as implausible (ours are under 128 bytes).</summary>
    const int MaxHeaderBytes = 1 << 20;

    // ------------------------------------------------------------------ reading

    /// <summary>Reads a whole .npy file.</summary>
    /// <exception cref="DataException">The file is missing, unreadable, malformed or of an unsupported kind.</exception>
    public static NpyArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".npy reading needs a little-endian machine");
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataException(path, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(path, $"cannot open: {e.Message}", e);
        }
        using (fs)
        {
            try
            {
                return ReadFrom(fs, path);
            }
            catch (IOException e)
            {
                throw new DataException(path, $"read error: {e.Message}", e);
            }
        }
    }

    /// <summary>Reads a 2-D uint8 array (e.g. FAISS binary codes): returns the row-major bytes and the shape.</summary>
    /// <exception cref="DataException">Not a 2-D uint8 array, or any error of <see cref="Read"/>.</exception>
    public static byte[] ReadUInt8Matrix(string path, out int rows, out int columns)
    {
        NpyArray a = Read(path).Require2D();
        if (a.DType != NpyDType.UInt8)
            throw new DataException(path, $"expected dtype uint8 (|u1), found {Descr(a.DType)}");
        rows = a.Rows;
        columns = a.Columns;
        return a.AsBytes();
    }

    static NpyArray ReadFrom(FileStream fs, string path)
    {
        long length = fs.Length;
        Span<byte> pre = stackalloc byte[12];
        int got = ReadUpTo(fs, pre[..Math.Min(10, (int)Math.Min(length, 10))]);
        if (got < Magic.Length || !pre[..Magic.Length].SequenceEqual(Magic))
            throw new DataException(path, "not a .npy file (bad magic bytes)");
        if (got < 10) throw new DataException(path, $"truncated: {length} bytes is too short for a .npy preamble");
        int major = pre[6], minor = pre[7];
        if (major is < 1 or > 3 || minor != 0)
            throw new DataException(path, $"unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are read)");
        long headerLen;
        int headerStart;
        if (major == 1)
        {
            headerLen = pre[8] | (pre[9] << 8);
            headerStart = 10;
        }
        else
        {
            if (length < 12) throw new DataException(path, $"truncated: {length} bytes is too short for a version {major} preamble");
            fs.ReadExactly(pre.Slice(10, 2));
            headerLen = (uint)(pre[8] | (pre[9] << 8) | (pre[10] << 16) | (pre[11] << 24));
            headerStart = 12;
        }
        if (headerLen > MaxHeaderBytes)
            throw new DataException(path, $"header length {headerLen} bytes is implausibly large");
        if (headerStart + headerLen > length)
            throw new DataException(path, $"truncated: header says {headerLen} header bytes but the file has {length} bytes in all");
        var headerBytes = new byte[headerLen];
        fs.ReadExactly(headerBytes);
        string header = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);

        (string descr, bool fortran, long[] shape) = HeaderParser.Parse(header, path);
        NpyDType dtype = ParseDescr(descr, path);
        if (fortran) throw new DataException(path, "Fortran-order (column-major) arrays are not supported; save with C order");
        if (shape.Length is < 1 or > 2)
            throw new DataException(path, $"shape {FormatShape(shape)}: only 1-D and 2-D arrays are supported");

        int itemSize = ItemSize(dtype);
        long dataBytes = length - headerStart - headerLen;
        long elements;
        try
        {
            elements = 1;
            foreach (long d in shape) elements = checked(elements * d);
            long needed = checked(elements * itemSize);
            if (needed != dataBytes)
                throw new DataException(path, needed > dataBytes
                    ? $"truncated: shape {FormatShape(shape)} of {descr} needs {needed} data bytes but the file has {dataBytes}"
                    : $"shape {FormatShape(shape)} of {descr} needs {needed} data bytes but the file has {dataBytes} (trailing bytes)");
        }
        catch (OverflowException)
        {
            throw new DataException(path, $"shape {FormatShape(shape)} is impossibly large for a file of {length} bytes");
        }
        if (elements > Array.MaxLength || shape.Any(d => d > int.MaxValue))
            throw new DataException(path, $"shape {FormatShape(shape)} has more elements than one array can hold");

        int[] intShape = shape.Select(d => (int)d).ToArray();
        int n = (int)elements;
        Array data = dtype switch
        {
            NpyDType.UInt8 or NpyDType.Bool => ReadData<byte>(fs, n),
            NpyDType.Int32 => ReadData<int>(fs, n),
            NpyDType.Int64 => ReadData<long>(fs, n),
            NpyDType.Float32 => ReadData<float>(fs, n),
            NpyDType.Float64 => ReadData<double>(fs, n),
            _ => throw new InvalidOperationException(),
        };
        return new NpyArray(path, dtype, intShape, data);
    }

    static int ReadUpTo(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int r = s.Read(buffer[total..]);
            if (r == 0) break;
            total += r;
        }
        return total;
    }

    static T[] ReadData<T>(Stream s, int count) where T : unmanaged
    {
        var data = new T[count];
        const int Chunk = 1 << 20; // elements per read, so that the byte span never exceeds int.MaxValue
        for (int start = 0; start < count; start += Chunk)
        {
            int len = Math.Min(Chunk, count - start);
            s.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan(start, len)));
        }
        return data;
    }

    static NpyDType ParseDescr(string descr, string path)
    {
        // descr is a byte-order character then a kind and size: '|' (not applicable), '<' (little), '=' (native, little
        // here) or '>' (big). For one-byte types the order is irrelevant.
        if (descr.Length == 3 && descr[0] is '<' or '|' or '=' or '>')
        {
            NpyDType? t = descr[1..] switch
            {
                "u1" => NpyDType.UInt8,
                "b1" => NpyDType.Bool,
                "i4" => NpyDType.Int32,
                "i8" => NpyDType.Int64,
                "f4" => NpyDType.Float32,
                "f8" => NpyDType.Float64,
                _ => null,
            };
            if (t is NpyDType dt)
            {
                if (descr[0] == '>' && ItemSize(dt) > 1)
                    throw new DataException(path, $"dtype '{descr}' is big-endian; only little-endian data is supported");
                if (descr[0] == '|' && ItemSize(dt) > 1)
                    throw new DataException(path, $"dtype '{descr}' has no byte order; expected '<{descr[1..]}'");
                return dt;
            }
        }
        throw new DataException(path, $"unsupported dtype '{descr}' (supported: |u1 |b1 <i4 <i8 <f4 <f8)");
    }

    /// <summary>Bytes per element of <paramref name="dtype"/>.</summary>
    public static int ItemSize(NpyDType dtype) => dtype switch
    {
        NpyDType.UInt8 or NpyDType.Bool => 1,
        NpyDType.Int32 or NpyDType.Float32 => 4,
        NpyDType.Int64 or NpyDType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The numpy descr string of <paramref name="dtype"/>, e.g. <c>&lt;f4</c>.</summary>
    public static string Descr(NpyDType dtype) => dtype switch
    {
        NpyDType.UInt8 => "|u1",
        NpyDType.Bool => "|b1",
        NpyDType.Int32 => "<i4",
        NpyDType.Int64 => "<i8",
        NpyDType.Float32 => "<f4",
        NpyDType.Float64 => "<f8",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    internal static string FormatShape<T>(IReadOnlyList<T> shape) =>
        shape.Count == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";

    // ------------------------------------------------------------------ writing

    /// <summary>Writes a uint8 array (<c>|u1</c>) of the given 1-D or 2-D shape, atomically.</summary>
    public static void Write(string path, byte[] data, params int[] shape) => WriteCore(path, NpyDType.UInt8, data, shape);

    /// <summary>Writes a bool array (<c>|b1</c>; every byte must be 0 or 1), atomically.</summary>
    public static void WriteBool(string path, byte[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (Array.FindIndex(data, b => b > 1) is int bad and >= 0)
            throw new UsageException($"bool array element {bad} is {data[bad]}, not 0 or 1");
        WriteCore(path, NpyDType.Bool, data, shape);
    }

    /// <summary>Writes an int32 array (<c>&lt;i4</c>) of the given 1-D or 2-D shape, atomically.</summary>
    public static void Write(string path, int[] data, params int[] shape) => WriteCore(path, NpyDType.Int32, data, shape);

    /// <summary>Writes an int64 array (<c>&lt;i8</c>) of the given 1-D or 2-D shape, atomically.</summary>
    public static void Write(string path, long[] data, params int[] shape) => WriteCore(path, NpyDType.Int64, data, shape);

    /// <summary>Writes a float32 array (<c>&lt;f4</c>) of the given 1-D or 2-D shape, atomically.</summary>
    public static void Write(string path, float[] data, params int[] shape) => WriteCore(path, NpyDType.Float32, data, shape);

    /// <summary>Writes a float64 array (<c>&lt;f8</c>) of the given 1-D or 2-D shape, atomically.</summary>
    public static void Write(string path, double[] data, params int[] shape) => WriteCore(path, NpyDType.Float64, data, shape);

    static void WriteCore<T>(string path, NpyDType dtype, T[] data, int[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".npy writing needs a little-endian machine");
        if (shape.Length is < 1 or > 2) throw new UsageException($"shape {FormatShape(shape)}: only 1-D and 2-D arrays are written");
        long elements = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new UsageException($"shape {FormatShape(shape)}: negative dimension");
            elements *= d;
        }
        if (elements != data.LongLength)
            throw new UsageException($"shape {FormatShape(shape)} holds {elements} elements but {data.LongLength} were given");
        byte[] preamble = BuildPreamble(dtype, shape);
        AtomicFile.Write(path, s =>
        {
            s.Write(preamble);
            const int Chunk = 1 << 20;
            for (int start = 0; start < data.Length; start += Chunk)
                s.Write(MemoryMarshal.AsBytes(data.AsSpan(start, Math.Min(Chunk, data.Length - start))));
        });
    }

    static byte[] BuildPreamble(NpyDType dtype, int[] shape)
    {
        string dict = string.Create(CultureInfo.InvariantCulture,
            $"{{'descr': '{Descr(dtype)}', 'fortran_order': False, 'shape': {FormatShape(shape)}, }}");
        // Version 1.0 keeps the header length in 2 bytes; the preamble is magic(6) + version(2) + length(2) + header.
        int fixedLen = 10;
        int total = fixedLen + dict.Length + 1;                 // + '\n'
        int padded = (total + 63) / 64 * 64;
        string header = dict + new string(' ', padded - total) + "\n";
        var bytes = new byte[fixedLen + header.Length];
        Magic.CopyTo(bytes, 0);
        bytes[6] = 1;
        bytes[7] = 0;
        bytes[8] = (byte)header.Length;
        bytes[9] = (byte)(header.Length >> 8);
        Encoding.Latin1.GetBytes(header, 0, header.Length, bytes, fixedLen);
        return bytes;
    }

    // ------------------------------------------------------------------ header dictionary

    /// <summary>Parses the Python dict literal of a .npy header: exactly the keys descr (str), fortran_order (bool)
    /// and shape (tuple of non-negative ints).</summary>
    sealed class HeaderParser
    {
        readonly string _s;
        readonly string _path;
        int _i;

        HeaderParser(string s, string path)
        {
            _s = s;
            _path = path;
        }

        public static (string Descr, bool Fortran, long[] Shape) Parse(string header, string path)
        {
            var p = new HeaderParser(header, path);
            string? descr = null;
            bool? fortran = null;
            long[]? shape = null;
            p.SkipSpace();
            p.Expect('{');
            while (true)
            {
                p.SkipSpace();
                if (p.TryTake('}')) break;
                string key = p.ParseString();
                p.SkipSpace();
                p.Expect(':');
                p.SkipSpace();
                switch (key)
                {
                    case "descr" when descr is null:
                        descr = p.ParseString();
                        break;
                    case "fortran_order" when fortran is null:
                        fortran = p.ParseBool();
                        break;
                    case "shape" when shape is null:
                        shape = p.ParseShape();
                        break;
                    default:
                        throw p.Fail($"unexpected or repeated key '{key}'");
                }
                p.SkipSpace();
                if (p.TryTake(',')) continue;
                p.Expect('}');
                break;
            }
            p.SkipSpace();
            if (p._i != p._s.Length) throw p.Fail("unexpected text after the dictionary");
            if (descr is null || fortran is null || shape is null)
                throw p.Fail("the keys descr, fortran_order and shape are all required");
            return (descr, fortran.Value, shape);
        }

        DataException Fail(string what) => new(_path, $"malformed .npy header ({what}): {Shorten(_s)}");

        static string Shorten(string s)
        {
            s = s.TrimEnd();
            return s.Length <= 120 ? s : s[..120] + "...";
        }

        void SkipSpace()
        {
            while (_i < _s.Length && (_s[_i] is ' ' or '\t' or '\n' or '\r')) _i++;
        }

        bool TryTake(char c)
        {
            if (_i < _s.Length && _s[_i] == c) { _i++; return true; }
            return false;
        }

        void Expect(char c)
        {
            if (!TryTake(c)) throw Fail($"expected '{c}' at offset {_i}");
        }

        string ParseString()
        {
            if (_i >= _s.Length || (_s[_i] != '\'' && _s[_i] != '"')) throw Fail($"expected a quoted string at offset {_i}");
            char q = _s[_i++];
            int start = _i;
            while (_i < _s.Length && _s[_i] != q)
            {
                if (_s[_i] == '\\') throw Fail("escapes in strings are not supported");
                _i++;
            }
            if (_i >= _s.Length) throw Fail("unterminated string");
            return _s[start.._i++];
        }

        bool ParseBool()
        {
            if (Take("True")) return true;
            if (Take("False")) return false;
            throw Fail($"expected True or False at offset {_i}");
        }

        bool Take(string word)
        {
            if (string.CompareOrdinal(_s, _i, word, 0, word.Length) != 0) return false;
            _i += word.Length;
            return true;
        }

        long[] ParseShape()
        {
            Expect('(');
            var dims = new List<long>();
            while (true)
            {
                SkipSpace();
                if (TryTake(')')) break;
                dims.Add(ParseDim());
                SkipSpace();
                if (TryTake(',')) continue;
                Expect(')');
                break;
            }
            return dims.ToArray();
        }

        long ParseDim()
        {
            int start = _i;
            while (_i < _s.Length && char.IsAsciiDigit(_s[_i])) _i++;
            if (_i == start) throw Fail($"expected a non-negative integer dimension at offset {start}");
            string digits = _s[start.._i];
            TryTake('L'); // Python 2 long suffix
            if (digits.Length > 18) return long.MaxValue; // caught as impossibly large by the size check
            return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        }
    }
}
