namespace HashBackdoor.Defenses;

/// <summary>
/// Registry of defenses by name: one line per defense (a defense with a variant, such as the feature space it inspects,
/// has one line per variant). Names are case-insensitive. Built in: spectral, spectral-codes, activation-clustering,
/// activation-clustering-codes, fine-tuning, fine-pruning, strip, neural-cleanse.
/// </summary>
public static class BackdoorDefenses
{
    private static readonly object Gate = new();
    private static readonly List<(string Name, Func<IDefense> Create)> Ordered = new()
    {
        ("spectral", () => new SpectralSignatureDefense(FeatureSpace.Penultimate)),
        ("spectral-codes", () => new SpectralSignatureDefense(FeatureSpace.Codes)),
        ("activation-clustering", () => new ActivationClusteringDefense(FeatureSpace.Penultimate)),
        ("activation-clustering-codes", () => new ActivationClusteringDefense(FeatureSpace.Codes)),
        ("fine-tuning", () => new FineTuningDefense()),
        ("fine-pruning", () => new FinePruningDefense()),
        ("strip", () => new StripDefense()),
        ("neural-cleanse", () => new NeuralCleanseDefense()),
    };

    /// <summary>Registered names, built-in ones first in the order above.</summary>
    public static IReadOnlyList<string> Names
    {
        get { lock (Gate) return Ordered.Select(e => e.Name).ToArray(); }
    }

    /// <summary>A new instance of the defense called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="UsageException">Unknown name; the message lists the known ones.</exception>
    public static IDefense Create(string name)
    {
        Func<IDefense>? factory;
        lock (Gate) factory = Ordered.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase)).Create;
        if (factory is null) throw new UsageException($"defense {name}: unknown defense (known: {string.Join(", ", Names)})");
        return factory();
    }

    /// <summary>Registers (or replaces) a defense under <paramref name="name"/>.</summary>
    public static void Register(string name, Func<IDefense> factory)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a defense needs a name", nameof(name));
        ArgumentNullException.ThrowIfNull(factory);
        lock (Gate)
        {
            int i = Ordered.FindIndex(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
            if (i >= 0) Ordered[i] = (name, factory);
            else Ordered.Add((name, factory));
        }
    }
}
