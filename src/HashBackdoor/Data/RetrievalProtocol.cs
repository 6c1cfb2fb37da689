namespace HashBackdoor.Data;

/// <summary>
/// The retrieval protocol of the deep-hashing literature, named and seeded: per class, <c>QueryPerClass</c> queries
/// from the test split and <c>TrainPerClass</c> training images from the training split; the database is every
/// image that is not a query.
/// </summary>
/// <remarks>
/// Exact definition (docs/data.md has the same text):
/// <list type="number">
/// <item>Each image's primary label is its lowest class index with label 1 (for single-label data, its label). An
/// image without any label is never selected and stays in the database.</item>
/// <item>A <see cref="SplitMix64"/> generator is seeded with <c>Seed</c>.</item>
/// <item>Queries: for class c = 0, 1, ..., C-1 in turn, the indices of the test-split images with primary label c,
/// ascending, are shuffled with <see cref="SplitMix64.Shuffle{T}"/> and the first <c>QueryPerClass</c> are taken.</item>
/// <item>Training: then, with the same generator, for c = 0, ..., C-1 the indices of the training-split images with
/// primary label c (ascending, without queries) are shuffled and the first <c>TrainPerClass</c> are taken.</item>
/// <item>Validation (only when <c>ValidationPerClass</c> &gt; 0): then, with the same generator, for c = 0, ..., C-1 the
/// training-split images of primary label c that are neither queries nor training images (ascending) are shuffled and the
/// first <c>ValidationPerClass</c> are taken. They leave the database. With 0 no number is drawn, so the other sets are
/// exactly those of the protocol without validation.</item>
/// <item>Database: every training-split image that is not a validation image (the selected training images included)
/// followed by every test-split image that is not a query, both ascending.</item>
/// <item>Single-pool datasets (<see cref="DatasetSplits.IsSinglePool"/>): the pool plays both splits; queries are
/// drawn first and excluded from the training candidates and from the database.</item>
/// <item>Query and training index lists are sorted ascending, and so are the datasets built from them.</item>
/// </list>
/// </remarks>
public static class RetrievalProtocol
{
    /// <summary>Applies the protocol to <paramref name="data"/>, building the query, training and database sets.</summary>
    /// <exception cref="UsageException">Non-positive sizes, or a class with too few images for them.</exception>
    public static ProtocolSplit Apply(DatasetSplits data, ProtocolOptions? options = null)
    {
        options ??= new ProtocolOptions();
        var trainPrimary = ImageTensors.PrimaryLabels(data.Train);
        var testPrimary = data.Test is null ? null : ImageTensors.PrimaryLabels(data.Test);
        var plan = Plan(trainPrimary, testPrimary, data.ClassNames, options);
        string name = options.Name ?? $"{data.Name}/q{options.QueryPerClass}-t{options.TrainPerClass}";
        var querySource = data.Test ?? data.Train;
        ImageDataset? q = null, t = null, db = null, v = null;
        try
        {
            q = querySource.Subset(plan.Query, $"{name}/query");
            t = data.Train.Subset(plan.Train, $"{name}/train");
            if (plan.Validation.Length > 0) v = data.Train.Subset(plan.Validation, $"{name}/validation");
            if (data.Test is null || plan.DatabaseTest.Length == 0)
                db = data.Train.Subset(plan.DatabaseTrain, $"{name}/database");
            else
            {
                using var a = data.Train.Subset(plan.DatabaseTrain);
                using var b = data.Test.Subset(plan.DatabaseTest);
                db = ImageTensors.Concat($"{name}/database", new[] { a, b });
            }
            var counts = CountPerClass(plan, trainPrimary, testPrimary, data.NumClasses);
            return new ProtocolSplit(name, data.Name, options, data.IsSinglePool, q, t, db, v,
                plan.Query, plan.Train, plan.DatabaseTrain, plan.DatabaseTest, plan.Validation, data.ClassNames, counts);
        }
        catch
        {
            q?.Dispose(); t?.Dispose(); db?.Dispose(); v?.Dispose();
            throw;
        }
    }

    /// <summary>Selected indices of a protocol split.</summary>
    internal sealed record Indices(long[] Query, long[] Train, long[] DatabaseTrain, long[] DatabaseTest, long[] Validation);

