namespace HashBackdoor.Retrieval;

/// <summary>
/// The label sets of <see cref="Count"/> items over <see cref="Classes"/> classes, stored as bitmasks: item <c>i</c>
/// owns words <c>[i * WordsPerItem, (i + 1) * WordsPerItem)</c> and class <c>c</c> is bit <c>c % 64</c> of word
/// <c>c / 64</c>. Any number of classes is supported. Two items are relevant to each other when their sets share at
/// least one class (<see cref="SharesAny"/>); an item with an empty set is relevant to nothing.
/// </summary>
/// <remarks>
/// For t-MAP (targeted mAP) the query side is the set <c>{target}</c> for every query (<see cref="Repeat"/>), so that
/// relevance becomes "the database item has the target label". Instances are immutable.
/// </remarks>
public sealed class LabelSets
{
    readonly ulong[] _masks;

    LabelSets(ulong[] masks, int count, int classes)
    {
        _masks = masks;
        Count = count;
        Classes = classes;
        WordsPerItem = WordsFor(classes);
    }

    /// <summary>Number of items.</summary>
    public int Count { get; }

    /// <summary>Number of classes C.</summary>
    public int Classes { get; }

    /// <summary>64-bit words per item: <c>max(1, ceil(C / 64))</c>.</summary>
    public int WordsPerItem { get; }

    /// <summary>All masks, item after item.</summary>
    public ReadOnlySpan<ulong> Masks => _masks;

    internal ulong[] MaskArray => _masks;

    static int WordsFor(int classes) => Math.Max(1, (classes + 63) >> 6);

    static void ValidateShape(int count, int classes)
    {
        if (classes < 1) throw new UsageException($"number of classes {classes}: must be at least 1");
        if (count < 0) throw new UsageException($"item count {count}: must not be negative");
    }

    /// <summary>The mask words of item <paramref name="item"/>.</summary>
    public ReadOnlySpan<ulong> Get(int item)
    {
        if ((uint)item >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(item), item, $"item must be in [0, {Count})");
        return new ReadOnlySpan<ulong>(_masks, item * WordsPerItem, WordsPerItem);
    }

    /// <summary>Whether item <paramref name="item"/> has class <paramref name="cls"/>.</summary>
    public bool Has(int item, int cls)
    {
        if ((uint)item >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(item), item, $"item must be in [0, {Count})");
        if ((uint)cls >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(cls), cls, $"class must be in [0, {Classes})");
        return ((_masks[(long)item * WordsPerItem + (cls >> 6)] >> (cls & 63)) & 1UL) != 0;
    }

    /// <summary>Whether item <paramref name="item"/> of this set and item <paramref name="otherItem"/> of
    /// <paramref name="other"/> share at least one class (both must have the same <see cref="Classes"/>).</summary>
    public bool SharesAny(int item, LabelSets other, int otherItem)
    {
        ArgumentNullException.ThrowIfNull(other);
        RequireSameClasses(other);
        ReadOnlySpan<ulong> a = Get(item), b = other.Get(otherItem);
        for (int w = 0; w < a.Length; w++)
            if ((a[w] & b[w]) != 0) return true;
        return false;
    }

    /// <summary>Number of classes in the set of item <paramref name="item"/>.</summary>
    public int CountLabels(int item)
    {
        int n = 0;
        foreach (ulong w in Get(item)) n += System.Numerics.BitOperations.PopCount(w);
        return n;
    }

