using HashBackdoor.Defenses;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Defenses;

/// <summary>The work defenses share on one victim (<see cref="SharedDefenseWork"/>) gives exactly what a fresh
/// computation gives: fine-pruning at ratio 0 is fine-tuning, a derived model's shared evaluation is its plain
/// evaluation, STRIP's and Neural Cleanse's target-independent parts reused on another target equal a fresh run there,
/// and fine-pruning without the protocol curve decides and ends the same.</summary>
[Collection("Defenses")]
public class SharedDefenseWorkTests(BackdooredTinyModel tiny)
{
    private static void AssertSameFigures(DefenseResult expected, DefenseResult actual, params string[] except)
    {
        Assert.Equal(expected.Figures.Keys.Except(except), actual.Figures.Keys.Except(except));
        foreach (var (name, value) in expected.Figures)
            if (!except.Contains(name)) Assert.True(value.Equals(actual.Figures[name]), $"{name}: {value} vs {actual.Figures[name]}");
    }

    private static void AssertSameWeights(HashBackdoor.Hashing.HashModel x, HashBackdoor.Hashing.HashModel y, bool same)
    {
        var px = x.state_dict();
        var py = y.state_dict();
        bool equal = px.Keys.All(k => px[k].to_type(ScalarType.Float64).eq(py[k].to_type(ScalarType.Float64)).all().item<bool>());
        Assert.Equal(same, equal);
    }

    [Fact]
    public void FinePruningAtRatioZeroIsFineTuningSharedOrRecomputed()
    {
        var context = new DefenseContext { Seed = 2 };
        var onlyZero = new FinePruningDefense { Ratios = new[] { 0.0 } };

        // Recomputed: fine-pruning alone on fresh inputs (it fine-tunes itself) against fine-tuning alone on other fresh inputs.
        using var a = new SharedDefenseWork();
        var tuned = new FineTuningDefense().Run(tiny.Inputs with { Shared = a }, context);
        using var b = new SharedDefenseWork();
        var prunedFresh = onlyZero.Run(tiny.Inputs with { Shared = b }, context);
        Assert.Equal(0, prunedFresh.Figure("chosenRatio"));
        Assert.Equal("fine-tuned here", prunedFresh.Settings["sharedWork"]);
        AssertSameFigures(tuned, prunedFresh, "chosenRatio", "channelsPruned", "mapPrunedOnly", "tMapPrunedOnly");
        // The tiny model's figures saturate, so compare the two independently trained models themselves: bit-identical
        // weights, and not the victim's (fine-tuning did change it).
        var clean = VictimTraining.CleanSubset(tiny.Inputs, 0.05, context.StreamSeed(21));
        var recipe = FineTuningDefense.Recipe(tiny.Inputs, 10, 1.0);
        var (keyA, modelA) = FineTuningDefense.FineTuned(tiny.Inputs with { Shared = a }, clean, recipe, Array.Empty<int>(), context, "");
        var (keyB, modelB) = FineTuningDefense.FineTuned(tiny.Inputs with { Shared = b }, clean, recipe, Array.Empty<int>(), context, "");
        Assert.Equal(keyA, keyB);
        Assert.Contains(keyA, a.Reused);   // both were made by the defenses above, not here
        Assert.Contains(keyB, b.Reused);
        AssertSameWeights(modelA, modelB, true);
        AssertSameWeights(modelA, tiny.Model, false);

        // Shared: fine-pruning after fine-tuning on the same inputs reuses the fine-tuned model; same figures.
        var prunedShared = onlyZero.Run(tiny.Inputs with { Shared = a }, context);
        Assert.Equal("fine-tuned model reused from an earlier defense run on this victim", prunedShared.Settings["sharedWork"]);
        AssertSameFigures(prunedFresh, prunedShared);

        // And the other way round: fine-tuning after fine-pruning reuses its model, with the same figures as alone.
        var tunedAfter = new FineTuningDefense().Run(tiny.Inputs with { Shared = b }, context);
        Assert.Equal("fine-tuned model reused from an earlier defense run on this victim", tunedAfter.Settings["sharedWork"]);
        AssertSameFigures(tuned, tunedAfter);
    }

    [Fact]
    public void FinePruningAboveZeroIsNotConfusedWithFineTuning()
    {
        // The shared model's key names the pruned channels: pruning 0.5 of the channels fine-tunes another model.
        using var shared = new SharedDefenseWork();
        var inputs = tiny.Inputs with { Shared = shared };
        var context = new DefenseContext { Seed = 2 };
        var tuned = new FineTuningDefense().Run(inputs, context);
        var pruned = new FinePruningDefense { Ratios = new[] { 0.5 }, MaxValidationDrop = 100 }.Run(inputs, context);
        Assert.Equal(0.5, pruned.Figure("chosenRatio"));
        Assert.Equal("fine-tuned here", pruned.Settings["sharedWork"]);
        var clean = VictimTraining.CleanSubset(inputs, 0.05, context.StreamSeed(21));
        var recipe = FineTuningDefense.Recipe(inputs, 10, 1.0);
        var (plainKey, plain) = FineTuningDefense.FineTuned(inputs, clean, recipe, Array.Empty<int>(), context, "");
        var order = FinePruningDefense.RankChannels(tiny.Model, inputs.Train.Subset(clean).Images, CPU).Order;
        var (prunedKey, prunedModel) = FineTuningDefense.FineTuned(inputs, clean, recipe, order.Take((int)pruned.Figure("channelsPruned")).ToArray(), context, "");
        Assert.NotEqual(plainKey, prunedKey);
        Assert.Contains(prunedKey, shared.Reused);  // fine-pruning made exactly this model
        AssertSameWeights(plain, prunedModel, false);
    }

