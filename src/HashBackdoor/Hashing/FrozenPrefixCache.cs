using System.Security.Cryptography;
using static TorchSharp.torch;

namespace HashBackdoor.Hashing;

/// <summary>
/// The output of a model's frozen prefix (input stage and the first <see cref="Stages"/> backbone stages) for clean
/// image sets, computed once and shared by every model of an experiment whose prefix holds the same weights: when the
/// clean model, the surrogate and every victim start from the same public weights and keep those stages frozen
/// (<see cref="HashTrainerOptions.FreezeStages"/>), the prefix of a clean image is the same for all of them, and only
/// the trainable suffix needs to run.
/// <para>Safety, by construction rather than by convention:</para>
/// <list type="bullet">
/// <item>A model reads the cache only when its prefix tensors (input-stage buffers, the frozen stages' weights and
/// BatchNorm statistics) are equal, bit for bit, to those the cache was computed with (<see cref="Matches"/>).</item>
/// <item>A row reads the cache only when its pixels are equal, bit for bit, to the clean image the cache was computed
/// from (or to its horizontal flip, for sets added with flips). Every other row (a poisoned image, a pasted trigger, a
/// perturbation, a shift) goes through the whole network. Poisoned and triggered images therefore never read it,
/// whatever the caller passes; attacks that differentiate through the model (trigger optimisation, confusing
/// perturbations, test-time attacks) call the model itself and never see the cache.</item>
/// </list>
/// Entries are kept in memory (float32; measured sizes in docs/pretrained.md) and carry a SHA-256 checksum of their
/// source pixels (<see cref="Entry.Checksum"/>). The cache owns its tensors.
/// </summary>
public sealed class FrozenPrefixCache : IDisposable
{
    /// <summary>Images per forward pass when the cache is filled (as <see cref="HashEncoder"/> on the CPU).</summary>
    internal const int FillBatch = HashEncoder.CpuForwardBatch;

    private readonly List<(string Name, Tensor Value)> reference;
    private readonly HashModelSpec spec;
    private readonly List<Entry> entries = new();
    private bool disposed;

    private FrozenPrefixCache(HashModel model, int stages)
    {
        Stages = stages;
        spec = model.Spec;
        reference = PrefixTensors(model, stages).Select(t => (t.Name, t.Value.detach().clone().cpu())).ToList();
    }

    /// <summary>Backbone stages in the prefix.</summary>
    public int Stages { get; }

    /// <summary>Rows read from the cache so far (training rows and encoded images).</summary>
    public long RowsFromCache { get; private set; }

    /// <summary>Rows that went through the whole network although a cache was offered (pixels differ from every
    /// cached clean image: poisoned, triggered, perturbed).</summary>
    public long RowsComputed { get; private set; }

    /// <summary>The cached sets.</summary>
    public IReadOnlyList<Entry> Entries => entries;

    /// <summary>Bytes held by the cached prefix outputs.</summary>
    public long Bytes => entries.Sum(e => e.Bytes);

    /// <summary>
    /// A cache for <paramref name="model"/>'s first <paramref name="stages"/> backbone stages, or null when it cannot
    /// apply: no frozen stage, a backbone that cannot be split (<see cref="HashModel.SupportsPrefix"/>), or an
    /// augmentation other than none or flip (a shift changes the pixels of every row, so no row could read it).
    /// </summary>
    public static FrozenPrefixCache? Create(HashModel model, int stages, string augmentation)
    {
        if (stages < 1 || !model.SupportsPrefix(stages) || augmentation is not ("none" or "flip")) return null;
        return new FrozenPrefixCache(model, stages);
    }

