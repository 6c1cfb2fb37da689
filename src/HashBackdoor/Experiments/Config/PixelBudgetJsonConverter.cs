using System.Text.Json;
using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>A config pixel amount: a JSON number, or a string that <see cref="PixelBudget.Parse"/> reads ("8/255").
/// Written as a number.</summary>
public sealed class PixelBudgetJsonConverter : JsonConverter<double>
{
    /// <inheritdoc/>
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number) return reader.GetDouble();
        if (reader.TokenType != JsonTokenType.String) throw new JsonException("expected a pixel amount (0.0314 or 8/255)");
        string text = reader.GetString()!;
        try { return PixelBudget.Parse(text, "value"); }
        catch (UsageException) { throw new JsonException($"'{text}' is not a pixel amount (0.0314 or 8/255)"); }
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}