    /// <summary>Items <c>[start, start + count)</c> as a new set (the masks are copied).</summary>
    public LabelSets Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start}+{count}) is outside [0, {Count})");
        var masks = new ulong[(long)count * WordsPerItem];
        Array.Copy(_masks, (long)start * WordsPerItem, masks, 0, masks.LongLength);
        return new LabelSets(masks, count, Classes);
    }

    /// <summary>From multi-hot rows (row-major <c>[count, classes]</c>, each value 0 or 1, e.g. a uint8 or bool .npy).</summary>
    /// <exception cref="UsageException">A value other than 0 or 1, or a length that is not a multiple of <paramref name="classes"/>.</exception>
    public static LabelSets FromMultiHot(ReadOnlySpan<byte> rows, int classes)
    {
        if (classes < 1) throw new UsageException($"number of classes {classes}: must be at least 1");
        if (rows.Length % classes != 0) throw new UsageException($"{rows.Length} multi-hot values is not a whole number of rows of {classes}");
        int count = rows.Length / classes;
        int wpi = WordsFor(classes);
        var masks = new ulong[(long)count * wpi];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> row = rows.Slice(i * classes, classes);
            for (int c = 0; c < classes; c++)
            {
                byte v = row[c];
                if (v == 1) masks[(long)i * wpi + (c >> 6)] |= 1UL << (c & 63);
                else if (v != 0) throw new UsageException($"multi-hot label of item {i}, class {c} is {v}, not 0 or 1");
            }
        }
        return new LabelSets(masks, count, classes);
    }

    /// <summary>From real-valued multi-hot rows (row-major <c>[count, classes]</c>, each value exactly 0 or 1).</summary>
    /// <exception cref="UsageException">A value other than 0 or 1.</exception>
    public static LabelSets FromMultiHot(ReadOnlySpan<float> rows, int classes)
    {
        if (classes < 1) throw new UsageException($"number of classes {classes}: must be at least 1");
        if (rows.Length % classes != 0) throw new UsageException($"{rows.Length} multi-hot values is not a whole number of rows of {classes}");
        var bytes = new byte[rows.Length];
        for (int k = 0; k < rows.Length; k++)
        {
            float v = rows[k];
            if (v == 1f) bytes[k] = 1;
            else if (v != 0f) throw new UsageException($"multi-hot label of item {k / classes}, class {k % classes} is {v}, not 0 or 1");
        }
        return FromMultiHot(bytes, classes);
    }

    /// <summary>From one class index per item (single-label datasets such as CIFAR-10).</summary>
    /// <exception cref="UsageException">An index outside <c>[0, classes)</c>.</exception>
    public static LabelSets FromClassIndices(ReadOnlySpan<int> labels, int classes)
    {
        ValidateShape(labels.Length, classes);
        int wpi = WordsFor(classes);
        var masks = new ulong[(long)labels.Length * wpi];
        for (int i = 0; i < labels.Length; i++)
        {
            int c = labels[i];
            if ((uint)c >= (uint)classes) throw new UsageException($"label of item {i} is {c}, outside [0, {classes})");
            masks[(long)i * wpi + (c >> 6)] |= 1UL << (c & 63);
        }
        return new LabelSets(masks, labels.Length, classes);
    }

    /// <summary>From explicit class lists, one per item (duplicates are harmless).</summary>
    public static LabelSets FromSets(IReadOnlyList<IReadOnlyCollection<int>> sets, int classes)
    {
        ArgumentNullException.ThrowIfNull(sets);
        ValidateShape(sets.Count, classes);
        int wpi = WordsFor(classes);
        var masks = new ulong[(long)sets.Count * wpi];
        for (int i = 0; i < sets.Count; i++)
            foreach (int c in sets[i])
            {
                if ((uint)c >= (uint)classes) throw new UsageException($"label of item {i} is {c}, outside [0, {classes})");
                masks[(long)i * wpi + (c >> 6)] |= 1UL << (c & 63);
            }
        return new LabelSets(masks, sets.Count, classes);
    }

    /// <summary>Label sets from a .npy array: a 2-D multi-hot array <c>[count, classes]</c> of uint8, bool, int32, int64,
    /// float32 or float64 values 0 or 1; or a 1-D int32/int64 array of class indices (single-label datasets), with
    /// <paramref name="classes"/> classes if given, else max + 1.</summary>
    /// <exception cref="DataException">Another shape or dtype, a value other than 0/1 in a multi-hot array, a negative
    /// or too large class index, or a class count that disagrees with <paramref name="classes"/>.</exception>
    public static LabelSets FromNpy(NpyArray array, int? classes = null)
    {
        ArgumentNullException.ThrowIfNull(array);
        try
        {
            if (array.Rank == 2)
            {
                int c = array.Columns;
                if (c < 1) throw new DataException(array.Path, "multi-hot labels need at least one class column");
                if (classes is int want && want != c)
                    throw new DataException(array.Path, $"multi-hot labels have {c} classes but {want} were expected");
                return array.DType switch
                {
                    NpyDType.UInt8 or NpyDType.Bool => FromMultiHot(array.AsBytes(), c),
                    NpyDType.Float32 => FromMultiHot(array.AsFloat32(), c),
                    NpyDType.Float64 => FromMultiHot(array.AsFloat64().Select(v => (float)v == v ? (float)v : 0.5f).ToArray(), c),
                    NpyDType.Int32 => FromMultiHot(array.AsInt32().Select(v => v is 0 or 1 ? (byte)v : (byte)2).ToArray(), c),
                    NpyDType.Int64 => FromMultiHot(array.AsInt64().Select(v => v is 0 or 1 ? (byte)v : (byte)2).ToArray(), c),
                    _ => throw new DataException(array.Path, $"unsupported label dtype {NpyFile.Descr(array.DType)}"),
                };
            }
            int[] idx = array.DType switch
            {
                NpyDType.Int32 => array.AsInt32(),
                NpyDType.Int64 => array.AsInt64().Select(v => v is < int.MinValue or > int.MaxValue ? -1 : (int)v).ToArray(),
                _ => throw new DataException(array.Path, $"1-D labels must be int32 or int64 class indices, found {NpyFile.Descr(array.DType)}"),
            };
            int n = classes ?? (idx.Length == 0 ? 1 : idx.Max() + 1);
            return FromClassIndices(idx, Math.Max(1, n));
        }
        catch (UsageException e)
        {
            throw new DataException(array.Path, e.Message, e);
        }
    }

    /// <summary>Wraps packed masks (taken, not copied) of <c>count * max(1, ceil(classes / 64))</c> words; bits at or
    /// above <paramref name="classes"/> must be zero.</summary>
    public static LabelSets FromBitmasks(ulong[] masks, int count, int classes)
    {
        ArgumentNullException.ThrowIfNull(masks);
        ValidateShape(count, classes);
        int wpi = WordsFor(classes);
        if (masks.LongLength != (long)count * wpi)
            throw new UsageException($"{masks.LongLength} mask words given for {count} items of {classes} classes ({wpi} words each)");
        int rem = classes & 63;
        if (rem != 0)
        {
            ulong pad = ~((1UL << rem) - 1);
            for (int i = 0; i < count; i++)
                if ((masks[(long)i * wpi + wpi - 1] & pad) != 0)
                    throw new UsageException($"label mask of item {i} has bits set at or above class {classes}");
        }
        return new LabelSets(masks, count, classes);
    }

    /// <summary><paramref name="count"/> items that all have the single class <paramref name="target"/>: the query side
    /// of t-MAP, where relevance means "the database item has the target label".</summary>
    public static LabelSets Repeat(int target, int count, int classes)
    {
        ValidateShape(count, classes);
        if ((uint)target >= (uint)classes) throw new UsageException($"target class {target} is outside [0, {classes})");
        int wpi = WordsFor(classes);
        var masks = new ulong[(long)count * wpi];
        for (int i = 0; i < count; i++) masks[(long)i * wpi + (target >> 6)] = 1UL << (target & 63);
        return new LabelSets(masks, count, classes);
    }

    internal void RequireSameClasses(LabelSets other)
    {
        if (other.Classes != Classes)
            throw new UsageException($"label sets over {other.Classes} classes cannot be compared with label sets over {Classes} classes");
    }
}
