namespace HashBackdoor.Retrieval;

/// <summary>Element types that <see cref="NpyFile"/> reads and writes (all little-endian).</summary>
public enum NpyDType
{
    /// <summary><c>|u1</c>: unsigned byte (<see cref="byte"/>); FAISS binary codes, multi-hot labels.</summary>
    UInt8,
    /// <summary><c>|b1</c>: numpy bool, stored as one byte 0 or 1 (read into <see cref="byte"/>).</summary>
    Bool,
    /// <summary><c>&lt;i4</c>: <see cref="int"/>.</summary>
    Int32,
    /// <summary><c>&lt;i8</c>: <see cref="long"/>; ranked indices.</summary>
    Int64,
    /// <summary><c>&lt;f4</c>: <see cref="float"/>.</summary>
    Float32,
    /// <summary><c>&lt;f8</c>: <see cref="double"/>.</summary>
    Float64,
}

/// <summary>
/// An array read from a .npy file: its element type, shape (1-D or 2-D, C order) and flat row-major data. The data is
/// a <c>byte[]</c> (UInt8, Bool), <c>int[]</c>, <c>long[]</c>, <c>float[]</c> or <c>double[]</c>.
/// </summary>
public sealed class NpyArray
{
    internal NpyArray(string path, NpyDType dtype, int[] shape, Array data)
    {
        Path = path;
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    /// <summary>The file the array came from (used in error messages).</summary>
    public string Path { get; }

    /// <summary>Element type.</summary>
    public NpyDType DType { get; }

    /// <summary>Shape: one or two non-negative dimensions.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Flat row-major data; its runtime type follows <see cref="DType"/>.</summary>
    public Array Data { get; }

    /// <summary>Number of dimensions (1 or 2).</summary>
    public int Rank => Shape.Count;

    /// <summary>Rows: the first dimension.</summary>
    public int Rows => Shape[0];

    /// <summary>Columns: the second dimension, or 1 for a 1-D array.</summary>
    public int Columns => Shape.Count == 2 ? Shape[1] : 1;

    /// <summary>The data as bytes; requires <see cref="NpyDType.UInt8"/> or <see cref="NpyDType.Bool"/>.</summary>
    /// <exception cref="DataException">Another element type.</exception>
    public byte[] AsBytes() => As<byte[]>("uint8 or bool", DType is NpyDType.UInt8 or NpyDType.Bool);

    /// <summary>The data as <see cref="int"/>; requires <see cref="NpyDType.Int32"/>.</summary>
    public int[] AsInt32() => As<int[]>("int32 (<i4)", DType == NpyDType.Int32);

    /// <summary>The data as <see cref="long"/>; requires <see cref="NpyDType.Int64"/>.</summary>
    public long[] AsInt64() => As<long[]>("int64 (<i8)", DType == NpyDType.Int64);

    /// <summary>The data as <see cref="float"/>; requires <see cref="NpyDType.Float32"/>.</summary>
    public float[] AsFloat32() => As<float[]>("float32 (<f4)", DType == NpyDType.Float32);

    /// <summary>The data as <see cref="double"/>; requires <see cref="NpyDType.Float64"/>.</summary>
    public double[] AsFloat64() => As<double[]>("float64 (<f8)", DType == NpyDType.Float64);

    /// <summary>Throws <see cref="DataException"/> naming the file unless the array is 2-D.</summary>
    public NpyArray Require2D()
    {
        if (Rank != 2) throw new DataException(Path, $"expected a 2-D array, found shape {NpyFile.FormatShape(Shape)}");
        return this;
    }

    T As<T>(string wanted, bool ok) where T : class =>
        ok ? (T)(object)Data : throw new DataException(Path, $"expected dtype {wanted}, found {NpyFile.Descr(DType)}");
}
