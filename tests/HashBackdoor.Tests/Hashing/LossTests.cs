using HashBackdoor.Hashing.Losses;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

public class LossTests
{
    // Two images of different classes, K = 4, with tanh outputs u1 = [.5,-.5,.5,-.5], u2 = [.5,.5,.5,.5]:
    // u1.u1 = u2.u2 = 1, u1.u2 = 0.
    private static (Tensor Z, Tensor Y) Batch()
    {
        var u = tensor(new float[] { .5f, -.5f, .5f, -.5f, .5f, .5f, .5f, .5f }).reshape(2, 4);
        return (u.atanh(), tensor(new float[] { 1, 0, 0, 1 }).reshape(2, 2));
    }

    private static double Value(IHashLoss loss, long step = 0)
    {
        var (z, y) = Batch();
        using var l = loss.Compute(z, y, step);
        return l.item<float>();
    }

    [Fact]
    public void PairwiseWithBatchDivisorMatchesHandValue()
    {
        // Z = UU^T/2 = diag(.5); S = [[1,-1],[-1,1]]: (2 (.5-1)^2 + 2 (0+1)^2) / 4 = 0.625
        Assert.Equal(0.625, Value(new PairwiseLoss(PairwiseDivisor.BatchSize)), 5);
    }

    [Fact]
    public void PairwiseWithBitsDivisorMatchesHandValue()
    {
        // Z = UU^T/4 = diag(.25): (2 (.25-1)^2 + 2) / 4 = 0.78125
        Assert.Equal(0.78125, Value(new PairwiseLoss(PairwiseDivisor.Bits)), 5);
    }

    [Fact]
    public void PairwiseQuantizationTermAddsMeanSquaredDistanceToSigns()
    {
        // ||sign(u)-u||^2 = 4 * .25 = 1 per image; mean over 2 images = 1; lambda .5 adds .5
        Assert.Equal(0.625 + 0.5, Value(new PairwiseLoss(PairwiseDivisor.BatchSize, 0.5)), 5);
    }

    [Fact]
    public void DpshMatchesHandValue()
    {
        double sp = Math.Log(1 + Math.Exp(0.5));
        double expected = (2 * (sp - 0.5) + 2 * Math.Log(2)) / 4 + 0.1 * 0.25;
        Assert.Equal(expected, Value(new DpshLoss()), 5);
    }

    [Fact]
    public void HashNetMatchesHandValueAtStepZero()
    {
        double expected = (2 * (Math.Log(1 + Math.Exp(0.1)) - 0.1) + 2 * Math.Log(2)) / 4;
        Assert.Equal(expected, Value(new HashNetLoss()), 5);
    }

    [Fact]
    public void HashNetContinuationSharpensTanh()
    {
        var loss = new HashNetLoss();
        Assert.Equal(1.0, loss.Beta(0), 12);
        Assert.Equal(Math.Sqrt(1 + 0.005 * 200), loss.Beta(200), 12);
    }

    [Fact]
    public void CsqMatchesHandValue()
    {
        // centers = rows 0,1 of H4 = [1,1,1,1], [1,-1,1,-1]; p = (u+1)/2
        double expected = (4 * -Math.Log(.75) + 4 * -Math.Log(.25)) / 8 + 1e-4 * 0.25;
        Assert.Equal(expected, Value(new CsqLoss(2, 4)), 5);
    }

    [Fact]
    public void HadamardRowsAreOrthogonal()
    {
        using var h = CsqLoss.Hadamard(16);
        using var g = h.matmul(h.t());
        using var eye16 = eye(16).mul(16);
        Assert.True(g.eq(eye16).all().item<bool>());
    }

    [Fact]
    public void UnknownLossNameIsAUsageError()
    {
        var e = Assert.Throws<UsageException>(() => HashLossFactory.Create("nope", 10, 48, 0));
        Assert.StartsWith("training.loss nope: unknown loss (known: ", e.Message); // the config key, not a CLI flag
    }
}
