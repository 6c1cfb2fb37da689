using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Reports;
using SkiaSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Reports;

/// <summary>Hand-made results and images shared by the report tests.</summary>
internal static class ReportSamples
{
    /// <summary>ciba: two runs, mAP 60 and 70 (65.00 ± 7.07), t-MAP 80 and 90 (85.00 ± 7.07);
    /// database order 70 and 80 (75.00 ± 7.07); clean: one run, mAP 50, t-MAP 10 (± 0.00), no database-order figures (a
    /// result written before tie-aware metrics: n/a).</summary>
    public static ExperimentResults Results()
    {
        var runs = new[]
        {
            new RunResult { Target = 3, TargetName = "dress", Seed = 1, Method = "ciba", Map = 60, TMap = 80, TMapQueriesCounted = 90, TMapQueriesTotal = 100, DatabaseOrder = new DatabaseOrderFigures { TMap = 70 } },
            new RunResult { Target = 3, TargetName = "dress", Seed = 2, Method = "ciba", Map = 70, TMap = 90, TMapQueriesCounted = 95.5, TMapQueriesTotal = 100, DatabaseOrder = new DatabaseOrderFigures { TMap = 80 } },
            new RunResult { Target = 3, TargetName = "dress", Seed = 1, Method = "clean", Map = 50, TMap = 10, TMapQueriesCounted = 40, TMapQueriesTotal = 100 },
        };
        return new ExperimentResults
        {
            Protocol = new Dictionary<string, object?> { ["bits"] = 48 },
            Runs = runs,
            Summary = MethodSummary.From(runs),
        };
    }

    public static Dictionary<string, object?> Protocol() => new()
    {
        ["dataset"] = "Fashion-MNIST",
        ["query"] = 1000,
        ["database"] = 59000,
        ["R"] = 1000,
        ["tieRule"] = "Hamming distance, ties broken by database order (stable)",
        ["queryRule"] = "zero",
        ["seeds"] = new long[] { 1, 2 },
        ["targets"] = new[] { 3 },
        ["repetitions"] = 2,
    };

    /// <summary>A small grey PNG (4x4, a gradient).</summary>
    public static byte[] SmallPng()
    {
        using var t = arange(16, ScalarType.Float32).div(15f).reshape(1, 4, 4);
        return ImagePng.FromTensor(t);
    }

    public static SKBitmap Decode(byte[] png) =>
        SKBitmap.Decode(png) ?? throw new Xunit.Sdk.XunitException("the bytes do not decode as an image");

    public static void AssertPng(byte[] png, int width, int height)
    {
        Assert.True(png.Length > 8 && png[0] == 0x89 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G', "not a PNG signature");
        using var bitmap = Decode(png);
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
    }
}