    /// <summary>True when <paramref name="model"/>'s prefix (same input geometry and normalisation, same tensors bit for
    /// bit) is the one this cache was computed with.</summary>
    public bool Matches(HashModel model)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var s = model.Spec;
        if (s.Channels != spec.Channels || s.Height != spec.Height || s.Width != spec.Width || s.InputSize != spec.InputSize
            || s.Layout != spec.Layout || s.Normalization != spec.Normalization || s.Architecture != spec.Architecture || !model.SupportsPrefix(Stages))
            return false;
        var current = PrefixTensors(model, Stages);
        if (current.Count != reference.Count) return false;
        for (int i = 0; i < current.Count; i++)
        {
            if (current[i].Name != reference[i].Name) return false;
            using var c = current[i].Value.detach().cpu();
            if (!c.shape.SequenceEqual(reference[i].Value.shape) || c.dtype != reference[i].Value.dtype || !Same(c, reference[i].Value)) return false;
        }
        return true;
    }

    /// <summary>Computes and keeps the prefix output of the clean images <paramref name="images"/> [N, C, H, W] (and of
    /// their horizontal flips when <paramref name="withFlips"/>, for training with flip augmentation) with
    /// <paramref name="model"/>, which must <see cref="Matches"/>. A set already cached (same pixels) is not computed
    /// again. The pixels are copied: the entry stays valid whatever happens to <paramref name="images"/>.</summary>
    public Entry Add(HashModel model, Tensor images, bool withFlips, CancellationToken cancel = default)
    {
        if (!Matches(model)) throw new ArgumentException("the model's prefix differs from the cache's (other weights, input size or normalisation)", nameof(model));
        var found = Find(images);
        if (found is not null && (!withFlips || found.Flipped is not null)) return found;
        if (found is not null) { entries.Remove(found); found.Dispose(); }
        var source = images.detach().cpu().clone();
        var plain = Compute(model, source, flip: false, cancel);
        var flipped = withFlips ? Compute(model, source, flip: true, cancel) : null;
        var entry = new Entry(source, plain, flipped, Checksum(source));
        entries.Add(entry);
        return entry;
    }

    /// <summary>The entry whose source pixels equal <paramref name="images"/> exactly, or null.</summary>
    public Entry? Find(Tensor images)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        foreach (var e in entries)
        {
            if (!e.Source.shape.SequenceEqual(images.shape)) continue;
            using var x = images.detach().cpu();
            if (x.dtype == e.Source.dtype && Same(x, e.Source)) return e;
        }
        return null;
    }

    /// <summary>The entry whose source has the shape of <paramref name="images"/> and agrees with it on most rows (a
    /// poisoned copy of a cached training set: poisoned images replace their originals at the same rows), or null.
    /// Which rows may read it is decided row by row in <see cref="PrefixOf"/>.</summary>
    public Entry? FindRowAligned(Tensor images)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        foreach (var e in entries)
        {
            if (!e.Source.shape.SequenceEqual(images.shape)) continue;
            using var scope = NewDisposeScope();
            var x = images.detach().cpu();
            if (x.dtype != e.Source.dtype) continue;
            long same = x.eq(e.Source).flatten(1).all(1).sum().item<long>();
            if (same * 2 > images.shape[0]) return e;
        }
        return null;
    }

    /// <summary>
    /// The prefix output of the pixel batch <paramref name="x"/> [B, C, H, W] whose rows came from rows
    /// <paramref name="rows"/> [B] (int64) of <paramref name="entry"/>'s source: a row equal to its source image reads
    /// the cached output, a row equal to its horizontal flip reads the flipped one (when the entry has flips), and
    /// every other row is computed by <paramref name="model"/>'s prefix (which the caller has checked with
    /// <see cref="Matches"/>). No gradient flows into the result (the prefix is frozen). Returns a new tensor.
    /// </summary>
    public Tensor PrefixOf(HashModel model, Entry entry, Tensor x, Tensor rows)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var device = x.device;
        var r = rows.cpu();
        var src = entry.Source.index_select(0, r);
        var xc = x.detach().cpu();
        var plain = xc.eq(src).flatten(1).all(1);
        var cached = entry.Plain.index_select(0, r);
        var fromCache = plain;
        if (entry.Flipped is not null)
        {
            var flip = xc.eq(src.flip(3)).flatten(1).all(1).logical_and(plain.logical_not());
            var shape = new long[] { -1 }.Concat(Enumerable.Repeat(1L, (int)cached.dim() - 1)).ToArray();
            cached = where(flip.view(shape), entry.Flipped.index_select(0, r), cached);
            fromCache = plain.logical_or(flip);
        }
        long hits = fromCache.sum().item<long>(), b = x.shape[0];
        RowsFromCache += hits;
        RowsComputed += b - hits;
        var h = cached.to(device);
        if (hits < b)
        {
            var live = fromCache.logical_not().nonzero().view(-1);
            var computed = PrefixOfRows(model, x.index_select(0, live.to(device)).detach(), Stages);
            h = h.index_copy(0, live.to(device), computed);
        }
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>The cached prefix output of rows [start, start + length) of <paramref name="entry"/> (no copy).</summary>
    internal Tensor Slice(Entry entry, long start, long length)
    {
        RowsFromCache += length;
        return entry.Plain.narrow(0, start, length);
    }

    /// <summary>
    /// <see cref="HashModel.ForwardPrefix"/> of <paramref name="x"/>, with a lone row computed as a batch of two (the row
    /// twice). libtorch's CPU convolutions give a row the same bits in any batch of two or more rows but take another
    /// kernel for a batch of one (measured: up to 5e-7 apart on prefix outputs of about 3), and the whole-network path
    /// never trains on a batch of one; so the rows computed here carry the same bits as in a whole training batch.
    /// </summary>
    internal static Tensor PrefixOfRows(HashModel model, Tensor x, int stages)
    {
        if (x.shape[0] != 1) return model.ForwardPrefix(x, stages);
        using var twice = cat(new[] { x, x }, 0);
        using var both = model.ForwardPrefix(twice, stages);
        return both.narrow(0, 0, 1).clone();
    }

    /// <summary>The tensors a prefix's output depends on: the input stage's buffers and the first
    /// <paramref name="stages"/> stages' parameters and buffers, by name, in a fixed order.</summary>
    internal static List<(string Name, Tensor Value)> PrefixTensors(HashModel model, int stages)
    {
        var list = new List<(string, Tensor)>();
        if (model.Input is not null)
            foreach (var (name, t) in model.Input.named_buffers()) list.Add(($"input.{name}", t));
        foreach (var (stage, modules) in model.BackboneStages.Take(stages))
            for (int m = 0; m < modules.Length; m++)
            {
                foreach (var (name, t) in modules[m].named_parameters()) list.Add(($"{stage}.{m}.{name}", t));
                foreach (var (name, t) in modules[m].named_buffers()) list.Add(($"{stage}.{m}.{name}", t));
            }
        return list;
    }

    private Tensor Compute(HashModel model, Tensor source, bool flip, CancellationToken cancel)
    {
        bool wasTraining = model.training;
        model.eval();
        var device = model.parameters().First().device;
        var parts = new List<Tensor>();
        try
        {
            using var _ = no_grad();
            long n = source.shape[0];
            for (long start = 0; start < n; start += FillBatch)
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var x = source.narrow(0, start, Math.Min(FillBatch, n - start)).to(device);
                if (flip) x = x.flip(3);
                parts.Add(PrefixOfRows(model, x, Stages).cpu().MoveToOuterDisposeScope());
            }
            return parts.Count == 0 ? zeros(0) : cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
            if (wasTraining) model.train();
        }
    }

    /// <summary>True when two tensors of the same shape hold the same values (NaN never equals).</summary>
    private static bool Same(Tensor a, Tensor b)
    {
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    /// <summary>SHA-256 of the float32 pixels, hex.</summary>
    private static string Checksum(Tensor source)
    {
        using var c = source.to_type(ScalarType.Float32).contiguous();
        return Convert.ToHexString(SHA256.HashData(c.bytes)).ToLowerInvariant();
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var e in entries) e.Dispose();
        entries.Clear();
        foreach (var (_, t) in reference) t.Dispose();
    }

    /// <summary>One cached image set: its clean pixels, the prefix output of each image and, for training sets, of its
    /// horizontal flip.</summary>
    public sealed class Entry : IDisposable
    {
        internal Entry(Tensor source, Tensor plain, Tensor? flipped, string checksum)
        {
            Source = source;
            Plain = plain;
            Flipped = flipped;
            Checksum = checksum;
        }

        /// <summary>The clean images the entry was computed from [N, C, H, W] (a copy).</summary>
        public Tensor Source { get; }
        /// <summary>Prefix outputs of the images [N, ...].</summary>
        public Tensor Plain { get; }
        /// <summary>Prefix outputs of the horizontally flipped images, or null.</summary>
        public Tensor? Flipped { get; }
        /// <summary>SHA-256 of the source pixels (float32), hex: which images the entry is of.</summary>
        public string Checksum { get; }
        /// <summary>Bytes of the prefix outputs.</summary>
        public long Bytes => Plain.NumberOfElements * Plain.ElementSize + (Flipped is null ? 0 : Flipped.NumberOfElements * Flipped.ElementSize);

        public void Dispose()
        {
            Source.Dispose();
            Plain.Dispose();
            Flipped?.Dispose();
        }
    }
}
