using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// Guards of the retrieval protocol's sets (method.md section 8), checked by CONTENT, not by index lists: every source image
/// is made unique (its first pixel holds its own number), so the guards see what each set really holds whatever indices
/// the protocol reports. Queries never reach the training set or the database; the database holds every non-query image
/// once (the training images included, as the protocol of the hashing literature says); the validation queries
/// (<see cref="ProtocolOptions.ValidationPerClass"/>) are in none of query, training and database; nothing is invented or
/// duplicated. Two-split and single-pool datasets.
/// </summary>
public class SplitDisjointnessGuards
{
    private const int Classes = 3;

    /// <summary>A split of <paramref name="perClass"/> images per class whose images are all different: pixel (0, 0, 0) is
    /// <paramref name="offset"/> + row, the rest random.</summary>
    private static ImageDataset Unique(string name, int perClass, int offset, long seed)
    {
        int n = perClass * Classes;
        var gen = new Generator().manual_seed(seed);
        var images = rand(new long[] { n, 1, 5, 5 }, generator: gen);
        for (int i = 0; i < n; i++) images[i, 0, 0, 0] = (float)(offset + i);
        var labels = nn.functional.one_hot(arange(n).remainder(Classes), Classes).to_type(ScalarType.Float32);
        return new ImageDataset(name, images, labels, new[] { "a", "b", "c" });
    }

    /// <summary>The identities (first pixel) of a set's images, in row order.</summary>
    private static long[] Ids(ImageDataset set)
    {
        using var first = set.Images.select(1, 0).select(1, 0).select(1, 0);
        return first.data<float>().ToArray().Select(v => (long)v).ToArray();
    }

    [Fact]
    public void TwoSplitsQueriesNeverReachTrainingOrDatabaseAndTheDatabaseIsEveryOtherImageOnce()
    {
        using var data = new DatasetSplits("unique", "unique", "unique images", Unique("train", 20, 0, 1), Unique("test", 10, 1000, 2));
        using var p = RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 4, TrainPerClass = 6, Seed = 3 });
        long[] q = Ids(p.Query), t = Ids(p.Train), db = Ids(p.Database);

        Assert.Equal(12, q.Length);
        Assert.Equal(18, t.Length);
        Assert.All(q, id => Assert.InRange(id, 1000, 1029));             // queries come from the test split
        Assert.All(t, id => Assert.InRange(id, 0, 59));                  // training images from the training split
        Assert.Empty(q.Intersect(t));
        Assert.Empty(q.Intersect(db));
        Assert.Subset(db.ToHashSet(), t.ToHashSet());                    // training images are also database items
        Assert.Equal(db.Length, db.Distinct().Count());
        Assert.Equal(q.Length, q.Distinct().Count());
        Assert.Equal(t.Length, t.Distinct().Count());
        // Every source image is a query or a database item, never both, never neither.
        var everything = Enumerable.Range(0, 60).Select(i => (long)i).Concat(Enumerable.Range(1000, 30).Select(i => (long)i));
        Assert.Equal(everything.Order(), q.Concat(db).Order());
    }

    [Fact]
    public void SinglePoolQueriesTrainingAndDatabaseAreDrawnWithoutOverlap()
    {
        using var data = new DatasetSplits("pool", "pool", "one pool", Unique("pool", 20, 0, 4), null);
        using var p = RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 5, TrainPerClass = 7, Seed = 9 });
        long[] q = Ids(p.Query), t = Ids(p.Train), db = Ids(p.Database);
        Assert.Equal(15, q.Length);
        Assert.Equal(21, t.Length);
        Assert.Empty(q.Intersect(t));
        Assert.Empty(q.Intersect(db));
        Assert.Subset(db.ToHashSet(), t.ToHashSet());
        Assert.Equal(db.Length, db.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 60).Select(i => (long)i), q.Concat(db).Order());
        // Labels travel with their images.
        using var qLabels = p.Query.Labels.argmax(1);
        Assert.Equal(q.Select(id => id % Classes), qLabels.data<long>().ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ValidationQueriesAreInNoneOfQueryTrainingAndDatabase(bool singlePool)
    {
        using var data = singlePool
            ? new DatasetSplits("pool", "pool", "one pool", Unique("pool", 20, 0, 5), null)
            : new DatasetSplits("unique", "unique", "unique images", Unique("train", 20, 0, 6), Unique("test", 10, 1000, 7));
        using var p = RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 3, TrainPerClass = 6, ValidationPerClass = 4, Seed = 11 });
        Assert.NotNull(p.Validation);
        long[] q = Ids(p.Query), t = Ids(p.Train), db = Ids(p.Database), v = Ids(p.Validation!);
        Assert.Equal(12, v.Length);
        Assert.Equal(v.Length, v.Distinct().Count());
        Assert.All(v, id => Assert.InRange(id, 0, 59));                  // drawn from the training split (the pool)
        Assert.Empty(v.Intersect(q));
        Assert.Empty(v.Intersect(t));
        Assert.Empty(v.Intersect(db));
        Assert.Empty(q.Intersect(t));
        Assert.Empty(q.Intersect(db));
        Assert.Subset(db.ToHashSet(), t.ToHashSet());
        // Every source image is exactly one of query, validation, database.
        var everything = Enumerable.Range(0, 60).Select(i => (long)i);
        if (!singlePool) everything = everything.Concat(Enumerable.Range(1000, 30).Select(i => (long)i));
        Assert.Equal(everything.Order(), q.Concat(v).Concat(db).Order());
        // Per class: 4 validation images of each class, labels travelling with them.
        using var vLabels = p.Validation!.Labels.argmax(1);
        long[] classes = vLabels.data<long>().ToArray();
        Assert.Equal(v.Select(id => id % Classes), classes);
        Assert.All(classes.GroupBy(c => c), g => Assert.Equal(4, g.Count()));
    }
}
