using HashBackdoor.Experiments;
using HashBackdoor.Retrieval;
using Xunit;

namespace HashBackdoor.Tests.Experiments;

/// <summary>The line <c>hashbd evaluate</c> prints: precision at K for the Ks that fit, and a plain word when none does.</summary>
public class EvaluateSummaryLineTests
{
    // Four 8-bit database codes, two per class; one query of class 0 equal to database row 0.
    private static (EncodedSet Query, EncodedSet Database) Sets()
    {
        var db = BinaryCodes.FromSigns(new float[]
        {
            1, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 1, 1, 1, -1,
            -1, -1, -1, -1, -1, -1, -1, -1,
            -1, -1, -1, -1, -1, -1, -1, 1,
        }, 8);
        var q = BinaryCodes.FromSigns(new float[] { 1, 1, 1, 1, 1, 1, 1, 1 }, 8);
        var dbLabels = LabelSets.FromClassIndices(new[] { 0, 0, 1, 1 }, 2);
        var qLabels = LabelSets.FromClassIndices(new[] { 0 }, 2);
        return (new EncodedSet(q, qLabels, Array.Empty<byte>(), 2, 0), new EncodedSet(db, dbLabels, Array.Empty<byte>(), 2, 0));
    }

    [Fact]
    public void KsLargerThanTheDatabaseAreNamedInsteadOfAnEmptyList()
    {
        var (q, db) = Sets();
        var report = RetrievalReport.Compute(q, db, 4, QueryRule.Skip, new[] { 100, 500 });
        var line = EvaluatePipeline.SummaryLine(report, 4);
        Assert.Contains("P@K: none (database of 4 images is smaller than every K)", line);
        Assert.DoesNotContain("P@ =", line);
    }

    [Fact]
    public void PrecisionAtKIsPrintedForTheKsThatFit()
    {
        var (q, db) = Sets();
        // Ranking: rows 0 (d 0), 1 (d 1), 3 (d 7), 2 (d 8): P@2 = 2/2, P@4 = 2/4; within radius 2: rows 0, 1 -> 100%.
        var report = RetrievalReport.Compute(q, db, 4, QueryRule.Skip, new[] { 2, 4, 100 });
        var line = EvaluatePipeline.SummaryLine(report, 4);
        Assert.Contains("P@2,4 = 100.00, 50.00", line);
        Assert.EndsWith("P@r<=2 = 100.00%", line);
    }
}
