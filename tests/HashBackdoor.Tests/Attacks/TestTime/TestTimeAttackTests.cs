using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks.TestTime;

/// <summary>DHTA's and P2P's target codes, the registry, and the context's input checks.</summary>
[Collection("Attacks")]
public class TestTimeAttackTests
{
    private static readonly TestTimeAttackOptions Short = new() { Epsilon = 8.0 / 255, Steps = 2 };

    [Fact]
    public void DhtaTargetIsTheAnchorCodeOfTheTargetClassForEveryQuery()
    {
        using var model = AttackTestData.TinyModel();
        using var train = AttackTestData.Dataset(perClass: 10);
        using var codes = AttackTestData.Codes(model, train.Images);
        using var queries = AttackTestData.Images(4, seed: 31);
        for (int target = 0; target < AttackTestData.Classes; target++)
        {
            var expected = AnchorCode.ComputeReference(AttackTestData.Values(codes), train.Count, AttackTestData.Bits,
                AttackTestData.Values(train.Labels), AttackTestData.Classes, target);
            using var result = new DhtaAttack().Attack(queries, new TestTimeAttackContext(model, codes, train.Labels, target, Short));
            Assert.Equal(new long[] { 4, AttackTestData.Bits }, result.TargetCodes.shape);
            var got = AttackTestData.Values(result.TargetCodes);
            for (int q = 0; q < 4; q++) Assert.Equal(expected, got.Skip(q * AttackTestData.Bits).Take(AttackTestData.Bits).ToArray());
            Assert.Empty(result.TargetRows);
        }
    }

    [Fact]
    public void P2pTargetsAreCodesOfSeededTargetClassTrainingRows()
    {
        using var model = AttackTestData.TinyModel();
        using var train = AttackTestData.Dataset(perClass: 10);
        using var codes = AttackTestData.Codes(model, train.Images);
        using var queries = AttackTestData.Images(12, seed: 32);
        const int target = 2;
        using var a = new P2pAttack().Attack(queries, new TestTimeAttackContext(model, codes, train.Labels, target, Short with { Seed = 5 }));
        using var b = new P2pAttack().Attack(queries, new TestTimeAttackContext(model, codes, train.Labels, target, Short with { Seed = 5 }));
        using var c = new P2pAttack().Attack(queries, new TestTimeAttackContext(model, codes, train.Labels, target, Short with { Seed = 6 }));
        Assert.Equal(12, a.TargetRows.Length);
        var labels = AttackTestData.Values(train.Labels);
        var allCodes = AttackTestData.Values(codes);
        var targetCodes = AttackTestData.Values(a.TargetCodes);
        for (int q = 0; q < a.TargetRows.Length; q++)
        {
            long row = a.TargetRows[q];
            // labelled with the target class alone (the multi-label last row {0, 1} never qualifies)
            for (int cls = 0; cls < AttackTestData.Classes; cls++)
                Assert.Equal(cls == target ? 1f : 0f, labels[row * AttackTestData.Classes + cls]);
            Assert.Equal(allCodes.Skip((int)row * AttackTestData.Bits).Take(AttackTestData.Bits),
                targetCodes.Skip(q * AttackTestData.Bits).Take(AttackTestData.Bits));
        }
        Assert.Equal(a.TargetRows, b.TargetRows);
        Assert.True(AttackTestData.Same(a.Adversarial, b.Adversarial), "same seed, same adversarial images");
        Assert.NotEqual(a.TargetRows, c.TargetRows);
        Assert.True(a.TargetRows.Distinct().Count() > 1, "targets are drawn per query");
    }

    [Fact]
    public void P2pRowChoiceIsUniformOverCandidates()
    {
        var candidates = new long[] { 3, 8, 11, 20 };
        var rows = P2pAttack.ChooseRows(candidates, 4000, seed: 1);
        Assert.All(rows, r => Assert.Contains(r, candidates));
        foreach (long c in candidates) Assert.InRange(rows.Count(r => r == c), 850, 1150);
    }

    [Fact]
    public void RegistryFindsBothAttacksByName()
    {
        Assert.Equal(new[] { "p2p", "dhta" }, TestTimeAttacks.Names.Take(2));
        Assert.IsType<DhtaAttack>(TestTimeAttacks.Create("DHTA"));
        Assert.IsType<P2pAttack>(TestTimeAttacks.Create("p2p"));
        var e = Assert.Throws<UsageException>(() => TestTimeAttacks.Create("fgsm"));
        Assert.Contains("method fgsm", e.Message);
        Assert.Contains("p2p, dhta", e.Message);
    }

    [Fact]
    public void BadContextsAreOneLineUsageErrors()
    {
        using var model = AttackTestData.TinyModel();
        using var train = AttackTestData.Dataset(perClass: 4);
        using var codes = AttackTestData.Codes(model, train.Images);
        using var queries = AttackTestData.Images(2);
        var unknown = Assert.Throws<UsageException>(() => new DhtaAttack().Attack(queries, new TestTimeAttackContext(model, codes, train.Labels, 3, Short)));
        Assert.Contains("3", unknown.Message);
        Assert.Contains("unknown class", unknown.Message);
        using var shortCodes = codes.narrow(1, 0, 8);
        var bits = Assert.Throws<UsageException>(() => new P2pAttack().Attack(queries, new TestTimeAttackContext(model, shortCodes, train.Labels, 0, Short)));
        Assert.Contains("8 bits but the model has 16", bits.Message);
        var eps = Assert.Throws<UsageException>(() => new DhtaAttack().Attack(queries, new TestTimeAttackContext(model, codes, train.Labels, 0, Short with { Epsilon = 0 })));
        Assert.StartsWith("testTimeAttack.epsilon 0", eps.Message);
        foreach (var m in new[] { unknown.Message, bits.Message, eps.Message }) Assert.DoesNotContain("\n", m);
    }
}
