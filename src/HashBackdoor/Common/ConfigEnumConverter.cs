using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HashBackdoor;

/// <summary>
/// Reads and writes every enum of a config by name: the lower-case kebab name of the value ("adam", "flip-shift",
/// "independent"), or the name given by <see cref="JsonStringEnumMemberNameAttribute"/>; <see cref="ConfigAliasAttribute"/>
/// adds accepted names. Numbers and unknown names are refused with the list of known names.
/// </summary>
public sealed class ConfigEnumConverter : JsonConverterFactory
{
    /// <inheritdoc/>
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    /// <inheritdoc/>
    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert))!;

    /// <summary>The config name of <paramref name="value"/>.</summary>
    public static string NameOf<T>(T value) where T : struct, Enum => Names<T>.Canonical[value];

    /// <summary>Parses a config name of <typeparamref name="T"/>; <see cref="UsageException"/> naming <paramref name="key"/>
    /// and the known names otherwise.</summary>
    public static T Parse<T>(string text, string key) where T : struct, Enum =>
        Names<T>.Accepted.TryGetValue(text, out var v) ? v : throw new UsageException($"{key} {text}: unknown (known: {Names<T>.Known})");

    private static class Names<T> where T : struct, Enum
    {
        public static readonly Dictionary<T, string> Canonical = new();
        public static readonly Dictionary<string, T> Accepted = new(StringComparer.Ordinal);
        public static readonly string Known;

        static Names()
        {
            foreach (var field in typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                var value = (T)field.GetValue(null)!;
                string name = field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? JsonNamingPolicy.KebabCaseLower.ConvertName(field.Name);
                Canonical[value] = name;
                Accepted[name] = value;
                foreach (var alias in field.GetCustomAttributes<ConfigAliasAttribute>()) Accepted[alias.Alias] = value;
            }
            Known = string.Join(", ", Canonical.Values);
        }
    }

    private sealed class Converter<T> : JsonConverter<T> where T : struct, Enum
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String) throw new JsonException($"expected one of {Names<T>.Known}");
            string text = reader.GetString()!;
            return Names<T>.Accepted.TryGetValue(text, out var v) ? v : throw new JsonException($"'{text}' is unknown (known: {Names<T>.Known})");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(Names<T>.Canonical[value]);
    }
}
