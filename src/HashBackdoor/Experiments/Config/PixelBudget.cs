using System.Globalization;

namespace HashBackdoor.Experiments;

/// <summary>
/// The one parser of pixel amounts (perturbation.epsilon, perturbation.stepSize, trigger.alpha, testTimeAttack.epsilon,
/// the ablation's eps, the attack-queries budgets): a number on the 0..1 pixel scale ("0.0314") or a fraction A/B with
/// B &gt; 0, usually grey levels out of 255 ("8/255", "3.2/255"). YAML, JSON and the command line all go through
/// <see cref="Parse"/>.
/// </summary>
public static class PixelBudget
{
    /// <summary>Parses <paramref name="text"/> (invariant culture, surrounding spaces ignored); a <see cref="UsageException"/>
    /// names <paramref name="key"/> otherwise (not a number, a fraction with B &lt;= 0, or not finite).</summary>
    public static double Parse(string text, string key)
    {
        const NumberStyles style = NumberStyles.Float;
        var inv = CultureInfo.InvariantCulture;
        string t = (text ?? "").Trim();
        int slash = t.IndexOf('/');
        if (slash < 0)
        {
            if (double.TryParse(t, style, inv, out double v) && double.IsFinite(v)) return v;
        }
        else if (double.TryParse(t[..slash], style, inv, out double a) && double.TryParse(t[(slash + 1)..], style, inv, out double b)
                 && double.IsFinite(a) && double.IsFinite(b) && b > 0)
            return a / b;
        throw new UsageException($"{key} '{text}': expected a pixel amount, a number on the 0..1 scale (0.0314) or grey levels (8/255)");
    }
}
