using HashBackdoor.Defenses;
using HashBackdoor.Hashing;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Defenses;

/// <summary>STRIP, Neural Cleanse and fine-pruning on tiny models with known answers; every registered defense end to
/// end on the tiny backdoored model.</summary>
[Collection("Defenses")]
public class ModelDefenseTests(BackdooredTinyModel tiny)
{
    [Fact]
    public void TheTinyModelCarriesItsBackdoor()
    {
        // Control for the tests below: triggered non-target queries retrieve the target far more than clean ones.
        var (clean, triggered) = RetrievalCheck.Evaluate(tiny.Model, tiny.Inputs, CPU);
        Assert.True(clean.Percent > 60, $"clean mAP {clean.Percent}");
        Assert.True(triggered!.Percent > 80, $"t-MAP {triggered.Percent}");
    }

    [Fact]
    public void StripSeparatesTriggeredFromCleanQueries()
    {
        using var nonTarget = tiny.Inputs.NonTargetQueries();
        using var triggered = tiny.Trigger.Paste(nonTarget.Images);
        using var gen = new Generator().manual_seed(4);
        using var idx = randint(0, tiny.Database.Count, new long[] { nonTarget.Count, 16 }, generator: gen);
        var (clean, _) = StripDefense.Scatter(tiny.Model, nonTarget.Images, tiny.Database.Images, idx, 1.0, 7, CPU);
        var (trig, _) = StripDefense.Scatter(tiny.Model, triggered, tiny.Database.Images, idx, 1.0, 7, CPU);
        var scores = clean.Concat(trig).Select(v => -v).ToArray();
        var labels = clean.Select(_ => false).Concat(trig.Select(_ => true)).ToArray();
        Assert.True(DetectionMetrics.RocAuc(scores, labels) > 0.9, $"AUC {DetectionMetrics.RocAuc(scores, labels)}");
        Assert.True(trig.Average() < clean.Average());
    }

    [Fact]
    public void StripScatterIsTheMeanPairwiseHammingDistance()
    {
        // Brute force for one query: encode its blends one by one and average the Hamming distances of all ordered pairs.
        using var q = tiny.Query.Images.narrow(0, 0, 1);
        using var idx = tensor(new long[] { 0, 5, 9, 17 }).view(1, 4);
        var (scatter, _) = StripDefense.Scatter(tiny.Model, q, tiny.Database.Images, idx, 0.5, 1, CPU);
        var codes = new[] { 0L, 5, 9, 17 }.Select(j =>
        {
            using var blend = q.add(tiny.Database.Images[j].unsqueeze(0), alpha: 0.5).clamp(0, 1);
            using var c = HashEncoder.Encode(tiny.Model, blend);
            return c.data<float>().ToArray();
        }).ToArray();
        double sum = 0;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                if (a != b) sum += codes[a].Zip(codes[b]).Count(t => t.First != t.Second);
        Assert.Equal(sum / 12, scatter[0], 9);
    }

    [Fact]
    public void NeuralCleanseRecoversThePatchCorner()
    {
        var nc = new NeuralCleanseDefense { Steps = 200 };
        using var anchors = stack(Enumerable.Range(0, 3).Select(c =>
        {
            using var codes = HashEncoder.Encode(tiny.Model, tiny.Database.Images);
            return HashBackdoor.Attacks.AnchorCode.Compute(codes, tiny.Database.Labels, c);
        }).ToArray(), 0);
        using var r = nc.Reverse(tiny.Model, tiny.Database.Images, anchors, 7, CPU);
        int s = BackdooredTinyModel.Side, p = BackdooredTinyModel.PatchSize + 1;
        using var targetMask = r.Masks[BackdooredTinyModel.Target];
        double total = targetMask.sum().item<float>();
        double corner = targetMask[.., TensorIndex.Slice(s - p, s), TensorIndex.Slice(s - p, s)].sum().item<float>();
        Assert.True(corner / total > 0.5, $"corner holds {corner / total:P0} of the target mask (L1 {total:F2})");
        Assert.True(r.Norms.Min() == r.Norms[BackdooredTinyModel.Target], $"norms {string.Join(", ", r.Norms.Select(v => v.ToString("F2")))}, agreements {string.Join(", ", r.Agreements.Select(v => v.ToString("F2")))}");
        Assert.True(r.Agreements[BackdooredTinyModel.Target] >= nc.SuccessAgreement, $"agreement {r.Agreements[0]}");
    }

