using System.Text.Json;
using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments.Reports;

/// <summary>Writes a non-finite double (NaN: not applicable) as JSON null and reads null back as NaN; finite values are
/// rounded to 6 decimals.</summary>
internal sealed class NanAsNullJsonConverter : JsonConverter<double>
{
    /// <inheritdoc/>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(Math.Round(value, 6));
        else writer.WriteNullValue();
    }
}
