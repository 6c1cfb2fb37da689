using System.Text.Json;
using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>An optional config pixel amount: null, or what <see cref="PixelBudgetJsonConverter"/> reads. Written as a
/// number or null.</summary>
public sealed class NullablePixelBudgetJsonConverter : JsonConverter<double?>
{
    private static readonly PixelBudgetJsonConverter Inner = new();

    /// <inheritdoc/>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override double? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : Inner.Read(ref reader, typeof(double), options);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, double? value, JsonSerializerOptions options)
    {
        if (value is double v) writer.WriteNumberValue(v);
        else writer.WriteNullValue();
    }
}
