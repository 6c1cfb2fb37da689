using System.Diagnostics;
using static TorchSharp.torch;

namespace HashBackdoor.Defenses;

/// <summary>
/// Activation clustering (Chen et al., SafeAI 2019) on the victim's penultimate features or continuous codes. Per class:
/// centre the features, project them on their top <see cref="Dimensions"/> principal components (PCA; the paper uses
/// ICA), split them into two clusters with 2-means (k-means++ initialisation, <see cref="Restarts"/> restarts, the
/// lowest inertia kept), and flag the smaller cluster when the class splits well (silhouette at least
/// <see cref="SilhouetteThreshold"/>) and the smaller cluster is a minority of at most <see cref="SizeThreshold"/> of the
/// class. The per-image detection score is the margin towards the smaller cluster,
/// (d_large - d_small) / (d_large + d_small), in every class.
/// </summary>
public sealed class ActivationClusteringDefense : IDefense
{
    public ActivationClusteringDefense(FeatureSpace space = FeatureSpace.Penultimate) => Space = space;

    /// <summary>Representation inspected.</summary>
    public FeatureSpace Space { get; }

    /// <inheritdoc/>
    public string Name => Space == FeatureSpace.Penultimate ? "activation-clustering" : "activation-clustering-codes";

    /// <inheritdoc/>
    public DefenseGroup Group => DefenseGroup.TrainingSetFiltering;

    /// <inheritdoc/>
    public DefenseNeeds Needs => DefenseNeeds.PoisonSet | DefenseNeeds.Trigger;

    /// <summary>Principal components kept (Chen et al.: 10 independent components).</summary>
    public int Dimensions { get; init; } = 10;

    /// <summary>A class is flagged only if its smaller cluster holds at most this fraction of it.</summary>
    public double SizeThreshold { get; init; } = 0.45;

    /// <summary>A class is flagged only if the mean silhouette of its 2-clustering reaches this value.</summary>
    public double SilhouetteThreshold { get; init; } = 0.15;

    /// <summary>k-means restarts per class.</summary>
    public int Restarts { get; init; } = 5;

    /// <summary>Per-class outcome of <see cref="Analyse"/>.</summary>
    public sealed record ClassClustering(int Class, int Images, int SmallerCluster, double RelativeSize, double Silhouette, bool Flagged);

    /// <summary>
    /// Runs the per-class analysis on plain tensors.
    /// </summary>
    /// <param name="features">float [N, D].</param>
    /// <param name="classes">Class of each row.</param>
    /// <param name="seed">Seed of the k-means initialisations.</param>
    /// <returns>Flagged rows (members of a flagged class's smaller cluster), per-row scores, per-class outcomes.</returns>
    public (bool[] Flagged, double[] Scores, IReadOnlyList<ClassClustering> Classes) Analyse(Tensor features, IReadOnlyList<int> classes, long seed)
    {
        if (features.dim() != 2 || features.shape[0] != classes.Count)
            throw new ArgumentException($"features must be [N,D] with N = {classes.Count}, got [{string.Join(",", features.shape)}]");
        var flagged = new bool[classes.Count];
        var scores = new double[classes.Count];
        var report = new List<ClassClustering>();
        using var gen = new Generator().manual_seed(seed);
        foreach (int c in classes.Distinct().OrderBy(c => c))
        {
            var rows = Enumerable.Range(0, classes.Count).Where(i => classes[i] == c).ToArray();
            if (rows.Length < 4) { report.Add(new ClassClustering(c, rows.Length, 0, 0, 0, false)); continue; }
            using var scope = NewDisposeScope();
            var f = features.index_select(0, tensor(rows.Select(i => (long)i).ToArray())).to_type(ScalarType.Float64);
            var x = Reduce(f, Dimensions);
            var (assign, centroids) = TwoMeans(x, Restarts, gen);
            var d = cdist(x, centroids);                              // [n, 2]
            long count1 = assign.sum().item<long>();
            int small = count1 * 2 < rows.Length ? 1 : 0;             // ties: cluster 0 is the larger
            int smallSize = small == 1 ? (int)count1 : rows.Length - (int)count1;
            double silhouette = Silhouette(x, assign);
            double rel = smallSize / (double)rows.Length;
            bool flag = smallSize > 0 && rel <= SizeThreshold && silhouette >= SilhouetteThreshold;
            var dSmall = d.select(1, small);
            var dLarge = d.select(1, 1 - small);
            var margin = dLarge.sub(dSmall).div(dLarge.add(dSmall).clamp_min(1e-12)).contiguous().data<double>().ToArray();
            var inSmall = assign.eq(small).contiguous().data<bool>().ToArray();
            for (int j = 0; j < rows.Length; j++)
            {
                scores[rows[j]] = margin[j];
                flagged[rows[j]] = flag && inSmall[j];
            }
            report.Add(new ClassClustering(c, rows.Length, smallSize, rel, silhouette, flag));
        }
        return (flagged, scores, report);
    }

    /// <summary>Centred features projected on their top <paramref name="dims"/> principal directions, float64 [n, d].</summary>
    internal static Tensor Reduce(Tensor f, int dims)
    {
        var centred = f.sub(f.mean(new long[] { 0 }, keepdim: true));
        var (_, _, vh) = linalg.svd(centred, fullMatrices: false);
        long k = Math.Min(dims, vh.shape[0]);
        return centred.matmul(vh.narrow(0, 0, k).t());
    }

