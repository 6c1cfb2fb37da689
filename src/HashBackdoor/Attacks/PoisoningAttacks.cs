using System.Reflection;

namespace HashBackdoor.Attacks;

/// <summary>
/// Registry of poisoning attacks by name. Every non-abstract <see cref="IPoisoningAttack"/> of this library with a public
/// parameterless constructor is registered under its <see cref="IPoisoningAttack.Name"/>, so adding an attack is adding
/// one file; other assemblies add theirs with <see cref="Register"/>. Built in: tri, tri+noise, tri+adv, ciba.
/// </summary>
public static class PoisoningAttacks
{
    private static readonly string[] Preferred = { "tri", "tri+noise", "tri+adv", "ciba" };
    private static readonly object Gate = new();
    private static readonly Dictionary<string, Func<IPoisoningAttack>> Factories = Discover();

    /// <summary>Registered names: the four of method.md first (tri, tri+noise, tri+adv, ciba), then others alphabetically.</summary>
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
    public static IPoisoningAttack Create(string name)
    {
        Func<IPoisoningAttack>? factory;
        lock (Gate) Factories.TryGetValue(name ?? "", out factory);
        if (factory is null)
            throw new UsageException($"methods {name}: unknown attack (known: {string.Join(", ", Names)})");
        return factory();
    }

    /// <summary>Registers (or replaces) an attack under <paramref name="name"/>.</summary>
    public static void Register(string name, Func<IPoisoningAttack> factory)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("an attack needs a name", nameof(name));
        ArgumentNullException.ThrowIfNull(factory);
        lock (Gate) Factories[name] = factory;
    }

    private static Dictionary<string, Func<IPoisoningAttack>> Discover()
    {
        var found = new Dictionary<string, Func<IPoisoningAttack>>(StringComparer.OrdinalIgnoreCase);
        Type?[] types;
        try { types = typeof(PoisoningAttacks).Assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types; }
        foreach (var type in types)
        {
            if (type is null || type.IsAbstract || type.IsInterface || !typeof(IPoisoningAttack).IsAssignableFrom(type)) continue;
            var ctor = type.GetConstructor(BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
            if (ctor is null) continue;
            var name = ((IPoisoningAttack)ctor.Invoke(null)).Name;
            if (found.ContainsKey(name)) throw new InvalidOperationException($"two poisoning attacks are named {name}");
            found[name] = () => (IPoisoningAttack)ctor.Invoke(null);
        }
        return found;
    }
}
