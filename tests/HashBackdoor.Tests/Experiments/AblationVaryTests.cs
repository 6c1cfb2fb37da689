using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary><c>hashbd ablate --vary NAME=V1,V2,...</c>: parsing, eps as a fraction of 255, and every variant validated
/// before anything is trained or written.</summary>
public class AblationVaryTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private const string Known = "poisons, trigger-size, trigger-steps, eps, lambda, rounds, bits, epochs";

    [Fact]
    public void ParsesNameAndValues()
    {
        var (name, values) = AblationRunner.ParseVary("poisons=25, 50,100 ,200");
        Assert.Equal("poisons", name);
        Assert.Equal(new[] { "25", "50", "100", "200" }, values);
        (name, values) = AblationRunner.ParseVary("eps=4/255,8/255");
        Assert.Equal("eps", name);
        Assert.Equal(new[] { "4/255", "8/255" }, values);
    }

    [Theory]
    [InlineData("colour=1,2", "vary colour: unknown setting (known: " + Known + ")")]
    [InlineData("poisons=", "vary poisons=: no values given")]
    [InlineData("poisons= , ,", "vary poisons= , ,: no values given")]
    [InlineData("poisons=25,50,25", "vary poisons=25,50,25: a value is listed twice")]
    [InlineData("poisons", "vary poisons: expected NAME=V1,V2,... (names: " + Known + ")")]
    [InlineData("=1,2", "vary =1,2: expected NAME=V1,V2,... (names: " + Known + ")")]
    public void BadVaryIsUsageError(string vary, string message)
    {
        var e = Assert.Throws<UsageException>(() => AblationRunner.ParseVary(vary));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void EpsilonAsGreyLevelsOrFraction()
    {
        Assert.Equal(8 / 255.0, AblationRunner.Eps("8/255"));
        Assert.Equal(0.5 / 255.0, AblationRunner.Eps("0.5/255"));
        Assert.Equal(0.031, AblationRunner.Eps("0.031"));
        Assert.Equal("vary eps 'x/255': expected a pixel amount, a number on the 0..1 scale (0.0314) or grey levels (8/255)", Assert.Throws<UsageException>(() => AblationRunner.Eps("x/255")).Message);
        Assert.Equal(8 / 256.0, AblationRunner.Eps("8/256")); // any fraction A/B with B > 0 (PixelBudget)
        Assert.Equal("vary eps '8/0': expected a pixel amount, a number on the 0..1 scale (0.0314) or grey levels (8/255)", Assert.Throws<UsageException>(() => AblationRunner.Eps("8/0")).Message);
        var c = AblationRunner.Settings["eps"](Tiny.Experiment, "8/255");
        Assert.Equal(8 / 255.0, c.Perturbation.Epsilon);
        Assert.Equal(Tiny.Experiment.Perturbation with { Epsilon = 8 / 255.0 }, c.Perturbation);
        // The same parser reads a config file's budgets.
        Assert.Equal(PixelBudget.Parse("8/255", "perturbation.epsilon"), AblationRunner.Eps("8/255"));
    }

    [Fact]
    public void SettingsChangeOnlyTheirKey()
    {
        var b = Tiny.Experiment;
        Assert.Equal(b with { Poison = new PoisonConfig { Count = 7 } }, AblationRunner.Settings["poisons"](b, "7"));
        Assert.Equal(b with { Model = b.Model with { Bits = 32 } }, AblationRunner.Settings["bits"](b, "32"));
        Assert.Equal(b with { Trigger = b.Trigger with { Size = 2 } }, AblationRunner.Settings["trigger-size"](b, "2"));
        Assert.Equal("vary poisons: 'many' is not an integer", Assert.Throws<UsageException>(() => AblationRunner.Settings["poisons"](b, "many")).Message);
    }

    [Fact]
    public void AblateCommandWithBadVaryExitsWithTwoAndWritesNothing()
    {
        string config = tmp["tiny.json"];
        File.WriteAllText(config, ConfigFile.ToJson(Tiny.Experiment));
        var r = Hashbd.Run("ablate", "--config", config, "--vary", "colour=1,2", "--out", tmp["ablation"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: error: --vary colour: unknown setting (known: " + Known + ")", r.SingleErrorLine());
        Assert.False(Directory.Exists(tmp["ablation"]));
    }

    [Theory]
    [InlineData("eps=8/255,300/255", "perturbation.epsilon 1.1764705882352942: must lie in [0, 1] (pixel units on a 0..1 scale; 8/255 = 0.03137)")]
    [InlineData("bits=16,12", "model.bits 12: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096")]
    [InlineData("poisons=2,0", "poison.count 0: must be at least 1")]
    [InlineData("lambda=0.5,1.5", "perturbation.lambda 1.5: must lie in [0, 1]")]
    public void EveryVariantIsValidatedBeforeAnythingRuns(string vary, string message)
    {
        string dir = tmp["ablation"];
        var e = Assert.Throws<UsageException>(() => AblationRunner.Run(Tiny.Experiment, vary, dir, resume: false, RunProgress.None, queries: QuerySet.Test));
        Assert.Equal(message, e.Message);
        Assert.False(Directory.Exists(dir));
    }
}
