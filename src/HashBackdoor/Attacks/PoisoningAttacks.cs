using System.Text.Json.Nodes;

namespace HashBackdoor.Attacks;

/// <summary>
/// Registry of poisoning attacks by name (an <see cref="ExtensionRegistry{T}"/>). Every non-abstract
/// <see cref="IPoisoningAttack"/> of this library with a public constructor taking nothing or its settings record is
/// registered under its <see cref="IPoisoningAttack.Name"/>, so adding an attack is adding one file; other assemblies add
/// theirs with <see cref="Registry"/> (Register, Discover). Built in: tri, tri+noise, tri+adv, ciba.
/// </summary>
public static class PoisoningAttacks
{
    /// <summary>The registry: the four of method.md first (tri, tri+noise, tri+adv, ciba), then others alphabetically.</summary>
    public static readonly ExtensionRegistry<IPoisoningAttack> Registry =
        new ExtensionRegistry<IPoisoningAttack>("attack", "methods", a => a.Name, new[] { "tri", "tri+noise", "tri+adv", "ciba" })
            .Discover(typeof(PoisoningAttacks).Assembly);

    /// <summary>Registered names: the four of method.md first, then others alphabetically.</summary>
    public static IReadOnlyList<string> Names => Registry.Names;

    /// <summary>A new instance of the attack called <paramref name="name"/> (case-insensitive), its settings bound from
    /// <paramref name="settings"/> (the config section of its name; null: its defaults).</summary>
    /// <exception cref="UsageException">Unknown name (the message lists the known ones) or bad settings.</exception>
    public static IPoisoningAttack Create(string name, JsonNode? settings = null) => Registry.Create(name, settings);

    /// <summary>Registers (or replaces) an attack under <paramref name="name"/>.</summary>
    public static void Register(string name, Func<IPoisoningAttack> factory) => Registry.Register(name, factory);
}
