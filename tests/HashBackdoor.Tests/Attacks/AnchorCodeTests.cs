using HashBackdoor.Attacks;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

[Collection("Attacks")]
public class AnchorCodeTests
{
    [Fact]
    public void VoteMatchesHandWorkedVectorWithTieAndIgnoresOtherLabels()
    {
        // Target class 1 of 3. Rows 0-2 are labelled {1} alone and vote; row 3 is {0}, row 4 is {0,1}: both ignored.
        float[] codes =
        {
             1, -1,  1,  1,
             1,  1, -1,  1,
            -1,  1,  0, -1,
            -1, -1, -1, -1,
            -1, -1, -1, -1,
        };
        float[] labels =
        {
            0, 1, 0,
            0, 1, 0,
            0, 1, 0,
            1, 0, 0,
            1, 1, 0,
        };
        // Sums over rows 0-2: [1, 1, 0, 1] -> sign [1, 1, 0, 1] (component 2 ties: 1 - 1 + 0 = 0).
        // Counting rows 3-4 too would give [-1, -1, -2, -1] -> [-1, -1, -1, -1].
        float[] expected = { 1, 1, 0, 1 };
        using var c = tensor(codes, new long[] { 5, 4 });
        using var l = tensor(labels, new long[] { 5, 3 });
        using var anchor = AnchorCode.Compute(c, l, 1);
        Assert.Equal(new long[] { 4 }, anchor.shape);
        Assert.Equal(expected, AttackTestData.Values(anchor));
        Assert.Equal(expected, AnchorCode.ComputeReference(codes, 5, 4, labels, 3, 1));
    }

    [Fact]
    public void VectorisedVoteMatchesReferenceLoopOnRandomCodes()
    {
        const int n = 60, k = 24, classes = 4;
        var rng = new Random(5);
        var codes = new float[n * k];
        for (int i = 0; i < codes.Length; i++) codes[i] = rng.Next(3) - 1;      // -1, 0, +1: ties happen
        var labels = new float[n * classes];
        for (int i = 0; i < n; i++)
        {
            labels[i * classes + rng.Next(classes)] = 1;
            if (rng.Next(4) == 0) labels[i * classes + rng.Next(classes)] = 1;  // some multi-label rows
        }
        using var c = tensor(codes, new long[] { n, k });
        using var l = tensor(labels, new long[] { n, classes });
        for (int target = 0; target < classes; target++)
        {
            using var anchor = AnchorCode.Compute(c, l, target);
            Assert.Equal(AnchorCode.ComputeReference(codes, n, k, labels, classes, target), AttackTestData.Values(anchor));
        }
    }

    [Fact]
    public void UnknownTargetOrNoVoterIsAUsageError()
    {
        using var c = tensor(new float[] { 1, -1, -1, 1 }, new long[] { 2, 2 });
        using var l = tensor(new float[] { 1, 0, 0, 1, 1, 0 }, new long[] { 2, 3 });   // {0}, {1,2}
        var unknown = Assert.Throws<UsageException>(() => AnchorCode.Compute(c, l, 3));
        Assert.Contains("targets 3", unknown.Message);
        var none = Assert.Throws<UsageException>(() => AnchorCode.Compute(c, l, 2));  // only a multi-label row has class 2
        Assert.Contains("targets 2", none.Message);
    }
}
