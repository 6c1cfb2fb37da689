using System.Text.Json.Nodes;
using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;
using HashBackdoor.Defenses;
using HashBackdoor.Experiments;

namespace HashBackdoor.Tests.Attacks;

/// <summary>One registry mechanism (<see cref="ExtensionRegistry{T}"/>) for poisoning attacks, test-time attacks and
/// defenses; an extension with settings is one file, its settings bound from the config section of its name.</summary>
public sealed class ExtensionRegistryTests
{
    /// <summary>A registry of poisoning attacks holding the built-in ones and those of the test assembly (the test
    /// extension <see cref="LouderTriggerAttack"/>), without touching the library's shared registry.</summary>
    private static ExtensionRegistry<IPoisoningAttack> Attacks() =>
        new ExtensionRegistry<IPoisoningAttack>("attack", "methods", a => a.Name, new[] { "tri", "tri+noise", "tri+adv", "ciba" })
            .Discover(typeof(PoisoningAttacks).Assembly)
            .Discover(typeof(LouderTriggerAttack).Assembly);

    private static JsonNode? Section(string yaml, string name)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("hbd-ext-").FullName, "c.yaml");
        File.WriteAllText(path, yaml);
        try { return ConfigFile.ReadNode(path)![name]; }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    [Fact]
    public void TheBuiltInRegistriesKeepTheirNamesAndOrder()
    {
        Assert.Equal(new[] { "tri", "tri+noise", "tri+adv", "ciba" }, PoisoningAttacks.Names);
        Assert.Equal(new[] { "p2p", "dhta" }, TestTimeAttacks.Names);
        Assert.Equal(new[] { "spectral", "spectral-codes", "activation-clustering", "activation-clustering-codes", "fine-tuning", "fine-pruning", "strip", "neural-cleanse" },
            BackdoorDefenses.Names);
        Assert.IsType<CibaAttack>(PoisoningAttacks.Create("CIBA"));
        Assert.Equal("methods nope: unknown attack (known: tri, tri+noise, tri+adv, ciba)", Assert.Throws<UsageException>(() => PoisoningAttacks.Create("nope")).Message);
        Assert.Equal("tri: the attack takes no settings", Assert.Throws<UsageException>(() => PoisoningAttacks.Create("tri", new JsonObject { ["x"] = 1 })).Message);
    }

    [Fact]
    public void AnAttackWithASettingIsOneFileConfiguredFromYaml()
    {
        var registry = Attacks();
        Assert.Equal(new[] { "tri", "tri+noise", "tri+adv", "ciba", "louder-tri" }, registry.Names);
        Assert.Equal(typeof(LouderTriggerSettings), registry.SettingsType("louder-tri"));

        const string yaml = "name: x\nmethods: [tri, louder-tri]\nlouder-tri:\n  repeats: 3\n  note: from yaml\n";
        var attack = Assert.IsType<LouderTriggerAttack>(registry.Create("louder-tri", Section(yaml, "louder-tri")));
        Assert.Equal(new LouderTriggerSettings { Repeats = 3, Note = "from yaml" }, attack.Settings);

        // No section: the settings record's defaults.
        Assert.Equal(new LouderTriggerSettings(), Assert.IsType<LouderTriggerAttack>(registry.Create("LOUDER-TRI")).Settings);
    }

    [Theory]
    [InlineData("louder-tri:\n  repeats: 0\n", "louder-tri.repeats 0: must be at least 1")]
    [InlineData("louder-tri:\n  repaets: 2\n", "louder-tri.repaets: unknown key 'repaets' (known: repeats, note)")]
    [InlineData("louder-tri:\n  repeats: many\n", "louder-tri.repeats: The JSON value could not be converted to System.Int32.")]
    public void BadSettingsNameTheKey(string yaml, string message)
    {
        var e = Assert.Throws<UsageException>(() => Attacks().Create("louder-tri", Section("name: x\n" + yaml, "louder-tri")));
        Assert.StartsWith(message, e.Message);
    }
}
