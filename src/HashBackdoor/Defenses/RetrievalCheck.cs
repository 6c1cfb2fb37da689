using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>Clean mAP@R and t-MAP@R of a model on the run's protocol, computed exactly as the experiment does: clean
/// queries against the database (relevant = shares a label), and the non-target queries with the trigger pasted
/// (relevant = has the target label); ranking by Hamming distance, ties in database order.</summary>
public static class RetrievalCheck
{
    /// <summary>Both evaluations; <c>Triggered</c> is null when the inputs have no trigger.</summary>
    /// <remarks>For the victim itself the result is computed once per <see cref="DefenseInputs"/> and shared
    /// (<see cref="DefenseInputs.VictimRetrieval"/>).</remarks>
    public static (MapResult Clean, MapResult? Triggered) Evaluate(HashModel model, DefenseInputs inputs, Device device)
    {
        if (ReferenceEquals(model, inputs.Victim))
            return inputs.VictimRetrieval.Scores(() => Compute(model, inputs, VictimDatabaseCodes(inputs, device), device));
        return Compute(model, inputs, Codes(model, inputs.Database.Images, device), device);
    }

    /// <summary>The victim's database codes, encoded once per <see cref="DefenseInputs"/> (or as the loader supplied them).</summary>
    public static BinaryCodes VictimDatabaseCodes(DefenseInputs inputs, Device device) =>
        inputs.VictimRetrieval.DatabaseCodes(() => Codes(inputs.Victim, inputs.Database.Images, device));

    private static (MapResult Clean, MapResult? Triggered) Compute(HashModel model, DefenseInputs inputs, BinaryCodes db, Device device)
    {
        var index = new HammingIndex(db);
        var dbLabels = CodeConversion.ToLabelSets(inputs.Database.Labels);
        var q = Codes(model, inputs.Query.Images, device);
        var clean = RetrievalMetrics.MeanAveragePrecision(index, q, CodeConversion.ToLabelSets(inputs.Query.Labels), dbLabels, inputs.TopK, inputs.Rule);
        if (inputs.Trigger is null) return (clean, null);
        using var nonTarget = inputs.NonTargetQueries();
        var trigger = inputs.Trigger;
        var tq = Codes(model, nonTarget.Images, device, x => trigger.Paste(x));
        var t = RetrievalMetrics.MeanAveragePrecision(index, tq, LabelSets.Repeat(inputs.TargetClass, tq.Count, inputs.Database.NumClasses), dbLabels, inputs.TopK, inputs.Rule);
        return (clean, t);
    }

    /// <summary>Packed binary codes of <paramref name="images"/> (optionally transformed batch by batch).</summary>
    public static BinaryCodes Codes(HashModel model, Tensor images, Device device, Func<Tensor, Tensor>? transform = null)
    {
        using var signs = HashEncoder.Encode(model, images, 500, transform, device);
        return CodeConversion.ToBinaryCodes(signs, out _);
    }

    /// <summary>Sets the shared before/after figures (percent) on <paramref name="result"/>.</summary>
    public static void Report(DefenseResult result, string mapName, string tMapName, (MapResult Clean, MapResult? Triggered) scores)
    {
        result.Figures[mapName] = scores.Clean.Percent;
        result.Figures[tMapName] = scores.Triggered?.Percent ?? double.NaN;
    }
}