    /// <summary>The index selection alone, from primary labels (-1: no label); <paramref name="testPrimary"/> null
    /// means a single pool held in <paramref name="trainPrimary"/>.</summary>
    internal static Indices Plan(int[] trainPrimary, int[]? testPrimary, IReadOnlyList<string> classNames, ProtocolOptions o)
    {
        if (o.QueryPerClass < 1) throw new UsageException($"protocol.queryPerClass {o.QueryPerClass}: must be at least 1");
        if (o.TrainPerClass < 1) throw new UsageException($"protocol.trainPerClass {o.TrainPerClass}: must be at least 1");
        if (o.ValidationPerClass < 0) throw new UsageException($"protocol.validationPerClass {o.ValidationPerClass}: must be at least 0");
        int c = classNames.Count;
        bool pool = testPrimary is null;
        var qSrc = testPrimary ?? trainPrimary;
        var byClassQ = GroupByClass(qSrc, c);
        var byClassT = pool ? byClassQ : GroupByClass(trainPrimary, c);
        // Validate every class before drawing anything, so the message names the first short class.
        for (int k = 0; k < c; k++)
        {
            if (pool)
            {
                if (byClassQ[k].Count < (long)o.QueryPerClass + o.TrainPerClass + o.ValidationPerClass)
                    throw new UsageException($"protocol.queryPerClass {o.QueryPerClass} + protocol.trainPerClass {o.TrainPerClass}{(o.ValidationPerClass > 0 ? $" + protocol.validationPerClass {o.ValidationPerClass}" : "")}: class '{classNames[k]}' (label {k}) has only {byClassQ[k].Count} images in the pool (single-pool dataset: queries, training and validation images are drawn from it without overlap)");
            }
            else
            {
                if (byClassQ[k].Count < o.QueryPerClass)
                    throw new UsageException($"protocol.queryPerClass {o.QueryPerClass}: class '{classNames[k]}' (label {k}) has only {byClassQ[k].Count} images in the test split");
                if (byClassT[k].Count < o.TrainPerClass)
                    throw new UsageException($"protocol.trainPerClass {o.TrainPerClass}: class '{classNames[k]}' (label {k}) has only {byClassT[k].Count} images in the training split");
                if (byClassT[k].Count < (long)o.TrainPerClass + o.ValidationPerClass)
                    throw new UsageException($"protocol.validationPerClass {o.ValidationPerClass}: class '{classNames[k]}' (label {k}) has only {byClassT[k].Count} images in the training split for {o.TrainPerClass} training + {o.ValidationPerClass} validation images");
            }
        }
        var rng = new SplitMix64(o.Seed);
        var query = new List<long>();
        var isQuery = new bool[qSrc.Length];
        for (int k = 0; k < c; k++)
        {
            var cand = new List<long>(byClassQ[k]);
            rng.Shuffle(cand);
            foreach (var i in cand.Take(o.QueryPerClass)) { query.Add(i); isQuery[i] = true; }
        }
        var train = new List<long>();
        for (int k = 0; k < c; k++)
        {
            var cand = pool ? byClassT[k].Where(i => !isQuery[i]).ToList() : new List<long>(byClassT[k]);
            rng.Shuffle(cand);
            train.AddRange(cand.Take(o.TrainPerClass));
        }
        var validation = new List<long>();
        if (o.ValidationPerClass > 0)
        {
            var isTrain = new bool[trainPrimary.Length];
            foreach (var i in train) isTrain[i] = true;
            for (int k = 0; k < c; k++)
            {
                var cand = byClassT[k].Where(i => !isTrain[i] && !(pool && isQuery[i])).ToList();
                rng.Shuffle(cand);
                validation.AddRange(cand.Take(o.ValidationPerClass));
            }
        }
        query.Sort();
        train.Sort();
        validation.Sort();
        var isValidation = new bool[trainPrimary.Length];
        foreach (var i in validation) isValidation[i] = true;
        long[] dbTrain, dbTest;
        if (pool)
        {
            dbTrain = Enumerable.Range(0, trainPrimary.Length).Where(i => !isQuery[i] && !isValidation[i]).Select(i => (long)i).ToArray();
            dbTest = Array.Empty<long>();
        }
        else
        {
            dbTrain = Enumerable.Range(0, trainPrimary.Length).Where(i => !isValidation[i]).Select(i => (long)i).ToArray();
            dbTest = Enumerable.Range(0, qSrc.Length).Where(i => !isQuery[i]).Select(i => (long)i).ToArray();
        }
        return new Indices(query.ToArray(), train.ToArray(), dbTrain, dbTest, validation.ToArray());
    }

    static List<long>[] GroupByClass(int[] primary, int c)
    {
        var g = new List<long>[c];
        for (int k = 0; k < c; k++) g[k] = new List<long>();
        for (int i = 0; i < primary.Length; i++)
            if (primary[i] >= 0 && primary[i] < c) g[primary[i]].Add(i);
        return g;
    }

    static int[][] CountPerClass(Indices p, int[] trainPrimary, int[]? testPrimary, int c)
    {
        var qSrc = testPrimary ?? trainPrimary;
        int[] Count(IEnumerable<int> labels)
        {
            var r = new int[c];
            foreach (var l in labels) if (l >= 0) r[l]++;
            return r;
        }
        var query = Count(p.Query.Select(i => qSrc[i]));
        var train = Count(p.Train.Select(i => trainPrimary[i]));
        var db = Count(p.DatabaseTrain.Select(i => trainPrimary[i]).Concat(p.DatabaseTest.Select(i => testPrimary![i])));
        return new[] { query, train, db };
    }
}
