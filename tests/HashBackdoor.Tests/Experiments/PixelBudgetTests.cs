using HashBackdoor.Experiments;

namespace HashBackdoor.Tests.Experiments;

/// <summary><see cref="PixelBudget.Parse"/>, the one parser of pixel amounts: it accepts what either of the two former
/// parsers accepted (config "x" and "k/255"; attack-queries "x" and any "a/b" with b &gt; 0) and nothing else.</summary>
public sealed class PixelBudgetTests
{
    [Theory]
    [InlineData("0.0314", 0.0314)]
    [InlineData(" 0.5 ", 0.5)]
    [InlineData("1e-2", 0.01)]
    [InlineData("-0.25", -0.25)] // range is the caller's check (testTimeAttack.epsilon must be positive)
    [InlineData("8/255", 8 / 255.0)]
    [InlineData("3.2/255", 3.2 / 255.0)]
    [InlineData(" 8 /255", 8 / 255.0)]
    [InlineData("8/ 255", 8 / 255.0)]
    [InlineData("8/256", 0.03125)]
    [InlineData("1/4", 0.25)]
    [InlineData("-2/255", -2 / 255.0)]
    public void AcceptsNumbersAndFractions(string text, double expected) =>
        Assert.Equal(expected, PixelBudget.Parse(text, "perturbation.epsilon"));

    [Theory]
    [InlineData("")]
    [InlineData("eight")]
    [InlineData("x/255")]
    [InlineData("8/")]
    [InlineData("/255")]
    [InlineData("1/0")]
    [InlineData("1/-255")]
    [InlineData("8/255/2")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("1e400/255")]
    [InlineData("8,5")]
    public void RefusesAnythingElseNamingTheKey(string text) =>
        Assert.Equal($"testTimeAttack.stepSize '{text}': expected a pixel amount, a number on the 0..1 scale (0.0314) or grey levels (8/255)",
            Assert.Throws<UsageException>(() => PixelBudget.Parse(text, "testTimeAttack.stepSize")).Message);

    [Fact]
    public void GreyLevelsGiveTheSameDoubleAsDividingBy255()
    {
        // Results must not move: "k/255" is k / 255.0 exactly as both former parsers computed it.
        for (int k = 0; k <= 255; k++) Assert.Equal(k / 255.0, PixelBudget.Parse($"{k}/255", "eps"));
    }
}
