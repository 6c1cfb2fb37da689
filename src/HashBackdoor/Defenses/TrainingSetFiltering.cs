using System.Diagnostics;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>
/// What the two training-set filters share once a per-image score and a set of flagged rows are known: detection
/// figures against the true poison indices (ROC AUC over all training rows and within the target class, TPR/FPR of the
/// removed set, how many were removed), per-class counts, and optionally a victim retrained on the kept rows with the
/// victim's recipe and initial weights, with its clean mAP and t-MAP.
/// </summary>
internal static class TrainingSetFiltering
{
    /// <summary>Single label of every training row (first label of a multi-label row).</summary>
    public static int[] ClassOfRows(DefenseInputs inputs)
    {
        using var am = inputs.Train.Labels.argmax(1).to_type(ScalarType.Int32);
        return am.data<int>().ToArray();
    }

    /// <summary>Features of the training images as the victim saw them (poisoned rows in place).</summary>
    public static Tensor Features(DefenseInputs inputs, FeatureSpace space, DefenseContext context)
    {
        using var seen = inputs.SeenTrainingImages();
        return DefenseFeatures.Extract(inputs.Victim, seen, space, context.Device);
    }

    /// <summary>Fills <paramref name="result"/> with the detection figures and, when <see cref="DefenseContext.Retrain"/>
    /// is set, retrains on the kept rows.</summary>
    public static void Report(DefenseResult result, DefenseInputs inputs, DefenseContext context, int[] classes, double[] scores, bool[] flagged)
    {
        var poison = inputs.PoisonMask();
        result.Figures[DefenseFigures.DetectionAuc] = DetectionMetrics.RocAuc(scores, poison);
        result.Detection = new DetectionScores(scores.ToArray(), poison.ToArray(), Enumerable.Range(0, scores.Length).Select(i => (long)i).ToArray(),
            "training images: item i is row i of the protocol's training split; positive = poisoned (the true poison indices)").Checked();
        var inTarget = Enumerable.Range(0, classes.Length).Where(i => classes[i] == inputs.TargetClass).ToArray();
        result.Figures["detectionAucTargetClass"] = DetectionMetrics.RocAuc(inTarget.Select(i => scores[i]).ToArray(), inTarget.Select(i => poison[i]).ToArray());
        var (tpr, fpr) = DetectionMetrics.Rates(flagged, poison);
        result.Figures["tpr"] = tpr;
        result.Figures["fpr"] = fpr;
        int removed = flagged.Count(f => f);
        result.Figures[DefenseFigures.Removed] = removed;
        result.Figures[DefenseFigures.TrainingImages] = flagged.Length;
        result.Figures["poisonsRemoved"] = flagged.Where((f, i) => f && poison[i]).Count();
        result.Figures["poisons"] = poison.Count(p => p);
        var table = new List<OrderedDictionary<string, double>>();
        for (int c = 0; c < inputs.Train.NumClasses; c++)
        {
            var rows = Enumerable.Range(0, classes.Length).Where(i => classes[i] == c).ToArray();
            table.Add(new OrderedDictionary<string, double>
            {
                ["class"] = c, ["images"] = rows.Length, ["removed"] = rows.Count(i => flagged[i]),
                ["poisons"] = rows.Count(i => poison[i]), ["poisonsRemoved"] = rows.Count(i => poison[i] && flagged[i]),
            });
        }
        result.Tables["perClass"] = table;
        context.Log?.Invoke($"{result.Defense}: AUC {result.Figures[DefenseFigures.DetectionAuc]:F3}, removed {removed} ({result.Figures["poisonsRemoved"]} of {result.Figures["poisons"]} poisons)");

        var before = RetrievalCheck.Evaluate(inputs.Victim, inputs, context.Device);
        RetrievalCheck.Report(result, DefenseFigures.MapBefore, DefenseFigures.TMapBefore, before);
        if (!context.Retrain)
        {
            result.Notes.Add("retraining skipped (DefenseContext.Retrain = false): mapAfter and tMapAfter not measured");
            return;
        }
        if (removed == 0)
        {
            // Nothing removed: the retrained victim would be the victim (same data, recipe and seed).
            RetrievalCheck.Report(result, DefenseFigures.MapAfter, DefenseFigures.TMapAfter, before);
            result.Notes.Add("nothing removed: mapAfter and tMapAfter are the victim's (retraining on the same data reproduces it)");
            return;
        }
        var keep = Enumerable.Range(0, flagged.Length).Where(i => !flagged[i]).Select(i => (long)i).ToArray();
        var sw = Stopwatch.StartNew();
        using var retrained = VictimTraining.Retrain(inputs, keep, context, $"{result.Defense}: retrain on {keep.Length} kept images");
        var after = RetrievalCheck.Evaluate(retrained, inputs, context.Device);
        RetrievalCheck.Report(result, DefenseFigures.MapAfter, DefenseFigures.TMapAfter, after);
        result.Figures["retrainSeconds"] = sw.Elapsed.TotalSeconds;
    }
}
