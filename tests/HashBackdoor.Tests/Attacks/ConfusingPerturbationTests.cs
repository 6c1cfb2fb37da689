using HashBackdoor.Attacks;
using HashBackdoor.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Attacks;

[Collection("Attacks")]
public class ConfusingPerturbationTests
{
    /// <summary>The reference code's loop, one image at a time: per round and group, a snapshot of the group's perturbed
    /// outputs, then for each image one forward and backward of its own loss and one signed step.</summary>
    private static Tensor ReferenceLoop(HashModel model, Tensor x, PerturbationOptions o)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0];
        var delta = zeros_like(x);
        Tensor clean;
        using (no_grad()) clean = model.Continuous(x);
        for (int round = 0; round < o.Rounds; round++)
        for (long start = 0; start < n; start += o.GroupSize)
        {
            long len = Math.Min(o.GroupSize, n - start);
            Tensor snapshot;
            using (no_grad()) snapshot = model.Continuous(x.narrow(0, start, len).add(delta.narrow(0, start, len)));
            for (long j = start; j < start + len; j++)
            {
                var leaf = delta.narrow(0, j, 1).detach().clone().requires_grad_(true);
                var xj = x.narrow(0, j, 1);
                var u = model.Continuous(xj.add(leaf));
                long k = u.shape[1];
                var adv = u.mul(clean.narrow(0, j, 1)).sum().neg().div(k);
                var loss = adv.mul(1 - o.Lambda);
                if (len > 1)
                {
                    var disp = u.matmul(snapshot.t()).sum().neg().add(u.mul(u).sum()).div((double)k * (len - 1));
                    loss = loss.add(disp.mul(o.Lambda));
                }
                var grad = torch.autograd.grad(new[] { loss }, new[] { leaf })[0];
                var stepped = leaf.detach().add(grad.sign().mul(o.StepSize));
                var inRange = xj.add(stepped).clamp(0, 1).sub(xj).clamp(-o.Epsilon, o.Epsilon);
                delta.narrow(0, j, 1).copy_(inRange);
            }
        }
        return x.add(delta).clamp(0, 1).MoveToOuterDisposeScope();
    }

    [Fact]
    public void BatchedEqualsReferenceLoopIncludingALoneLastImage()
    {
        using var model = AttackTestData.TinyModel(3);
        using var x = AttackTestData.Images(5, 21);
        var o = new PerturbationOptions { Epsilon = 16.0 / 255, StepSize = 4.0 / 255, Rounds = 3, Lambda = 0.8, GroupSize = 2 };
        using var batched = new ConfusingPerturbation(o).Perturb(model, x);
        using var loop = ReferenceLoop(model, x, o);
        var a = AttackTestData.Values(batched);
        var b = AttackTestData.Values(loop);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6, $"pixel {i}: batched {a[i]} vs loop {b[i]}");
    }

    [Fact]
    public void LoneLastImageTakesTheAdversarialStep()
    {
        // 3 images, groups of 2: the last group is image 2 alone, which has no dispersion term. Its perturbation must
        // equal the lambda = 0 perturbation of that image on its own (sign((1 - lambda) g) = sign(g)).
        using var model = AttackTestData.TinyModel(5);
        using var x = AttackTestData.Images(3, 22);
        var o = new PerturbationOptions { Epsilon = 16.0 / 255, StepSize = 4.0 / 255, Rounds = 3, Lambda = 0.8, GroupSize = 2 };
        using var all = new ConfusingPerturbation(o).Perturb(model, x);
        using var lone = new ConfusingPerturbation(o with { Lambda = 0 }).Perturb(model, x.narrow(0, 2, 1));
        Assert.Equal(AttackTestData.Values(lone), AttackTestData.Values(all.narrow(0, 2, 1)));
        Assert.All(AttackTestData.Values(all), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void PerturbationsStayWithinEpsAndImagesWithinRange()
    {
        using var model = AttackTestData.TinyModel(6);
        using var x = AttackTestData.Images(6, 23);      // has pixels at exactly 0 and 1
        var o = new PerturbationOptions { Epsilon = 8.0 / 255, StepSize = 0.003, Rounds = 5, GroupSize = 4 };
        using var p = new ConfusingPerturbation(o).Perturb(model, x);
        using var d = p.sub(x).abs().max();
        Assert.True(d.item<float>() <= o.Epsilon + 1e-6, $"max |delta| {d.item<float>()} > eps {o.Epsilon}");
        Assert.True(d.item<float>() > 0);
        Assert.All(AttackTestData.Values(p), v => Assert.InRange(v, 0f, 1f));
        Assert.Equal(x.shape, p.shape);
    }

    [Fact]
    public void ConfusingPerturbationsDisperseTheGroupsCodes()
    {
        // Tiny untrained model (seed 3), one group of 10 images, eps 32/255: measured mean pairwise Hamming distance of
        // the group's 16-bit codes 2.51 clean, 3.40 with lambda = 0.8, 2.91 with lambda = 0. Over model seeds 1-6 with
        // these settings, lambda = 0.8 dispersed at least as much as lambda = 0 in 6 of 6 and more than clean in 5 of 6;
        // the objective rose in every case (asserted below as the property the ascent guarantees).
        using var model = AttackTestData.TinyModel(3);
        using var x = AttackTestData.Images(10, 13);
        var o = new PerturbationOptions { Epsilon = 32.0 / 255, StepSize = 8.0 / 255, Rounds = 20, Lambda = 0.8, GroupSize = 10 };
        using var clean = AttackTestData.Codes(model, x);
        using var ciba = new ConfusingPerturbation(o).Run(model, x);
        using var adv = new ConfusingPerturbation(o with { Lambda = 0 }).Run(model, x);
        using var cibaCodes = AttackTestData.Codes(model, ciba.Images);
        using var advCodes = AttackTestData.Codes(model, adv.Images);
        double h0 = AttackTestData.MeanPairwiseHamming(clean);
        double hCiba = AttackTestData.MeanPairwiseHamming(cibaCodes);
        double hAdv = AttackTestData.MeanPairwiseHamming(advCodes);
        Assert.True(hCiba > h0 + 0.3, $"clean {h0:0.00}, ciba {hCiba:0.00}");
        Assert.True(hCiba >= hAdv, $"ciba {hCiba:0.00} < adv {hAdv:0.00}");
        // The objective the ascent maximises rises over the rounds (Rounds + 1 values).
        Assert.Equal(o.Rounds + 1, ciba.Objective.Count);
        Assert.True(ciba.Objective[^1] > ciba.Objective[0] + 0.01, string.Join(" ", ciba.Objective));
        Assert.True(adv.Objective[^1] > adv.Objective[0] + 0.01, string.Join(" ", adv.Objective));
        Assert.Equal(ciba.Objective[^1], ConfusingPerturbation.Objective(model, x, ciba.Images, o), 4);
    }

    [Fact]
    public void TheObjectiveRisesWithDefaultsAndTheSurrogateIsUntouched()
    {
        using var model = AttackTestData.TinyModel(7);
        using var x = AttackTestData.Images(8, 24);
        var before = model.parameters().Select(p => AttackTestData.Values(p)).ToList();
        var rounds = new List<int>();
        var o = new PerturbationOptions { Rounds = 6, GroupSize = 4 };   // eps 8/255, step 0.003, lambda 0.8
        using var r = new ConfusingPerturbation(o).Run(model, x, (round, _) => rounds.Add(round));
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, rounds);
        Assert.True(r.Objective[^1] > r.Objective[0], string.Join(" ", r.Objective));
        Assert.Equal(before, model.parameters().Select(p => AttackTestData.Values(p)).ToList());
    }

    [Fact]
    public void BadOptionsAreUsageErrors()
    {
        Assert.Contains("perturbation.epsilon", Assert.Throws<UsageException>(() => new PerturbationOptions { Epsilon = -0.1 }.Validate()).Message);
        Assert.Contains("perturbation.epsilon", Assert.Throws<UsageException>(() => new PerturbationOptions { Epsilon = 1.5 }.Validate()).Message);
        Assert.Contains("perturbation.lambda", Assert.Throws<UsageException>(() => new PerturbationOptions { Lambda = 1.1 }.Validate()).Message);
        Assert.Contains("perturbation.groupSize", Assert.Throws<UsageException>(() => new PerturbationOptions { GroupSize = 0 }.Validate()).Message);
        Assert.Contains("perturbation.stepSize", Assert.Throws<UsageException>(() => new PerturbationOptions { StepSize = 0 }.Validate()).Message);
        Assert.Throws<UsageException>(() => new ConfusingPerturbation(new PerturbationOptions { Epsilon = 2 }));
    }
}
