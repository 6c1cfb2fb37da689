using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace HashBackdoor.Experiments;

/// <summary>
/// Reads JSON or YAML config files into records with System.Text.Json: YAML is first turned into the equivalent JSON
/// (plain scalars that read as numbers, booleans or null become those; quoted scalars stay strings). Unknown keys are
/// rejected, and every failure names the file and, where known, the key. Enums are read by name
/// (<see cref="ConfigEnumConverter"/>), pixel amounts as numbers or "k/255" (<see cref="PixelBudgetJsonConverter"/>).
/// </summary>
public static class ConfigFile
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // "targets:" with no value is null in YAML: refuse it here rather than hand a null list to the code.
        RespectNullableAnnotations = true,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new ConfigEnumConverter() },
    };

    /// <summary>Reads a JSON or YAML file into a record of type <typeparamref name="T"/>; every failure names the file.</summary>
    public static T Load<T>(string path) => Deserialize<T>(ReadNode(path), path);

    /// <summary>Reads a JSON or YAML file as a JSON tree (YAML converted as the class remarks say); null for an empty file.</summary>
    public static JsonNode? ReadNode(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"config file {path}: not found");
        string text = File.ReadAllText(path);
        if (string.IsNullOrWhiteSpace(text)) return null;
        bool yaml = path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);
        try
        {
            string json = text;
            if (yaml)
            {
                try { json = YamlToJson(text); }
                catch (Exception e) when (e is InvalidOperationException or InvalidCastException)
                {
                    // YamlDotNet throws these on some malformed input, e.g. a flow list left open: "[0, 1" then a new line.
                    throw new UsageException($"{path}: invalid YAML (the parser stopped: {e.Message}); check brackets, quotes and keys");
                }
            }
            return JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path}: invalid config: {e.Message.Split(" Path:")[0].Split(" LineNumber:")[0]}");
        }
        catch (ArgumentException e)
        {
            // JsonObject refuses a key given twice.
            throw new UsageException($"{path}: invalid config: {e.Message.ReplaceLineEndings(" ")}");
        }
        catch (YamlException e)
        {
            throw new UsageException($"{path}: invalid YAML at line {e.Start.Line}: {e.Message}");
        }
    }

    /// <summary>Deserializes a JSON tree read from <paramref name="path"/>; failures name the file and the key.</summary>
    public static T Deserialize<T>(JsonNode? node, string path)
    {
        try
        {
            return node.Deserialize<T>(Json) ?? throw new JsonException("the file is empty");
        }
        catch (JsonException e)
        {
            string where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path.TrimStart('$', '.')}";
            string msg = e.Message.Split(" Path:")[0];
            if (msg.Contains("could not be mapped")) msg = $"unknown key{ExtractKey(msg)}";
            else if (msg.Contains("doesn't allow setting null values")) msg = "a value is required (the key is empty or null)";
            throw new UsageException($"{path}: invalid config{where}: {msg}");
        }
    }

    private static string ExtractKey(string msg)
    {
        int a = msg.IndexOf('\''), b = a >= 0 ? msg.IndexOf('\'', a + 1) : -1;
        return a >= 0 && b > a ? $" '{msg[(a + 1)..b]}'" : "";
    }

    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Json);

    /// <summary>Converts a YAML document to JSON text.</summary>
    public static string YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        if (stream.Documents.Count == 0) return "null";
        return Convert(stream.Documents[0].RootNode)?.ToJsonString() ?? "null";
    }

    private static JsonNode? Convert(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    string key = ((YamlScalarNode)k).Value ?? "";
                    if (obj.ContainsKey(key)) throw new JsonException($"duplicate key '{key}'");
                    obj[key] = Convert(v);
                }
                return obj;
            case YamlSequenceNode seq:
                var arr = new JsonArray();
                foreach (var item in seq.Children) arr.Add(Convert(item));
                return arr;
            case YamlScalarNode s:
                string? text = s.Value;
                if (s.Style is ScalarStyle.Plain)
                {
                    if (text is null || text is "~" or "null" or "") return null;
                    if (text is "true" or "false") return JsonValue.Create(text == "true");
                    if (long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long l)) return JsonValue.Create(l);
                    if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d)) return JsonValue.Create(d);
                }
                return JsonValue.Create(text);
            default:
                throw new JsonException($"unsupported YAML node {node.NodeType}");
        }
    }
}
