using System.Reflection;

namespace HashBackdoor.Attacks.TestTime;

/// <summary>
/// Registry of test-time attacks by name. Every non-abstract <see cref="ITestTimeAttack"/> of this library with a public
/// parameterless constructor is registered under its <see cref="ITestTimeAttack.Name"/>, so adding an attack is adding
/// one file (and, to fix its place in listings, one entry of the preferred order); other assemblies add theirs with
/// <see cref="Register"/>. Built in: p2p, dhta.
/// </summary>
public static class TestTimeAttacks
{
    private static readonly string[] Preferred = { "p2p", "dhta" };
    private static readonly object Gate = new();
    private static readonly Dictionary<string, Func<ITestTimeAttack>> Factories = Discover();

    /// <summary>Registered names: p2p, dhta first, then others alphabetically.</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            lock (Gate)
                return Factories.Keys.OrderBy(k => Array.IndexOf(Preferred, k) is var i && i >= 0 ? i : Preferred.Length)
                    .ThenBy(k => k, StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>A new instance of the attack called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="UsageException">Unknown name; the message lists the known ones.</exception>
    public static ITestTimeAttack Create(string name)
    {
        Func<ITestTimeAttack>? factory;
        lock (Gate) Factories.TryGetValue(name ?? "", out factory);
        if (factory is null)
            throw new UsageException($"method {name}: unknown test-time attack (known: {string.Join(", ", Names)})");
        return factory();
    }

    /// <summary>Registers (or replaces) an attack under <paramref name="name"/>.</summary>
    public static void Register(string name, Func<ITestTimeAttack> factory)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("an attack needs a name", nameof(name));
        ArgumentNullException.ThrowIfNull(factory);
        lock (Gate) Factories[name] = factory;
    }

    private static Dictionary<string, Func<ITestTimeAttack>> Discover()
    {
        var found = new Dictionary<string, Func<ITestTimeAttack>>(StringComparer.OrdinalIgnoreCase);
        Type?[] types;
        try { types = typeof(TestTimeAttacks).Assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types; }
        foreach (var type in types)
        {
            if (type is null || type.IsAbstract || type.IsInterface || !typeof(ITestTimeAttack).IsAssignableFrom(type)) continue;
            var ctor = type.GetConstructor(BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
            if (ctor is null) continue;
            var name = ((ITestTimeAttack)ctor.Invoke(null)).Name;
            if (found.ContainsKey(name)) throw new InvalidOperationException($"two test-time attacks are named {name}");
            found[name] = () => (ITestTimeAttack)ctor.Invoke(null);
        }
        return found;
    }
}
