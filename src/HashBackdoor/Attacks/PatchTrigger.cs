using System.Buffers.Binary;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// The backdoor trigger of method.md section 4: a P x P patch with C channels, values in 0..1 (pixel units), pasted at the
/// bottom-right corner of an image, where it REPLACES the pixels (no blending). The trigger owns its pattern tensor.
/// </summary>
/// <remarks>
/// The trigger file (<see cref="SaveTensor"/>, <see cref="Load"/>) is a small self-describing little-endian binary:
/// the 8 ASCII bytes <c>HBDTRIG1</c>, int32 C, int32 P, C*P*P float32 values (channel, row, column order), then the
/// 32-bit FNV-1a hash of all preceding bytes. It is written atomically and fully validated on load.
/// </remarks>
public sealed class PatchTrigger : IDisposable
{
    private static readonly byte[] Magic = "HBDTRIG1"u8.ToArray();
    private const int HeaderBytes = 16;
    private const int MaxChannels = 64;
    private const int MaxSize = 4096;

    /// <summary>Wraps <paramref name="pattern"/> float [C, P, P] in 0..1; the trigger takes ownership of the tensor.</summary>
    public PatchTrigger(Tensor pattern)
    {
        if (pattern.dim() != 3 || pattern.shape[1] != pattern.shape[2])
            throw new ArgumentException($"a trigger pattern must be [C,P,P], got [{string.Join(",", pattern.shape)}]");
        AttackValidation.TriggerSize((int)pattern.shape[1]);
        if (pattern.dtype == ScalarType.Float32) Pattern = pattern;
        else
        {
            Pattern = pattern.to_type(ScalarType.Float32);
            pattern.Dispose();
        }
        // The trigger owns its pattern: no caller's dispose scope may free it.
        Pattern.DetachFromDisposeScope();
    }

    /// <summary>The patch, float [C, P, P] in 0..1.</summary>
    public Tensor Pattern { get; }

    /// <summary>Side P of the square patch, in pixels.</summary>
    public int Size => (int)Pattern.shape[1];

    /// <summary>Number of channels C.</summary>
    public int Channels => (int)Pattern.shape[0];

    /// <summary>A uniform patch of <paramref name="value"/> (0.5 = mid-grey, the reference initialisation).</summary>
    public static PatchTrigger Constant(int channels, int size, double value = 0.5)
    {
        AttackValidation.TriggerSize(size);
        if (!(value >= 0 && value <= 1)) throw new UsageException($"trigger.initValue {value}: must lie in [0, 1]");
        return new PatchTrigger(full(new long[] { channels, size, size }, value, dtype: ScalarType.Float32));
    }

    /// <summary>A black-and-white checkerboard patch of side <paramref name="size"/> (every channel alike): pixel (i, j)
    /// is 1 where i + j is even (the top-left pixel is white), else 0. The fixed high-contrast trigger of BadNets-style
    /// attacks, and the start of the optimisation with <see cref="TriggerInit.Checkerboard"/>.</summary>
    public static PatchTrigger Checkerboard(int channels, int size)
    {
        AttackValidation.TriggerSize(size);
        using var i = arange(size).unsqueeze(1);
        using var j = arange(size).unsqueeze(0);
        using var even = (i + j).remainder(2).eq(0).to_type(ScalarType.Float32);
        return new PatchTrigger(even.unsqueeze(0).expand(channels, size, size).contiguous());
    }

    /// <summary>The starting patch that <paramref name="options"/> asks for.</summary>
    public static PatchTrigger Initial(TriggerOptions options, int channels) => options.Init == TriggerInit.Checkerboard
        ? Checkerboard(channels, options.Size)
        : Constant(channels, options.Size, options.InitValue);

    /// <summary>A deep copy (the copy owns its own pattern).</summary>
    public PatchTrigger Clone() => new(Pattern.detach().clone());

    /// <summary>Checks that this trigger fits images of the given geometry (UsageException otherwise).</summary>
    public void CheckFits(int channels, int height, int width) =>
        AttackValidation.TriggerFits(Size, Channels, channels, height, width);