    /// <summary>2-means (Lloyd) with k-means++ initialisation; the restart with the lowest inertia. Returns the assignment
    /// int64 [n] in {0, 1} and the centroids [2, d].</summary>
    internal static (Tensor Assign, Tensor Centroids) TwoMeans(Tensor x, int restarts, Generator gen)
    {
        long n = x.shape[0];
        Tensor? bestAssign = null, bestCentroids = null;
        double bestInertia = double.PositiveInfinity;
        for (int r = 0; r < Math.Max(1, restarts); r++)
        {
            long first = randint(0, n, new long[] { 1 }, generator: gen).item<long>();
            var c0 = x[first].unsqueeze(0);
            var d2 = x.sub(c0).square().sum(1);
            long second = d2.sum().item<double>() > 0 ? multinomial(d2.to_type(ScalarType.Float64), 1, generator: gen).item<long>() : (first + 1) % n;
            var centroids = cat(new[] { c0, x[second].unsqueeze(0) }, 0);
            Tensor assign = zeros(n, dtype: ScalarType.Int64);
            for (int it = 0; it < 100; it++)
            {
                var next = cdist(x, centroids).argmin(1);
                bool same = it > 0 && next.eq(assign).all().item<bool>();
                assign = next;
                var one = assign.to_type(ScalarType.Float64).unsqueeze(1);             // [n,1], 1 for cluster 1
                var w = cat(new[] { one.neg().add(1), one }, 1);                      // [n,2] memberships
                var counts = w.sum(new long[] { 0 });                                                // [2]
                var sums = w.t().matmul(x);                                           // [2,d]
                // An empty cluster keeps its previous centroid.
                var keepOld = counts.eq(0).unsqueeze(1);
                centroids = where(keepOld, centroids, sums.div(counts.clamp_min(1).unsqueeze(1)));
                if (same) break;
            }
            double inertia = cdist(x, centroids).min(1).values.square().sum().item<double>();
            if (inertia < bestInertia)
            {
                bestInertia = inertia;
                bestAssign = assign;
                bestCentroids = centroids;
            }
        }
        return (bestAssign!, bestCentroids!);
    }

    /// <summary>Mean silhouette (b - a) / max(a, b) of a 2-clustering, a = mean distance to the own cluster's other
    /// members, b = mean distance to the other cluster; 0 for members of a singleton cluster (Rousseeuw 1987). 0 when a
    /// cluster is empty.</summary>
    internal static double Silhouette(Tensor x, Tensor assign)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0];
        var d = cdist(x, x);                                                          // [n,n]
        var one = assign.to_type(ScalarType.Float64);
        var w = cat(new[] { one.neg().add(1).unsqueeze(1), one.unsqueeze(1) }, 1);    // [n,2]
        var counts = w.sum(new long[] { 0 });                                                        // [2]
        if (counts.min().item<double>() == 0) return 0;
        var sums = d.matmul(w);                                                       // [n,2] distance sums to each cluster
        var own = w.mul(sums).sum(1);
        var other = w.flip(1).mul(sums).sum(1);
        var ownCount = w.matmul(counts);                                              // size of own cluster
        var otherCount = w.flip(1).matmul(counts);
        var a = own.div(ownCount.sub(1).clamp_min(1));
        var b = other.div(otherCount);
        var s = b.sub(a).div(maximum(a, b).clamp_min(1e-12));
        s = where(ownCount.le(1), zeros_like(s), s);
        return s.mean().item<double>();
    }

    /// <inheritdoc/>
    public DefenseResult Run(DefenseInputs inputs, DefenseContext context)
    {
        inputs.Require(Needs, Name);
        if (Dimensions < 1) throw new UsageException($"activation-clustering.dimensions {Dimensions}: must be at least 1");
        var sw = Stopwatch.StartNew();
        var result = new DefenseResult(Name, Group);
        var classes = TrainingSetFiltering.ClassOfRows(inputs);
        result.Settings["featureSpace"] = DefenseFeatures.Describe(Space);
        result.Settings["dimensions"] = Dimensions;
        result.Settings["reduction"] = "PCA";
        result.Settings["sizeThreshold"] = SizeThreshold;
        result.Settings["silhouetteThreshold"] = SilhouetteThreshold;
        result.Settings["restarts"] = Restarts;
        context.Progress?.Invoke($"{Name}: features", 0);
        bool[] flagged;
        double[] scores;
        IReadOnlyList<ClassClustering> perClass;
        using (var features = TrainingSetFiltering.Features(inputs, Space, context))
            (flagged, scores, perClass) = Analyse(features, classes, context.StreamSeed(11));
        result.Tables["clusters"] = perClass.Select(c => new OrderedDictionary<string, double>
        {
            ["class"] = c.Class, ["images"] = c.Images, ["smallerCluster"] = c.SmallerCluster,
            ["relativeSize"] = c.RelativeSize, ["silhouette"] = c.Silhouette, ["flagged"] = c.Flagged ? 1 : 0,
        }).ToList();
        var target = perClass.FirstOrDefault(c => c.Class == inputs.TargetClass);
        result.Figures["targetClassFlagged"] = target?.Flagged == true ? 1 : 0;
        result.Figures["classesFlagged"] = perClass.Count(c => c.Flagged);
        TrainingSetFiltering.Report(result, inputs, context, classes, scores, flagged);
        result.Seconds = sw.Elapsed.TotalSeconds;
        return result;
    }
}
