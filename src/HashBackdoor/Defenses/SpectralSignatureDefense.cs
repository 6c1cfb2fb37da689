using System.Diagnostics;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>
/// Spectral signatures (Tran, Li and Madry, NeurIPS 2018) on the victim's penultimate features or continuous codes. For
/// each class c with features R_c [n_c, D]: centre them (R_c - mean), take the top right-singular vector v of the
/// centred matrix, score every image by its squared projection (r_i - mean) . v squared, and remove the
/// ceil(<see cref="RemoveFactor"/> x eps x n_c) highest-scoring images of every class, eps being the expected poison
/// fraction. Detection is scored against the true poison indices; a victim retrained on the rest gives mAP and t-MAP.
/// </summary>
public sealed class SpectralSignatureDefense : IDefense
{
    public SpectralSignatureDefense(FeatureSpace space = FeatureSpace.Penultimate) => Space = space;

    /// <summary>Representation inspected.</summary>
    public FeatureSpace Space { get; }

    /// <inheritdoc/>
    public string Name => Space == FeatureSpace.Penultimate ? "spectral" : "spectral-codes";

    /// <inheritdoc/>
    public DefenseGroup Group => DefenseGroup.TrainingSetFiltering;

    /// <inheritdoc/>
    public DefenseNeeds Needs => DefenseNeeds.PoisonSet | DefenseNeeds.Trigger;

    /// <summary>Multiple of the expected poison fraction removed from every class (Tran et al.: 1.5).</summary>
    public double RemoveFactor { get; init; } = 1.5;

    /// <summary>Expected poison fraction eps of a class. Null: the run's true fraction in the target class (the
    /// oracle upper bound Tran et al. assume known).</summary>
    public double? ExpectedPoisonFraction { get; init; }

    /// <summary>
    /// Outlier scores float64 [N]: per class, the squared projection of the centred features on the top right-singular
    /// vector of the centred feature matrix. Classes with fewer than 2 rows score 0.
    /// </summary>
    /// <param name="features">float [N, D].</param>
    /// <param name="classes">Class of each row (length N).</param>
    public static double[] Scores(Tensor features, IReadOnlyList<int> classes)
    {
        if (features.dim() != 2 || features.shape[0] != classes.Count)
            throw new ArgumentException($"features must be [N,D] with N = {classes.Count}, got [{string.Join(",", features.shape)}]");
        var scores = new double[classes.Count];
        foreach (int c in classes.Distinct())
        {
            var rows = Enumerable.Range(0, classes.Count).Where(i => classes[i] == c).ToArray();
            if (rows.Length < 2) continue;
            using var scope = NewDisposeScope();
            var f = features.index_select(0, tensor(rows.Select(i => (long)i).ToArray())).to_type(ScalarType.Float64);
            var centred = f.sub(f.mean(new long[] { 0 }, keepdim: true));
            var (_, _, vh) = linalg.svd(centred, fullMatrices: false);
            var s = centred.matmul(vh[0]).square().contiguous();
            var values = s.data<double>().ToArray();
            for (int j = 0; j < rows.Length; j++) scores[rows[j]] = values[j];
        }
        return scores;
    }

    /// <summary>Per class, flags the ceil(<paramref name="fraction"/> x n_c) rows with the highest scores (ties broken by
    /// lower row index first).</summary>
    public static bool[] FlagTop(IReadOnlyList<double> scores, IReadOnlyList<int> classes, double fraction)
    {
        var flagged = new bool[scores.Count];
        foreach (int c in classes.Distinct())
        {
            var rows = Enumerable.Range(0, classes.Count).Where(i => classes[i] == c).ToArray();
            int k = Math.Min(rows.Length, (int)Math.Ceiling(fraction * rows.Length - 1e-9));
            foreach (int i in rows.OrderByDescending(i => scores[i]).ThenBy(i => i).Take(k)) flagged[i] = true;
        }
        return flagged;
    }

    /// <inheritdoc/>
    public DefenseResult Run(DefenseInputs inputs, DefenseContext context)
    {
        inputs.Require(Needs, Name);
        var sw = Stopwatch.StartNew();
        var result = new DefenseResult(Name, Group);
        var classes = TrainingSetFiltering.ClassOfRows(inputs);
        double eps = ExpectedPoisonFraction ?? TruePoisonFraction(inputs, classes);
        if (!(eps >= 0 && eps <= 1)) throw new UsageException($"spectral.expectedPoisonFraction {eps}: must lie in [0, 1]");
        result.Settings["featureSpace"] = DefenseFeatures.Describe(Space);
        result.Settings["expectedPoisonFraction"] = Math.Round(eps, 6);
        result.Settings["removeFactor"] = RemoveFactor;
        context.Progress?.Invoke($"{Name}: features", 0);
        double[] scores;
        using (var features = TrainingSetFiltering.Features(inputs, Space, context)) scores = Scores(features, classes);
        var flagged = FlagTop(scores, classes, Math.Min(1, RemoveFactor * eps));
        TrainingSetFiltering.Report(result, inputs, context, classes, scores, flagged);
        result.Seconds = sw.Elapsed.TotalSeconds;
        return result;
    }

    internal static double TruePoisonFraction(DefenseInputs inputs, int[] classes)
    {
        int n = classes.Count(c => c == inputs.TargetClass);
        return n == 0 ? 0 : (inputs.PoisonIndices?.Length ?? 0) / (double)n;
    }
}
