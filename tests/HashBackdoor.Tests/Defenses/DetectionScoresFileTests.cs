using System.Text.Json.Nodes;
using HashBackdoor.Defenses;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Retrieval;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Defenses;

/// <summary>
/// A detection defense writes the per-item scores behind its AUC with the true flags (issue 23): the AUC recomputed
/// from scores.npy and poison_flags.npy, by an independent count over every (positive, negative) pair, equals the
/// detectionAuc of result.json; the filter's removed count is recorded and reaches the matrix cell.
/// </summary>
[Collection("Defenses")]
public class DetectionScoresFileTests(BackdooredTinyModel tiny) : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    /// <summary>ROC AUC from its definition: the share of (positive, negative) pairs in which the positive scores
    /// higher, a tie counting one half. Quadratic, and shares no code with <see cref="DetectionMetrics"/>.</summary>
    private static double PairwiseAuc(double[] scores, byte[] flags)
    {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (flags[i] != 1) continue;
            for (int j = 0; j < scores.Length; j++)
            {
                if (flags[j] != 0) continue;
                pairs++;
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
            }
        }
        return wins / pairs;
    }

    [Theory]
    [InlineData("spectral")]
    [InlineData("activation-clustering-codes")]
    [InlineData("strip")]
    [InlineData("neural-cleanse")]
    public void AucRecomputedFromTheSavedScoresEqualsTheReportedOne(string name)
    {
        IDefense defense = name switch
        {
            "strip" => new StripDefense { Blends = 8 },
            "neural-cleanse" => new NeuralCleanseDefense { Steps = 30, CleanImages = 60 },
            _ => BackdoorDefenses.Create(name),
        };
        var result = defense.Run(tiny.Inputs, new DefenseContext { Seed = 1, Retrain = false });
        string dir = tmp[name];
        result.Save(dir);

        var scores = NpyFile.Read(Path.Combine(dir, "scores.npy"));
        var flags = NpyFile.Read(Path.Combine(dir, "poison_flags.npy"));
        var items = NpyFile.Read(Path.Combine(dir, "score_items.npy"));
        Assert.Equal(NpyDType.Float64, scores.DType);
        Assert.Equal(NpyDType.UInt8, flags.DType);
        Assert.Equal(NpyDType.Int64, items.DType);
        var s = (double[])scores.Data;
        var f = (byte[])flags.Data;
        var idx = (long[])items.Data;
        Assert.Equal(s.Length, f.Length);
        Assert.Equal(s.Length, idx.Length);
        Assert.All(f, v => Assert.True(v is 0 or 1));

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "result.json")))!;
        double reported = json["figures"]!["detectionAuc"]!.GetValue<double>();
        Assert.Equal(reported, PairwiseAuc(s, f), 6); // result.json rounds to 6 digits
        Assert.Equal(s.Length, json["detectionScores"]!["count"]!.GetValue<int>());
        Assert.Equal(f.Count(v => v == 1), json["detectionScores"]!["positives"]!.GetValue<int>());

        // The flags are the truth the defense never saw: the poison indices, the triggered copies, the target class.
        switch (name)
        {
            case "spectral" or "activation-clustering-codes":
                Assert.Equal(Enumerable.Range(0, tiny.Train.Count).Select(i => (long)i), idx);
                Assert.Equal(tiny.Poison, idx.Where((_, i) => f[i] == 1));
                // The cost beside the AUC: images removed of the training set, carried to the matrix cell.
                double removed = json["figures"]!["removed"]!.GetValue<double>();
                Assert.Equal(tiny.Train.Count, json["figures"]!["trainingImages"]!.GetValue<double>());
                var figures = DefenseRunFigures.From("dirty", 0, 0, result);
                Assert.Equal(removed, figures.Removed);
                var cell = DefenseMatrix.Cells(new[] { figures, figures with { Seed = 1, Removed = removed + 10 } }).Single();
                Assert.Equal(removed + 5, cell.Removed);
                Assert.Contains($"removed {removed + 5:F0} of {tiny.Train.Count}", DefenseMatrix.Markdown(new[] { cell }));
                break;
            case "strip":
                // Non-target query rows, clean then triggered: each row twice, negative first.
                int half = s.Length / 2;
                Assert.Equal(idx[..half], idx[half..]);
                Assert.All(f[..half], v => Assert.Equal(0, v));
                Assert.All(f[half..], v => Assert.Equal(1, v));
                Assert.Equal(tiny.Query.Count * 2 / 3, half); // 3 balanced classes, one of them the target
                break;
            case "neural-cleanse":
                Assert.Equal(new long[] { 0, 1, 2 }, idx);
                Assert.Equal(new byte[] { 1, 0, 0 }, f); // target class 0
                break;
        }
    }

    [Fact]
    public void RepairDefensesWriteNoScoresAndTheMatrixCellHasNoRemovedCount()
    {
        var result = new DefenseResult("fine-tuning", DefenseGroup.ModelRepair);
        result.Figures[DefenseFigures.DetectionAuc] = double.NaN;
        string dir = tmp["ft"];
        result.Save(dir);
        Assert.False(File.Exists(Path.Combine(dir, "scores.npy")));
        var cell = DefenseMatrix.Cells(new[] { DefenseRunFigures.From("ciba", 0, 1, result) }).Single();
        Assert.True(double.IsNaN(cell.Removed));
        Assert.DoesNotContain("removed", DefenseMatrix.Markdown(new[] { cell }).Split('\n')[2]);
    }
}
