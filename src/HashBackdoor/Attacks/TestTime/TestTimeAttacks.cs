using System.Text.Json.Nodes;

namespace HashBackdoor.Attacks.TestTime;

/// <summary>
/// Registry of test-time attacks by name (an <see cref="ExtensionRegistry{T}"/>, the same mechanism as
/// <see cref="PoisoningAttacks"/>). Every non-abstract <see cref="ITestTimeAttack"/> of this library with a public
/// constructor taking nothing or its settings record is registered under its <see cref="ITestTimeAttack.Name"/>; other
/// assemblies add theirs with <see cref="Registry"/>. Built in: p2p, dhta.
/// </summary>
public static class TestTimeAttacks
{
    /// <summary>The registry: p2p, dhta first, then others alphabetically.</summary>
    public static readonly ExtensionRegistry<ITestTimeAttack> Registry =
        new ExtensionRegistry<ITestTimeAttack>("test-time attack", "method", a => a.Name, new[] { "p2p", "dhta" })
            .Discover(typeof(TestTimeAttacks).Assembly);

    /// <summary>Registered names: p2p, dhta first, then others alphabetically.</summary>
    public static IReadOnlyList<string> Names => Registry.Names;

    /// <summary>A new instance of the attack called <paramref name="name"/> (case-insensitive), its settings bound from
    /// <paramref name="settings"/> (null: its defaults).</summary>
    /// <exception cref="UsageException">Unknown name (the message lists the known ones) or bad settings.</exception>
    public static ITestTimeAttack Create(string name, JsonNode? settings = null) => Registry.Create(name, settings);

    /// <summary>Registers (or replaces) an attack under <paramref name="name"/>.</summary>
    public static void Register(string name, Func<ITestTimeAttack> factory) => Registry.Register(name, factory);
}
