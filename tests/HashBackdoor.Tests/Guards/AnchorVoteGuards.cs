using HashBackdoor.Attacks;
using HashBackdoor.Tests.Attacks;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// The anchor vote of method.md section 3 (h_a = sign of the summed codes of the images labelled with the target alone,
/// ties 0) beyond its two hand cases: complete ties, a single voter whose zeros survive, which rows may vote (multi-label
/// rows containing the target, unlabelled rows and other classes may not), label and code dtypes, and a brute-force
/// comparison that counts +1 and -1 votes per bit (not the sum the library and its reference take).
/// </summary>
[Collection("Attacks")]
public class AnchorVoteGuards
{
    private static float[] Vote(float[] codes, int n, int k, float[] labels, int c, int target)
    {
        using var tc = tensor(codes, new long[] { n, k });
        using var tl = tensor(labels, new long[] { n, c });
        using var anchor = AnchorCode.Compute(tc, tl, target);
        Assert.Equal(new long[] { k }, anchor.shape);
        return AttackTestData.Values(anchor);
    }

    [Fact]
    public void OppositeVotersTieOnEveryBit()
    {
        float[] codes = { 1, -1, 1, -1, 1, -1, /* */ -1, 1, -1, 1, -1, 1 };
        float[] labels = { 0, 1, 0, 1 };                     // both rows {1}
        Assert.Equal(new float[6], Vote(codes, 2, 6, labels, 2, 1));
    }

    [Fact]
    public void ASingleVoterIsCopiedZerosIncluded()
    {
        float[] codes = { 1, 0, -1, 1, /* other class */ -1, -1, 1, 1 };
        float[] labels = { 1, 0, 0, 1 };
        Assert.Equal(new float[] { 1, 0, -1, 1 }, Vote(codes, 2, 4, labels, 2, 0));
        Assert.Equal(new float[] { -1, -1, 1, 1 }, Vote(codes, 2, 4, labels, 2, 1));
    }

    [Fact]
    public void OnlyRowsLabelledWithTheTargetAloneVote()
    {
        // Target 2 of 4. Row 0 {2} votes +1 everywhere. Rows 1-4 would each flip the vote if counted:
        // {2, 0} and {2, 3} contain the target, {} has no label, {1} is another class.
        float[] codes =
        {
             1,  1,  1,
            -1, -1, -1,
            -1, -1, -1,
            -1, -1, -1,
            -1, -1, -1,
        };
        float[] labels =
        {
            0, 0, 1, 0,
            1, 0, 1, 0,
            0, 0, 1, 1,
            0, 0, 0, 0,
            0, 1, 0, 0,
        };
        Assert.Equal(new float[] { 1, 1, 1 }, Vote(codes, 5, 3, labels, 4, 2));
    }

    [Fact]
    public void LabelAndCodeDtypesDoNotChangeTheVote()
    {
        float[] codes = { 1, -1, 1, 1, -1, -1, -1, 1, 1 };
        float[] labels = { 0, 1, 0, 1, 1, 1 };                // rows {1}, {1}, {0, 1}
        using var c64 = tensor(codes.Select(v => (double)v).ToArray(), new long[] { 3, 3 });
        using var c8 = tensor(codes.Select(v => (sbyte)v).ToArray(), new long[] { 3, 3 });
        using var l64 = tensor(labels.Select(v => (double)v).ToArray(), new long[] { 3, 2 });
        using var a = AnchorCode.Compute(c64, l64, 1);
        using var b = AnchorCode.Compute(c8, l64, 1);
        // Rows 0 and 1 vote ({1}); row 2 is {0, 1}: [1 + 1, -1 - 1, 1 - 1] -> [1, -1, 0].
        Assert.Equal(new float[] { 1, -1, 0 }, AttackTestData.Values(a));
        Assert.Equal(new float[] { 1, -1, 0 }, AttackTestData.Values(b));
    }

    [Theory]
    [InlineData(1, 80, 20, 3)]
    [InlineData(2, 200, 48, 5)]
    [InlineData(3, 31, 7, 2)]
    public void VoteEqualsABruteForceCountOfPlusAndMinusVotes(int seed, int n, int k, int c)
    {
        var rng = new Random(seed);
        var codes = new float[n * k];
        for (int i = 0; i < codes.Length; i++) codes[i] = rng.Next(7) switch { 0 => 0, < 4 => 1, _ => -1 };
        var labels = new float[n * c];
        for (int i = 0; i < n; i++)
        {
            if (rng.Next(10) == 0) continue;                         // some unlabelled rows
            labels[i * c + rng.Next(c)] = 1;
            if (rng.Next(3) == 0) labels[i * c + rng.Next(c)] = 1;   // multi-label rows
        }
        for (int target = 0; target < c; target++)
        {
            var voters = Enumerable.Range(0, n)
                .Where(i => Enumerable.Range(0, c).All(j => labels[i * c + j] == (j == target ? 1 : 0))).ToList();
            if (voters.Count == 0) continue;
            var expected = new float[k];
            for (int b = 0; b < k; b++)
            {
                int plus = voters.Count(i => codes[i * k + b] > 0), minus = voters.Count(i => codes[i * k + b] < 0);
                expected[b] = plus > minus ? 1 : plus < minus ? -1 : 0;
            }
            Assert.Equal(expected, Vote(codes, n, k, labels, c, target));
        }
    }

    [Fact]
    public void MalformedInputsAreRejected()
    {
        using var codes3 = zeros(2, 3, 1);
        using var codes = ones(2, 3);
        using var labels = tensor(new float[] { 1, 0, 0, 1 }, new long[] { 2, 2 });
        using var labels3 = tensor(new float[] { 1, 0, 0, 1, 1, 0 }, new long[] { 3, 2 });
        using var labels1 = tensor(new float[] { 1, 0 });
        Assert.Throws<ArgumentException>(() => AnchorCode.Compute(codes3, labels, 0));
        Assert.Throws<ArgumentException>(() => AnchorCode.Compute(codes, labels3, 0));
        Assert.Throws<ArgumentException>(() => AnchorCode.Compute(codes, labels1, 0));
        Assert.Contains("targets -1", Assert.Throws<UsageException>(() => AnchorCode.Compute(codes, labels, -1)).Message);
        Assert.Contains("targets 2", Assert.Throws<UsageException>(() => AnchorCode.Compute(codes, labels, 2)).Message);
    }
}
