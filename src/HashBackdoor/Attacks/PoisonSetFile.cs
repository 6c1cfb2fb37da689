using System.Text.Json;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>What <see cref="PoisonSetFile"/> records beside the arrays (poison.json).</summary>
public sealed record PoisonManifest
{
    /// <summary>Format version of the three files (1).</summary>
    public int FormatVersion { get; init; } = PoisonSetFile.FormatVersion;
    /// <summary>Attack name ("tri", "ciba", ...).</summary>
    public required string Attack { get; init; }
    /// <summary>Target class.</summary>
    public required int TargetClass { get; init; }
    /// <summary>Number of poisoned images P.</summary>
    public required int Count { get; init; }
    /// <summary>Size of the training set the indices point into.</summary>
    public required int TrainImages { get; init; }
    /// <summary>Image geometry of the rows of poison_images.npy.</summary>
    public required int Channels { get; init; }
    public required int Height { get; init; }
    public required int Width { get; init; }
    /// <summary>"fixed" (poisoned rows are stored tensors, not augmented) or "pasted-after-augmentation" (tri: the stored
    /// rows stay clean, the trigger is pasted after augmentation).</summary>
    public required string Placement { get; init; }
}

/// <summary>A poison set read back by <see cref="PoisonSetFile.Load"/>; owns <see cref="Images"/>.</summary>
public sealed class SavedPoisonSet : IDisposable
{
    internal SavedPoisonSet(PoisonManifest manifest, long[] indices, Tensor images)
    {
        Manifest = manifest;
        Indices = indices;
        Images = images;
    }

    /// <summary>The manifest.</summary>
    public PoisonManifest Manifest { get; }

    /// <summary>True poison indices into the protocol's training split, row i of <see cref="Images"/> for Indices[i].</summary>
    public long[] Indices { get; }

    /// <summary>The poisoned images as the victim received them before augmentation, float [P, C, H, W].</summary>
    public Tensor Images { get; }

    /// <summary>True for the Tri placement (trigger pasted after augmentation).</summary>
    public bool PastedAfterAugmentation => Manifest.Placement == PoisonSetFile.PastedAfterAugmentation;

    public void Dispose() => Images.Dispose();
}

