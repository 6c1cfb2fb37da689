using System.Globalization;

namespace HashBackdoor.Experiments;

/// <summary>
/// The one parser of pixel amounts (perturbation.epsilon, perturbation.stepSize, trigger.alpha, <c>--vary eps</c>): a
/// number on the 0..1 pixel scale ("0.0314") or grey levels out of 255 ("8/255", "3.2/255"). YAML, JSON and the command
/// line all go through <see cref="Parse"/>.
/// </summary>
public static class PixelBudget
{
    /// <summary>Parses <paramref name="text"/>; a <see cref="UsageException"/> names <paramref name="key"/> otherwise.</summary>
    public static double Parse(string text, string key)
    {
        string t = text.Trim();
        bool grey = t.EndsWith("/255", StringComparison.Ordinal);
        string number = grey ? t[..^4] : t;
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new UsageException($"{key} '{text}': expected a pixel amount, a number on the 0..1 scale (0.0314) or grey levels (8/255)");
        return grey ? v / 255.0 : v;
    }
}
