using System.Text.Json.Nodes;

namespace HashBackdoor.Defenses;

/// <summary>
/// Registry of defenses by name (an <see cref="ExtensionRegistry{T}"/>, the same mechanism as the attacks'): one line
/// per defense here, since a defense with a variant (the feature space it inspects) has one name per variant; other
/// assemblies add theirs with <see cref="Registry"/> (Register, Discover). Names are case-insensitive. Built in:
/// spectral, spectral-codes, activation-clustering, activation-clustering-codes, fine-tuning, fine-pruning, strip,
/// neural-cleanse.
/// </summary>
public static class BackdoorDefenses
{
    /// <summary>The registry, built-in defenses first in the order below.</summary>
    public static readonly ExtensionRegistry<IDefense> Registry = Create();

    private static ExtensionRegistry<IDefense> Create()
    {
        var r = new ExtensionRegistry<IDefense>("defense", "defense", d => d.Name);
        r.Register("spectral", () => new SpectralSignatureDefense(FeatureSpace.Penultimate));
        r.Register("spectral-codes", () => new SpectralSignatureDefense(FeatureSpace.Codes));
        r.Register("activation-clustering", () => new ActivationClusteringDefense(FeatureSpace.Penultimate));
        r.Register("activation-clustering-codes", () => new ActivationClusteringDefense(FeatureSpace.Codes));
        // These four are their own settings records: their public init properties are bound from the config section of
        // their name (e.g. strip: { blends: 32 }), their initialisers are the defaults, their Validate checks them.
        r.Register<FineTuningDefense>("fine-tuning", d => d);
        r.Register<FinePruningDefense>("fine-pruning", d => d);
        r.Register<StripDefense>("strip", d => d);
        r.Register<NeuralCleanseDefense>("neural-cleanse", d => d);
        return r;
    }

    /// <summary>Registered names, built-in ones first in the order above.</summary>
    public static IReadOnlyList<string> Names => Registry.Names;

    /// <summary>A new instance of the defense called <paramref name="name"/> (case-insensitive), its settings bound from
    /// <paramref name="settings"/> (null: its defaults).</summary>
    /// <exception cref="UsageException">Unknown name; the message lists the known ones.</exception>
    public static IDefense Create(string name, JsonNode? settings = null) => Registry.Create(name, settings);

    /// <summary>Registers (or replaces) a defense under <paramref name="name"/>.</summary>
    public static void Register(string name, Func<IDefense> factory) => Registry.Register(name, factory);
}