/// <summary>
/// Saves and loads a <see cref="PoisonSet"/> in an attack's run folder (seed-S/target-T/METHOD/), so that a defense can
/// read the poisoned training set with its TRUE poison indices. Three files, each written atomically, the manifest last
/// (its presence means the set is complete):
/// <list type="bullet">
/// <item><c>poison_indices.npy</c>: int64 [P], training-split indices of the poisoned images (<see cref="PoisonSet.PoisonedIndices"/> order).</item>
/// <item><c>poison_images.npy</c>: float32 [P, C*H*W], the poisoned images as the victim received them before augmentation
/// (<see cref="PoisonSet.PoisonedImages"/>), row-major C, H, W, values in 0..1.</item>
/// <item><c>poison.json</c>: <see cref="PoisonManifest"/> (attack, target, count, training-set size, geometry, placement).</item>
/// </list>
/// The rest of the poisoned training set is the protocol's training split, rebuilt from config.resolved.json: for
/// "fixed" the stored set is that split with these rows replaced; for "pasted-after-augmentation" the stored set is the
/// clean split and the trainer pastes the trigger on these rows.
/// </summary>
public static class PoisonSetFile
{
    public const int FormatVersion = 1;
    public const string IndicesFileName = "poison_indices.npy";
    public const string ImagesFileName = "poison_images.npy";
    public const string ManifestFileName = "poison.json";
    public const string Fixed = "fixed";
    public const string PastedAfterAugmentation = "pasted-after-augmentation";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>True when <paramref name="dir"/> holds a complete poison set (its manifest).</summary>
    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, ManifestFileName));

    /// <summary>Writes <paramref name="set"/> into <paramref name="dir"/> (created if needed). The experiment runner calls
    /// this once per (seed, target, method) after poisoning.</summary>
    public static void Save(string dir, PoisonSet set)
    {
        var images = set.PoisonedImages;
        long p = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        if (p != set.PoisonedIndices.Length) throw new ArgumentException($"{p} poisoned images for {set.PoisonedIndices.Length} indices");
        using var flat = images.detach().cpu().to_type(ScalarType.Float32).contiguous().view(p, c * h * w);
        var manifest = new PoisonManifest
        {
            Attack = set.AttackName, TargetClass = set.TargetClass, Count = (int)p, TrainImages = set.Dataset.Count,
            Channels = (int)c, Height = (int)h, Width = (int)w,
            Placement = set.Plan.AfterAugmentation is null ? Fixed : PastedAfterAugmentation,
        };
        Directory.CreateDirectory(dir);
        NpyFile.Write(Path.Combine(dir, IndicesFileName), set.PoisonedIndices, (int)p);
        NpyFile.Write(Path.Combine(dir, ImagesFileName), flat.data<float>().ToArray(), (int)p, (int)(c * h * w));
        AtomicFile.WriteAllText(Path.Combine(dir, ManifestFileName), JsonSerializer.Serialize(manifest, Json));
    }

    /// <summary>Reads a poison set and checks it against the training split it belongs to. Every problem is a
    /// <see cref="DataException"/> naming the file.</summary>
    public static SavedPoisonSet Load(string dir, int trainImages, int channels, int height, int width)
    {
        string manifestPath = Path.Combine(dir, ManifestFileName);
        if (!File.Exists(manifestPath)) throw new DataException(manifestPath, "poison set not found");
        PoisonManifest manifest;
        try { manifest = JsonSerializer.Deserialize<PoisonManifest>(File.ReadAllText(manifestPath), Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new DataException(manifestPath, $"damaged poison manifest ({e.Message})"); }
        if (manifest.FormatVersion != FormatVersion) throw new DataException(manifestPath, $"poison set format {manifest.FormatVersion} is not supported (this toolkit reads {FormatVersion})");
        if (manifest.Placement is not (Fixed or PastedAfterAugmentation)) throw new DataException(manifestPath, $"unknown placement '{manifest.Placement}'");
        if (manifest.TrainImages != trainImages || manifest.Channels != channels || manifest.Height != height || manifest.Width != width)
            throw new DataException(manifestPath, $"poison set is for {manifest.TrainImages} training images of {manifest.Channels}x{manifest.Height}x{manifest.Width}, the run's split has {trainImages} of {channels}x{height}x{width}");
        string indicesPath = Path.Combine(dir, IndicesFileName), imagesPath = Path.Combine(dir, ImagesFileName);
        var idx = NpyFile.Read(indicesPath);
        if (idx.Rank != 1) throw new DataException(indicesPath, $"expected a 1-D array, found shape {NpyFile.FormatShape(idx.Shape)}");
        long[] indices = idx.AsInt64();
        if (indices.Length != manifest.Count) throw new DataException(indicesPath, $"{indices.Length} indices, the manifest says {manifest.Count}");
        if (indices.Any(i => i < 0 || i >= trainImages)) throw new DataException(indicesPath, $"an index lies outside the training set (0..{trainImages - 1})");
        if (indices.Distinct().Count() != indices.Length) throw new DataException(indicesPath, "an index is repeated");
        var img = NpyFile.Read(imagesPath).Require2D();
        if (img.Rows != manifest.Count || img.Columns != channels * height * width)
            throw new DataException(imagesPath, $"shape {NpyFile.FormatShape(img.Shape)}, expected ({manifest.Count}, {channels * height * width})");
        float[] values = img.AsFloat32();
        if (values.Any(v => !(v >= 0f && v <= 1f))) throw new DataException(imagesPath, "a pixel value lies outside 0..1");
        var images = tensor(values, new long[] { manifest.Count, channels, height, width }, ScalarType.Float32);
        return new SavedPoisonSet(manifest, indices, images);
    }
}
