using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>Clean mAP@R and t-MAP@R of a model on the run's protocol, computed exactly as the experiment does: clean
/// queries against the database (relevant = shares a label), and the non-target queries with the trigger pasted
/// (relevant = has the target label); ranking by Hamming distance, tie-aware (<see cref="TieAwareMetrics"/>), with the
/// database-order figures reported beside (suffix <see cref="DatabaseOrderSuffix"/>).</summary>
public static class RetrievalCheck
{
    /// <summary>Both evaluations; <c>Triggered</c> is null when the inputs have no trigger.</summary>
    /// <remarks>For the victim itself the result is computed once per <see cref="DefenseInputs"/> and shared
    /// (<see cref="DefenseInputs.VictimRetrieval"/>).</remarks>
    public static (TieAwareMap Clean, TieAwareMap? Triggered) Evaluate(HashModel model, DefenseInputs inputs, Device device)
    {
        if (ReferenceEquals(model, inputs.Victim))
            return inputs.VictimRetrieval.Scores(() => Compute(model, inputs, VictimDatabaseCodes(inputs, device), device));
        return Compute(model, inputs, Codes(model, inputs.Database.Images, device), device);
    }

    /// <summary>The victim's database codes, encoded once per <see cref="DefenseInputs"/> (or as the loader supplied them).</summary>
    public static BinaryCodes VictimDatabaseCodes(DefenseInputs inputs, Device device) =>
        inputs.VictimRetrieval.DatabaseCodes(() => Codes(inputs.Victim, inputs.Database.Images, device));

    /// <summary>
    /// <see cref="Evaluate"/> for a model derived from the victim (fine-tuned, pruned) that several defense runs may
    /// evaluate: its database codes and clean mAP are kept in <see cref="DefenseInputs.Shared"/> under
    /// <paramref name="modelKey"/> (which must name everything the model depends on), so each distinct model encodes
    /// the database once; the triggered queries (which depend on the trigger and target) are always encoded afresh.
    /// Equal to <see cref="Evaluate"/> of the same model.
    /// </summary>
    public static (TieAwareMap Clean, TieAwareMap? Triggered) EvaluateShared(HashModel model, string modelKey, DefenseInputs inputs, Device device)
    {
        var db = inputs.Shared.GetOrAdd($"{modelKey}|databaseCodes", () => Codes(model, inputs.Database.Images, device));
        var index = new HammingIndex(db);
        var dbLabels = CodeConversion.ToLabelSets(inputs.Database.Labels);
        var clean = inputs.Shared.GetOrAdd($"{modelKey}|cleanMap", () => CleanMap(model, inputs, index, dbLabels, device));
        return (clean, TriggeredMap(model, inputs, index, dbLabels, device));
    }

    private static (TieAwareMap Clean, TieAwareMap? Triggered) Compute(HashModel model, DefenseInputs inputs, BinaryCodes db, Device device)
    {
        var index = new HammingIndex(db);
        var dbLabels = CodeConversion.ToLabelSets(inputs.Database.Labels);
        return (CleanMap(model, inputs, index, dbLabels, device), TriggeredMap(model, inputs, index, dbLabels, device));
    }

    private static TieAwareMap CleanMap(HashModel model, DefenseInputs inputs, HammingIndex index, LabelSets dbLabels, Device device)
    {
        var q = Codes(model, inputs.Query.Images, device);
        return TieAwareMetrics.MeanAveragePrecision(index, q, CodeConversion.ToLabelSets(inputs.Query.Labels), dbLabels, inputs.TopK, inputs.Rule);
    }

    private static TieAwareMap? TriggeredMap(HashModel model, DefenseInputs inputs, HammingIndex index, LabelSets dbLabels, Device device)
    {
        if (inputs.Trigger is null) return null;
        using var nonTarget = inputs.NonTargetQueries();
        var trigger = inputs.Trigger;
        var tq = Codes(model, nonTarget.Images, device, x => trigger.Paste(x));
        return TieAwareMetrics.MeanAveragePrecision(index, tq, LabelSets.Repeat(inputs.TargetClass, tq.Count, inputs.Database.NumClasses),
            dbLabels, inputs.TopK, inputs.Rule);
    }

    /// <summary>Packed binary codes of <paramref name="images"/> (optionally transformed batch by batch).</summary>
    public static BinaryCodes Codes(HashModel model, Tensor images, Device device, Func<Tensor, Tensor>? transform = null)
    {
        using var signs = HashEncoder.Encode(model, images, 500, transform, device);
        return CodeConversion.ToBinaryCodes(signs, out _);
    }

    /// <summary>The suffix of a figure's name with ties in database order (the reference code's convention).</summary>
    public const string DatabaseOrderSuffix = "DatabaseOrder";

    /// <summary>Sets the shared before/after figures (percent, tie-aware; the database-order ones under the name plus
    /// <see cref="DatabaseOrderSuffix"/>) on <paramref name="result"/>.</summary>
    public static void Report(DefenseResult result, string mapName, string tMapName, (TieAwareMap Clean, TieAwareMap? Triggered) scores)
    {
        result.Figures[mapName] = scores.Clean.Percent;
        result.Figures[tMapName] = scores.Triggered?.Percent ?? double.NaN;
        result.Figures[mapName + DatabaseOrderSuffix] = scores.Clean.DatabaseOrder.Percent;
        result.Figures[tMapName + DatabaseOrderSuffix] = scores.Triggered?.DatabaseOrder.Percent ?? double.NaN;
    }
}
