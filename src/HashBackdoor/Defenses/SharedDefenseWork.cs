namespace HashBackdoor.Defenses;

/// <summary>
/// Work that several defense runs on the same victim would otherwise repeat, computed once and kept by key: the
/// fine-tuned copy of the victim (fine-tuning IS fine-pruning at ratio 0), a derived model's database codes and clean
/// mAP, STRIP's calibration and clean-query scores, Neural Cleanse's reversed triggers. A key names everything the value
/// depends on besides the victim and its data (settings, seeds, pruned channels, the target where it matters), so a
/// shared value is exactly the value a fresh computation would give. One instance belongs to one victim on one training
/// set; the attack x defense matrix hands the same instance to the clean model's runs on every target (the clean model
/// and its training set do not depend on the target). Values that are <see cref="IDisposable"/> are disposed with it.
/// </summary>
public sealed class SharedDefenseWork : IDisposable
{
    private readonly object gate = new();
    private readonly Dictionary<string, object> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> reused = new(StringComparer.Ordinal);
    private bool disposed;

    /// <summary>The value under <paramref name="key"/>, made by <paramref name="make"/> on first use (under a lock: the
    /// defenses of one victim run one after the other).</summary>
    public T GetOrAdd<T>(string key, Func<T> make) where T : notnull
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (values.TryGetValue(key, out var found))
            {
                reused.Add(key);
                return (T)found;
            }
            var value = make();
            values[key] = value;
            return value;
        }
    }

    /// <summary>Whether a value is stored under <paramref name="key"/>.</summary>
    public bool Contains(string key)
    {
        lock (gate) return values.ContainsKey(key);
    }

    /// <summary>Keys whose value was handed out more than once (for the record and for tests).</summary>
    public IReadOnlyCollection<string> Reused
    {
        get { lock (gate) return reused.ToArray(); }
    }

    /// <summary>Disposes every stored value that is disposable.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            foreach (var v in values.Values) (v as IDisposable)?.Dispose();
            values.Clear();
        }
    }
}
