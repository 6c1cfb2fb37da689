using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace HashBackdoor.Hashing;

/// <summary>Metadata stored beside the weights in a model file.</summary>
public sealed record ModelMetadata
{
    public required HashModelSpec Spec { get; init; }
    public string ToolkitVersion { get; init; } = ToolkitInfo.Version;
    public string? Loss { get; init; }
    public int EpochsTrained { get; init; }
    public long Seed { get; init; }
    public string? Note { get; init; }
}

/// <summary>
/// The toolkit's model file: magic "HBDMODEL", format version (uint32), header length (uint32), a JSON header
/// (<see cref="ModelMetadata"/>: architecture, bits, geometry, number of classes), payload length (int64), SHA-256 of the
/// payload (32 bytes), then the payload: TorchSharp's plain tensor format (names, shapes, raw values; nothing in it is
/// executed). Loading checks every field and the checksum before building the model, and fails with a
/// <see cref="DataException"/> naming the file.
/// </summary>
public static class ModelFile
{
    public const uint FormatVersion = 1;
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("HBDMODEL");
    private const int MaxHeader = 1 << 20;
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Writes the model atomically.</summary>
    public static void Save(string path, HashModel model, ModelMetadata meta)
    {
        byte[] payload;
        using (var ms = new MemoryStream())
        {
            using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) model.save(w);
            payload = ms.ToArray();
        }
        byte[] header = JsonSerializer.SerializeToUtf8Bytes(meta with { Spec = model.Spec }, Json);
        AtomicFile.Write(path, s =>
        {
            using var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write((uint)header.Length);
            w.Write(header);
            w.Write((long)payload.Length);
            w.Write(SHA256.HashData(payload));
            w.Write(payload);
        });
    }

    /// <summary>Reads only the header (no weights).</summary>
    public static ModelMetadata ReadMetadata(string path) => Read(path, loadWeights: false).Meta;

    /// <summary>Loads a model. When <paramref name="expected"/> is given, the file's spec must match it.</summary>
    public static (HashModel Model, ModelMetadata Meta) Load(string path, HashModelSpec? expected = null)
    {
        var (meta, model) = Read(path, loadWeights: true);
        if (expected is not null && expected != meta.Spec)
        {
            model!.Dispose();
            throw new DataException(path, $"model is {Describe(meta.Spec)}, expected {Describe(expected)}");
        }
        return (model!, meta);
    }

    private static string Describe(HashModelSpec s) => $"{s.Architecture} {s.Bits} bits {s.Channels}x{s.Height}x{s.Width} {s.NumClasses} classes";

    private static (ModelMetadata Meta, HashModel? Model) Read(string path, bool loadWeights)
    {
        if (!File.Exists(path)) throw new DataException(path, "model file not found");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        using var r = new BinaryReader(fs);
        long length = fs.Length;
        if (length < Magic.Length + 8) throw new DataException(path, "not a HashBackdoor model file (too short)");
        if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new DataException(path, "not a HashBackdoor model file (bad magic)");
        uint version = r.ReadUInt32();
        if (version != FormatVersion) throw new DataException(path, $"model format version {version} is not supported (this toolkit reads {FormatVersion})");
        uint hlen = r.ReadUInt32();
        if (hlen == 0 || hlen > MaxHeader || fs.Position + hlen + 8 + 32 > length) throw new DataException(path, "damaged model file (bad header length)");
        ModelMetadata meta;
        try
        {
            meta = JsonSerializer.Deserialize<ModelMetadata>(r.ReadBytes((int)hlen), Json) ?? throw new JsonException("empty header");
            meta.Spec.Validate();
        }
        catch (Exception e) when (e is JsonException or UsageException or ArgumentNullException or NotSupportedException)
        {
            throw new DataException(path, $"damaged model header ({e.Message})");
        }
        long plen = r.ReadInt64();
        byte[] digest = r.ReadBytes(32);
        if (plen <= 0 || fs.Position + plen != length) throw new DataException(path, $"damaged or truncated model file (payload is {length - fs.Position} bytes, header says {plen})");
        if (!loadWeights) return (meta, null);
        byte[] payload = r.ReadBytes((int)plen);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(digest)) throw new DataException(path, "damaged model file (checksum mismatch)");
        var model = new HashModel(meta.Spec);
        try
        {
            using var ms = new MemoryStream(payload);
            using var br = new BinaryReader(ms);
            model.load(br, strict: true);
        }
        catch (Exception e) when (e is not HashBackdoorException)
        {
            model.Dispose();
            throw new DataException(path, $"weights do not fit {Describe(meta.Spec)} ({e.Message})");
        }
        model.eval();
        return (meta, model);
    }
}
