using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;

namespace HashBackdoor.Experiments;

/// <summary>
/// The one registry of the rows an experiment reports, by key (the <c>method</c> of results.json and the folder name
/// under a target): <see cref="Clean"/> ("clean": the trigger on the clean model, shown as "patch only"), the poisoning
/// attacks of <see cref="PoisoningAttacks"/> (shown by their name) and the test-time attacks of
/// <see cref="TestTimeAttacks"/> run against the clean model (shown as "NAME (test-time)"). Keys stay as they were for
/// compatibility with earlier results; every table and chart shows <see cref="Display"/>.
/// </summary>
public static class MethodNames
{
    /// <summary>Key of the clean model queried with triggered images (<see cref="RunFolder.CleanMethod"/>).</summary>
    public const string Clean = RunFolder.CleanMethod;

    /// <summary>Display name of <see cref="Clean"/>.</summary>
    public const string PatchOnly = "patch only";

    /// <summary>Suffix of a test-time attack's display name.</summary>
    public const string TestTimeSuffix = " (test-time)";

    /// <summary>Whether <paramref name="key"/> is the (lower-case) name of a registered test-time attack and of no
    /// poisoning attack.</summary>
    public static bool IsTestTime(string key) =>
        TestTimeAttacks.Names.Contains(key, StringComparer.Ordinal) && !PoisoningAttacks.Names.Contains(key, StringComparer.OrdinalIgnoreCase);

    /// <summary>The name tables and charts show for a row key: "patch only" for clean, "NAME (test-time)" for a test-time
    /// attack, the key itself otherwise.</summary>
    public static string Display(string key) =>
        key == Clean ? PatchOnly : IsTestTime(key) ? key + TestTimeSuffix : key;

    /// <summary>The row keys of a config in report order: clean, the poisoning methods, the test-time attacks.</summary>
    public static IReadOnlyList<string> Rows(ExperimentConfig config) =>
        new[] { Clean }.Concat(config.Methods).Concat(config.TestTime).ToArray();

    /// <summary>The method the paired comparisons are made for: ciba when it ran, else the last poisoning method, else the
    /// last test-time attack, else clean.</summary>
    public static string Reference(ExperimentConfig config) =>
        config.Methods.Contains("ciba") ? "ciba" : config.Methods.Count > 0 ? config.Methods[^1] : config.TestTime.Count > 0 ? config.TestTime[^1] : Clean;
}