    [Fact]
    public void SharedEvaluationOfADerivedModelEqualsItsPlainEvaluation()
    {
        using var model = VictimTraining.Copy(tiny.Model, CPU);
        FinePruningDefense.Prune(model, new[] { 1, 2, 3, 10 });
        using var shared = new SharedDefenseWork();
        var inputs = tiny.Inputs with { Shared = shared };
        var plain = RetrievalCheck.Evaluate(model, inputs, CPU);
        var first = RetrievalCheck.EvaluateShared(model, "m", inputs, CPU);
        var second = RetrievalCheck.EvaluateShared(model, "m", inputs, CPU);
        Assert.Equal(plain.Clean.Percent, first.Clean.Percent);
        Assert.Equal(plain.Triggered!.Percent, first.Triggered!.Percent);
        Assert.Equal(plain.Clean.ExpectedAveragePrecisions, second.Clean.ExpectedAveragePrecisions);
        Assert.Contains("m|databaseCodes", shared.Reused);
        Assert.Contains("m|cleanMap", shared.Reused);
        // Another target keeps the clean part and recomputes the triggered part for its own queries.
        var other = RetrievalCheck.EvaluateShared(model, "m", inputs with { TargetClass = 1 }, CPU);
        var otherPlain = RetrievalCheck.Evaluate(model, inputs with { TargetClass = 1, Shared = new SharedDefenseWork() }, CPU);
        Assert.Equal(otherPlain.Triggered!.Percent, other.Triggered!.Percent);
        Assert.NotEqual(first.Triggered.Percent, other.Triggered.Percent);
    }

    [Fact]
    public void StripAndNeuralCleanseReusedOnAnotherTargetEqualAFreshRun()
    {
        // The clean model's runs on several targets share these (same victim and data); a fresh run on the second target
        // must give the same figures as the run that reused the first target's work.
        var context = new DefenseContext { Seed = 5 };
        IDefense[] defenses = { new StripDefense { Blends = 8, CalibrationImages = 30 }, new NeuralCleanseDefense { Steps = 40 } };
        foreach (var defense in defenses)
        {
            using var shared = new SharedDefenseWork();
            defense.Run(tiny.Inputs with { Shared = shared }, context);
            var reused = defense.Run(tiny.Inputs with { Shared = shared, TargetClass = 1 }, context);
            Assert.NotEmpty(shared.Reused);
            using var fresh = new SharedDefenseWork();
            var recomputed = defense.Run(tiny.Inputs with { Shared = fresh, TargetClass = 1 }, context);
            Assert.Empty(fresh.Reused);
            AssertSameFigures(recomputed, reused);
            Assert.Equal(recomputed.Series.Keys, reused.Series.Keys);
            foreach (var (name, values) in recomputed.Series) Assert.Equal(values, reused.Series[name]);
        }
    }

    [Fact]
    public void FinePruningWithoutTheProtocolCurveDecidesAndEndsTheSame()
    {
        var context = new DefenseContext { Seed = 3 };
        var ratios = new[] { 0.0, 0.3, 0.6 };
        using var s1 = new SharedDefenseWork();
        var full = new FinePruningDefense { Ratios = ratios, MaxValidationDrop = 15 }.Run(tiny.Inputs with { Shared = s1 }, context);
        using var s2 = new SharedDefenseWork();
        var cheap = new FinePruningDefense { Ratios = ratios, MaxValidationDrop = 15, EvaluateCurve = false }.Run(tiny.Inputs with { Shared = s2 }, context);
        AssertSameFigures(full, cheap, "mapPrunedOnly", "tMapPrunedOnly");
        var fullCurve = full.Tables["pruningCurve"];
        var cheapCurve = cheap.Tables["pruningCurve"];
        for (int i = 0; i < ratios.Length; i++)
        {
            Assert.Equal(fullCurve[i]["defenderValidationMap"], cheapCurve[i]["defenderValidationMap"]);
            Assert.True(double.IsFinite(fullCurve[i]["map"]));
            // Ratio 0 is the victim, known without encoding; the others are left out without the curve.
            Assert.Equal(i == 0, double.IsFinite(cheapCurve[i]["map"]));
        }
    }
}