    /// <summary>
    /// Returns a copy of <paramref name="images"/> [N, C, H, W] whose bottom-right P x P pixels are replaced by the patch
    /// (rows H-P..H-1, columns W-P..W-1 of every channel); every other pixel is unchanged. One clone and one slice copy
    /// for the whole batch. Not differentiable with respect to the pattern (see <see cref="PasteDifferentiable"/>).
    /// </summary>
    public Tensor Paste(Tensor images)
    {
        if (images.dim() != 4) throw new ArgumentException($"images must be [N,C,H,W], got [{string.Join(",", images.shape)}]");
        CheckFits((int)images.shape[1], (int)images.shape[2], (int)images.shape[3]);
        using var scope = NewDisposeScope();
        long h = images.shape[2], w = images.shape[3], p = Size;
        var y = images.detach().clone();
        var pattern = Pattern.to(images.device).to_type(images.dtype);
        y.narrow(2, h - p, p).narrow(3, w - p, p).copy_(pattern.unsqueeze(0).expand(images.shape[0], -1, -1, -1));
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Pastes <paramref name="patches"/> ([B, C, P, P], one patch per image, or [C, P, P] for all) onto
    /// <paramref name="images"/> [B, C, H, W] by concatenating slices, so gradients flow to the patches (and to the
    /// images outside the corner). Same result as <see cref="Paste"/>.
    /// </summary>
    internal static Tensor PasteDifferentiable(Tensor images, Tensor patches)
    {
        long b = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        long p = patches.shape[^1];
        using var scope = NewDisposeScope();
        var patch = patches.dim() == 3 ? patches.unsqueeze(0).expand(b, -1, -1, -1) : patches;
        var top = images.narrow(2, 0, h - p);
        var bottomLeft = images.narrow(2, h - p, p).narrow(3, 0, w - p);
        var bottom = cat(new[] { bottomLeft, patch }, 3);
        return cat(new[] { top, bottom }, 2).MoveToOuterDisposeScope();
    }

    /// <summary>Writes the pattern as a PNG (enlarged by <paramref name="pngScale"/>) and as a trigger file, both atomically.</summary>
    public void Save(string pngPath, string tensorPath, int pngScale = 1)
    {
        SaveTensor(tensorPath);
        AtomicFile.WriteAllBytes(pngPath, EnlargedPng(pngScale));
    }

    /// <summary>Writes the trigger file (format in the class remarks) atomically.</summary>
    public void SaveTensor(string path)
    {
        float[] values = Values();
        int c = Channels, p = Size;
        var bytes = new byte[HeaderBytes + values.Length * 4 + 4];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), c);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), p);
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(HeaderBytes + 4 * i), values[i]);
        int hashAt = bytes.Length - 4;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(hashAt), Fnv1a(bytes.AsSpan(0, hashAt)));
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>Reads a trigger file. Any problem (missing, truncated, wrong magic, implausible header, checksum mismatch,
    /// values outside 0..1) is a <see cref="DataException"/> naming the file.</summary>
    public static PatchTrigger Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new DataException(path, "trigger file not found", e); }
        catch (DirectoryNotFoundException e) { throw new DataException(path, "trigger file not found", e); }
        catch (IOException e) { throw new DataException(path, $"cannot read the trigger file: {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new DataException(path, $"cannot read the trigger file: {e.Message}", e); }

        if (bytes.Length < HeaderBytes + 4) throw new DataException(path, $"not a trigger file: {bytes.Length} bytes is shorter than the header");
        if (!bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)) throw new DataException(path, "not a trigger file (the file does not start with HBDTRIG1)");
        int c = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        int p = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        if (c < 1 || c > MaxChannels || p < 1 || p > MaxSize)
            throw new DataException(path, $"damaged trigger file: implausible header (channels {c}, size {p})");
        long expected = HeaderBytes + 4L * c * p * p + 4;
        if (bytes.Length != expected)
            throw new DataException(path, $"damaged trigger file: {bytes.Length} bytes, expected {expected} for a {c}x{p}x{p} trigger (truncated?)");
        int hashAt = bytes.Length - 4;
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(hashAt));
        if (stored != Fnv1a(bytes.AsSpan(0, hashAt))) throw new DataException(path, "damaged trigger file: checksum mismatch");
        var values = new float[c * p * p];
        for (int i = 0; i < values.Length; i++)
        {
            float v = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(HeaderBytes + 4 * i));
            if (!(v >= 0f && v <= 1f)) throw new DataException(path, $"damaged trigger file: value {v} at position {i} is outside 0..1");
            values[i] = v;
        }
        return new PatchTrigger(tensor(values, new long[] { c, p, p }, ScalarType.Float32));
    }

    /// <summary>The pattern as a PNG: grey for 1 channel, RGB for 3 (values rounded to 0..255).</summary>
    public byte[] ToPng() => EnlargedPng(1);

    /// <summary>The pattern as a PNG enlarged <paramref name="scale"/> times by nearest neighbour (each pixel becomes a
    /// scale x scale block), so a 4x4 trigger is visible in a report.</summary>
    public byte[] EnlargedPng(int scale)
    {
        if (Channels is not (1 or 3)) throw new UsageException($"trigger.size {Size}: a {Channels}-channel trigger cannot be drawn as PNG (1 or 3 channels)");
        return AttackImages.Png(Pattern, scale);
    }

    /// <summary>The pattern values as a managed array in channel, row, column order.</summary>
    public float[] Values()
    {
        using var v = Pattern.detach().cpu().contiguous();
        return v.data<float>().ToArray();
    }

    private static uint Fnv1a(ReadOnlySpan<byte> data)
    {
        uint h = 2166136261;
        foreach (byte b in data) { h ^= b; h *= 16777619; }
        return h;
    }

    /// <summary>Releases the pattern tensor.</summary>
    public void Dispose() => Pattern.Dispose();
}
