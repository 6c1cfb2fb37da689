using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace HashBackdoor;

/// <summary>Settings of an extension that can check themselves (called after binding, before the extension is built).</summary>
public interface IExtensionSettings
{
    /// <summary>Throws <see cref="UsageException"/> naming the bad key.</summary>
    void Validate();
}

/// <summary>
/// The one registry mechanism of the toolkit's extensions (poisoning attacks, test-time attacks, defenses): names,
/// case-insensitive, mapped to factories, in a fixed listing order. An extension is one class: a public constructor
/// taking nothing, or taking its settings record (any class with a public parameterless constructor, whose defaults are
/// the extension's); <see cref="Discover"/> finds such classes in an assembly. An extension whose settings are its own
/// public init properties registers itself as its settings record (<c>Register&lt;StripDefense&gt;("strip", d =&gt; d)</c>). The settings are bound from the config
/// section named after the extension (camelCase keys, unknown keys refused, enums by name) and checked by
/// <see cref="IExtensionSettings.Validate"/> when they implement it.
/// </summary>
/// <typeparam name="T">The extension interface.</typeparam>
public sealed class ExtensionRegistry<T> where T : class
{
    /// <summary>How a settings section binds: the config files' rules.</summary>
    public static readonly JsonSerializerOptions SettingsJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        Converters = { new ConfigEnumConverter() },
    };

    private readonly object gate = new();
    private readonly List<Entry> entries = new();
    private readonly string kind;
    private readonly string key;
    private readonly string[]? preferred;
    private readonly Func<T, string> nameOf;

    /// <summary>One registered extension: its name, its settings type (null: none) and its factory.</summary>
    public sealed record Entry(string Name, Type? SettingsType, Func<object?, T> Create);

    /// <param name="kind">What the extensions are, for messages ("attack", "defense").</param>
    /// <param name="key">The config key or parameter that names them, for messages ("methods").</param>
    /// <param name="nameOf">The registry name of an instance (its Name property).</param>
    /// <param name="preferred">Listing order: these names first, then the others alphabetically; null: registration order.</param>
    public ExtensionRegistry(string kind, string key, Func<T, string> nameOf, string[]? preferred = null)
    {
        this.kind = kind;
        this.key = key;
        this.nameOf = nameOf;
        this.preferred = preferred;
    }

    /// <summary>Registered names in listing order.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (gate)
            {
                var names = entries.Select(e => e.Name);
                if (preferred is null) return names.ToArray();
                return names.OrderBy(n => Array.IndexOf(preferred, n) is var i && i >= 0 ? i : preferred.Length).ThenBy(n => n, StringComparer.Ordinal).ToArray();
            }
        }
    }

    /// <summary>The entry called <paramref name="name"/> (case-insensitive), or null.</summary>
    public Entry? Find(string? name)
    {
        lock (gate) return entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The settings type of <paramref name="name"/> (null: it takes none).</summary>
    public Type? SettingsType(string name) => Require(name).SettingsType;

    /// <summary>A new instance of <paramref name="name"/>, with its settings bound from <paramref name="settings"/> (the
    /// config section of its name; null: the defaults).</summary>
    /// <exception cref="UsageException">Unknown name (the message lists the known ones), settings for an extension that
    /// takes none, or bad settings (the message names <c>NAME.key</c>).</exception>
    public T Create(string name, JsonNode? settings = null)
    {
        var entry = Require(name);
        return entry.Create(BindSettings(entry, settings));
    }

    /// <summary>The settings of <paramref name="name"/> bound from <paramref name="section"/> and checked (null when it takes none).</summary>
    public object? BindSettings(string name, JsonNode? section) => BindSettings(Require(name), section);

    /// <summary>Registers (or replaces) an extension without settings.</summary>
    public void Register(string name, Func<T> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Add(new Entry(Checked(name), null, _ => factory()));
    }

    /// <summary>Registers (or replaces) an extension with settings <typeparamref name="TSettings"/>.</summary>
    public void Register<TSettings>(string name, Func<TSettings, T> factory) where TSettings : class, new()
    {
        ArgumentNullException.ThrowIfNull(factory);
        Add(new Entry(Checked(name), typeof(TSettings), s => factory((TSettings)(s ?? new TSettings()))));
    }

    /// <summary>Removes the extension called <paramref name="name"/> (case-insensitive); false when there was none.</summary>
    public bool Remove(string name)
    {
        lock (gate) return entries.RemoveAll(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase)) > 0;
    }

    /// <summary>Registers every non-abstract <typeparamref name="T"/> of <paramref name="assembly"/> with a public
    /// constructor taking nothing or taking a settings record, under the name its default instance gives. Returns this.</summary>
    /// <exception cref="InvalidOperationException">Two classes give the same name.</exception>
    public ExtensionRegistry<T> Discover(Assembly assembly)
    {
        Type?[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types; }
        var found = new List<Entry>();
        foreach (var type in types.OfType<Type>().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            if (type.IsAbstract || type.IsInterface || type.ContainsGenericParameters || !typeof(T).IsAssignableFrom(type)) continue;
            var entry = EntryOf(type);
            if (entry is null) continue;
            if (found.Any(e => string.Equals(e.Name, entry.Name, StringComparison.OrdinalIgnoreCase)))
                throw new InvalidOperationException($"two {kind}s are named {entry.Name}");
            found.Add(entry);
        }
        foreach (var e in found) Add(e);
        return this;
    }

    private Entry? EntryOf(Type type)
    {
        var ctors = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance);
        if (ctors.FirstOrDefault(c => c.GetParameters().Length == 0) is { } plain)
            return new Entry(nameOf((T)plain.Invoke(null)), null, _ => (T)plain.Invoke(null));
        foreach (var c in ctors)
        {
            var ps = c.GetParameters();
            if (ps.Length != 1 || ps[0].ParameterType is not { IsClass: true } st || st == typeof(string)
                || st.GetConstructor(Type.EmptyTypes) is not { } settingsCtor) continue;
            var name = nameOf((T)c.Invoke(new[] { settingsCtor.Invoke(null) }));
            return new Entry(name, st, s => (T)c.Invoke(new[] { s ?? settingsCtor.Invoke(null) }));
        }
        return null;
    }

    private object? BindSettings(Entry entry, JsonNode? section)
    {
        if (entry.SettingsType is null)
        {
            if (section is null) return null;
            throw new UsageException($"{entry.Name}: the {kind} takes no settings");
        }
        if (section is JsonObject keys)
        {
            var known = SettableKeys(entry.SettingsType);
            foreach (var (key, _) in keys)
                if (!known.Contains(key))
                    throw new UsageException($"{entry.Name}.{key}: unknown key '{key}' (known: {string.Join(", ", known)})");
        }
        object settings;
        try
        {
            settings = section is null ? Activator.CreateInstance(entry.SettingsType)! : section.Deserialize(entry.SettingsType, SettingsJson)
                ?? throw new JsonException("empty section");
        }
        catch (JsonException e)
        {
            string at = e.Path is { Length: > 1 } p ? entry.Name + p[1..] : entry.Name;
            throw new UsageException($"{at}: {e.Message.Split(" Path:")[0]}", e);
        }
        (settings as IExtensionSettings)?.Validate();
        return settings;
    }

    /// <summary>The config keys of a settings type: its public settable (set or init) properties, camelCase, in
    /// declaration order; what it only reads (an extension's Name, say) is not a key.</summary>
    private static IReadOnlyList<string> SettableKeys(Type settingsType) =>
        settingsType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)
            .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).ToArray();

    private Entry Require(string name) =>
        Find(name) ?? throw new UsageException($"{key} {name}: unknown {kind} (known: {string.Join(", ", Names)})");

    private string Checked(string name) =>
        string.IsNullOrWhiteSpace(name) ? throw new ArgumentException($"a {kind} needs a name", nameof(name)) : name;

    private void Add(Entry entry)
    {
        lock (gate)
        {
            int i = entries.FindIndex(e => string.Equals(e.Name, entry.Name, StringComparison.OrdinalIgnoreCase));
            if (i >= 0) entries[i] = entry;
            else entries.Add(entry);
        }
    }
}
