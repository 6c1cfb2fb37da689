using HashBackdoor.Attacks;
using HashBackdoor.Attacks.TestTime;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

/// <summary>
/// Malformed inputs to the attacks fail with the exception and the words (shapes, sizes, flags) the docs promise (found by
/// mutation testing, docs/testing.md).
/// </summary>
[Collection("Attacks")]
public class AttackMessageTests
{
    [Fact]
    public void AnchorCodesNameTheShapesTheyWanted()
    {
        using var codes = ones(4, 3);
        using var labels = tensor(new float[] { 1, 0, 1, 1, 1, 0, 0, 1 }, new long[] { 4, 2 });
        using var flat = ones(12);
        Assert.Equal("codes must be [N,K], got [12]", Assert.Throws<ArgumentException>(() => AnchorCode.Compute(flat, labels, 0)).Message);
        using var three = labels.narrow(0, 0, 3);
        Assert.Equal("labels must be [N,C] with N=4, got [3,2]", Assert.Throws<ArgumentException>(() => AnchorCode.Compute(codes, three, 0)).Message);
        // Rows 0 and 2 are {0} alone; row 1 is {0, 1} and does not vote; row 3 is {1}.
        using var votes = tensor(new float[] { 1, -1, 1, /* multi */ -1, -1, -1, /* */ 1, 1, -1, /* {1} */ -1, -1, -1 }, new long[] { 4, 3 });
        Assert.Equal(new float[] { 1, 0, 0 }, AttackTestData.Values(AnchorCode.Compute(votes, labels, 0)));
        Assert.Equal(new float[] { 1, 0, 0 }, AnchorCode.ComputeReference(AttackTestData.Values(votes), 4, 3, AttackTestData.Values(labels), 2, 0));
        Assert.Equal(new float[] { -1, -1, -1 }, AnchorCode.ComputeReference(AttackTestData.Values(votes), 4, 3, AttackTestData.Values(labels), 2, 1));
    }

    [Fact]
    public void TriggersNameWhatIsWrongWithAPatternOrAFile()
    {
        Assert.Equal("a trigger pattern must be [C,P,P], got [1,3,4]", Assert.Throws<ArgumentException>(() => new PatchTrigger(zeros(1, 3, 4))).Message);
        Assert.Equal("a trigger pattern must be [C,P,P], got [3,3]", Assert.Throws<ArgumentException>(() => new PatchTrigger(zeros(3, 3))).Message);
        using var t = PatchTrigger.Constant(1, 2);
        using var flat = zeros(2, 12, 12);
        Assert.Equal("images must be [N,C,H,W], got [2,12,12]", Assert.Throws<ArgumentException>(() => t.Paste(flat)).Message);
        using var two = PatchTrigger.Constant(2, 3);
        Assert.Equal("trigger.size 3: a 2-channel trigger cannot be drawn as PNG (1 or 3 channels)", Assert.Throws<UsageException>(() => two.ToPng()).Message);
        string dir = Directory.CreateTempSubdirectory("hbd-trigdir").FullName;
        try
        {
            var e = Assert.Throws<DataException>(() => PatchTrigger.Load(dir));
            Assert.Equal(dir, e.Path);
            Assert.StartsWith("cannot read the trigger file: ", e.Problem);
            Assert.Equal("trigger file not found", Assert.Throws<DataException>(() => PatchTrigger.Load(Path.Combine(dir, "none.bin"))).Problem);
            string bad = Path.Combine(dir, "bad.bin");
            File.WriteAllBytes(bad, new byte[24]);
            Assert.Equal("not a trigger file (the file does not start with HBDTRIG1)", Assert.Throws<DataException>(() => PatchTrigger.Load(bad)).Problem);
            string saved = Path.Combine(dir, "t.bin");
            t.SaveTensor(saved);
            byte[] bytes = File.ReadAllBytes(saved);
            bytes[16] ^= 1;
            File.WriteAllBytes(saved, bytes);
            Assert.Equal("damaged trigger file: checksum mismatch", Assert.Throws<DataException>(() => PatchTrigger.Load(saved)).Problem);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TestTimeAttacksNameMismatchedCodeLengths()
    {
        using var model = AttackTestData.TinyModel();
        using var train = AttackTestData.Dataset(perClass: 2);
        using var shortCodes = ones(train.Count, AttackTestData.Bits - 8);
        var o = new TestTimeAttackOptions { Steps = 1 };
        Assert.Equal($"training codes have 8 bits but the model has {AttackTestData.Bits}; encode the training set with the attacked model",
            Assert.Throws<UsageException>(() => new TestTimeAttackContext(model, shortCodes, train.Labels, 0, o).Validate()).Message);
        using var codes = ones(train.Count, AttackTestData.Bits);
        using var fewer = codes.narrow(0, 0, 3);
        Assert.Equal($"training codes [N,K] and labels [N,C] must have the same N, got [3,{AttackTestData.Bits}] and [{train.Count},3]",
            Assert.Throws<ArgumentException>(() => new TestTimeAttackContext(model, fewer, train.Labels, 0, o).Validate()).Message);
        using var queries = AttackTestData.Images(2);
        using var h = ones(2, 8);
        Assert.Equal($"target codes have 8 bits but the model has {AttackTestData.Bits}; were the codes made by another model?",
            Assert.Throws<UsageException>(() => new TargetedPerturbation(o).Run(model, queries, h)).Message);
        using var h3 = ones(3, AttackTestData.Bits);
        Assert.Equal($"target codes must be [N,K] with N=2, got [3,{AttackTestData.Bits}]", Assert.Throws<ArgumentException>(() => new TargetedPerturbation(o).Run(model, queries, h3)).Message);
        Assert.Equal("no candidate rows (Parameter 'candidates')", Assert.Throws<ArgumentException>(() => P2pAttack.ChooseRows(Array.Empty<long>(), 2, 0)).Message);
        Assert.Empty(P2pAttack.ChooseRows(new long[] { 5 }, 0, 0));
        // Seeded choice: the same seed gives the same rows, every row is a candidate, and both candidates are drawn.
        long[] rows = P2pAttack.ChooseRows(new long[] { 3, 9 }, 40, 17);
        Assert.Equal(rows, P2pAttack.ChooseRows(new long[] { 3, 9 }, 40, 17));
        Assert.Equal(new long[] { 3, 9 }, rows.Distinct().Order());
    }

    [Fact]
    public void OptimiserInputsAreCheckedWithTheirShapes()
    {
        using var model = AttackTestData.TinyModel();
        using var images = AttackTestData.Images(2);
        var opt = new TriggerOptimizer(new TriggerOptions { Size = 3, Steps = 1, BatchSize = 2 });
        using var anchor = ones(AttackTestData.Bits);
        Assert.Equal("images must be [N,C,H,W], got [1,12,12]", Assert.Throws<ArgumentException>(() => opt.Optimize(model, images[0], anchor)).Message);
        using var matrix = ones(1, AttackTestData.Bits);
        Assert.Equal($"the anchor code must be [K] with K={AttackTestData.Bits}, got [1,{AttackTestData.Bits}]",
            Assert.Throws<ArgumentException>(() => opt.Optimize(model, images, matrix)).Message);
        Assert.Equal("the training set is empty; the trigger needs images to optimise on",
            Assert.Throws<UsageException>(() => opt.Optimize(model, images.narrow(0, 0, 0), anchor)).Message);
        Assert.Equal("images must be [N,C,H,W], got [1,12,12]",
            Assert.Throws<ArgumentException>(() => new ConfusingPerturbation(new PerturbationOptions()).Run(model, images[0])).Message);
    }
}