    [Fact]
    public void FinePruningRanksAndPrunesExactlyTheDormantChannels()
    {
        using var model = new HashModel(new HashModelSpec("small-cnn", 16, 1, 12, 12, 3));
        model.eval();
        var (conv, norm) = FinePruningDefense.LastConvolution(model);
        Assert.NotNull(norm);
        int channels = (int)conv.weight!.shape[0];
        var dormant = new[] { 3, 7, 8, 20, 41, 63 };
        // BatchNorm weight 0: the channel outputs its bias. Dormant channels: bias -1 (ReLU gives 0); others 0.5 + c/100.
        using (no_grad())
        {
            norm!.weight!.zero_();
            var bias = Enumerable.Range(0, channels).Select(c => dormant.Contains(c) ? -1f : 0.5f + c / 100f).ToArray();
            using var b = tensor(bias);
            norm.bias!.copy_(b);
        }
        using var images = rand(20, 1, 12, 12);
        var (mean, order) = FinePruningDefense.RankChannels(model, images, CPU);
        Assert.Equal(dormant, order.Take(dormant.Length).ToArray());
        for (int c = 0; c < channels; c++) Assert.Equal(dormant.Contains(c) ? 0 : 0.5 + c / 100.0, mean[c], 5);

        using var before = model.forward(images);
        FinePruningDefense.Prune(model, order.Take(dormant.Length).ToArray());
        using var after = model.forward(images);
        // Dormant channels were already 0 after ReLU: the codes do not change.
        Assert.True(before.allclose(after, rtol: 0, atol: 1e-6));
        using var rowNorms = conv.weight!.abs().sum(new long[] { 1, 2, 3 });
        var w = rowNorms.data<float>().ToArray();
        var g = norm.weight!.data<float>().ToArray();
        var bb = norm.bias!.data<float>().ToArray();
        for (int c = 0; c < channels; c++)
        {
            Assert.Equal(dormant.Contains(c), w[c] == 0);
            if (dormant.Contains(c)) { Assert.Equal(0f, g[c]); Assert.Equal(0f, bb[c]); }
        }
    }

    [Fact]
    public void PrunedChannelsStayZeroWhileFineTuning()
    {
        using var model = VictimTraining.Copy(tiny.Model, CPU);
        var pruned = new[] { 0, 5, 6 };
        FinePruningDefense.Prune(model, pruned);
        var inputs = tiny.Inputs;
        var clean = VictimTraining.CleanSubset(inputs, 0.2, 1);
        Assert.DoesNotContain(clean, i => tiny.Poison.Contains(i));
        VictimTraining.FineTune(model, inputs, clean, inputs.Trainer with { Epochs = 2 }, new DefenseContext(), "ft", () => FinePruningDefense.Prune(model, pruned));
        var (conv, norm) = FinePruningDefense.LastConvolution(model);
        using var rows = conv.weight!.abs().sum(new long[] { 1, 2, 3 });
        var w = rows.data<float>().ToArray();
        var b = norm!.bias!.data<float>().ToArray();
        foreach (int c in pruned) { Assert.Equal(0f, w[c]); Assert.Equal(0f, b[c]); }
        Assert.Contains(w, v => v != 0);
    }

    [Fact]
    public void EveryRegisteredDefenseRunsEndToEnd()
    {
        var context = new DefenseContext { Seed = 1, Retrain = false };
        foreach (var name in BackdoorDefenses.Names)
        {
            var result = BackdoorDefenses.Create(name).Run(tiny.Inputs, context);
            Assert.Equal(name, result.Defense);
            Assert.True(double.IsFinite(result.Figure(DefenseFigures.MapBefore)) || result.Group == DefenseGroup.ModelInspection, name);
            if (result.Group is DefenseGroup.ModelRepair or DefenseGroup.InputFiltering)
            {
                Assert.InRange(result.Figure(DefenseFigures.MapAfter), 0, 100);
                Assert.InRange(result.Figure(DefenseFigures.TMapAfter), 0, 100);
            }
            if (result.Group != DefenseGroup.ModelRepair) Assert.InRange(result.Figure(DefenseFigures.DetectionAuc), 0, 1);
            Assert.Contains("\"figures\"", result.ToJson());
        }
        // The dirty-label poisons are far from their classes: spectral signatures find them within the target class.
        var spectral = BackdoorDefenses.Create("spectral").Run(tiny.Inputs, context);
        Assert.True(spectral.Figure("detectionAucTargetClass") > 0.9, $"AUC {spectral.Figure("detectionAucTargetClass")}");
        Assert.Throws<UsageException>(() => BackdoorDefenses.Create("nope"));
    }

    [Fact]
    public void MissingInputsFailWithOneLineNamingTheDefense()
    {
        var inputs = tiny.Inputs with { PoisonIndices = null, PoisonedImages = null };
        var e = Assert.Throws<UsageException>(() => BackdoorDefenses.Create("spectral").Run(inputs, new DefenseContext { Retrain = false }));
        Assert.Contains("defense spectral", e.Message);
        var e2 = Assert.Throws<UsageException>(() => BackdoorDefenses.Create("strip").Run(tiny.Inputs with { Trigger = null }, new DefenseContext()));
        Assert.Contains("trigger", e2.Message);
    }
}
