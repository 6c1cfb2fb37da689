using HashBackdoor.Data;
using static TorchSharp.torch;

using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

public class RetrievalProtocolTests
{
    static readonly ProtocolOptions Small = new() { QueryPerClass = 5, TrainPerClass = 10, Seed = 7 };

    [Fact]
    public void SizesDisjointnessAndContent()
    {
        using var data = DatasetCatalog.Load("synthetic:30:3:8");
        using var p = RetrievalProtocol.Apply(data, Small);
        Assert.Equal("synthetic/q5-t10", p.Name);
        Assert.Equal(15, p.Query.Count);
        Assert.Equal(30, p.Train.Count);
        Assert.Equal(90 + 75, p.Database.Count);
        // Queries and database test rows partition the test split; database holds every training image.
        Assert.Empty(p.QueryIndices.Intersect(p.DatabaseTestIndices));
        Assert.Equal(Enumerable.Range(0, 90).Select(i => (long)i), p.QueryIndices.Concat(p.DatabaseTestIndices).Order());
        Assert.Equal(Enumerable.Range(0, 90).Select(i => (long)i), p.DatabaseTrainIndices);
        Assert.Subset(p.DatabaseTrainIndices.ToHashSet(), p.TrainIndices.ToHashSet());
        Assert.Equal(p.QueryIndices.Order(), p.QueryIndices);
        Assert.Equal(p.TrainIndices.Order(), p.TrainIndices);
        // Per class counts.
        Assert.All(p.Query.SingleLabels().GroupBy(l => l), g => Assert.Equal(5, g.Count()));
        Assert.All(p.Train.SingleLabels().GroupBy(l => l), g => Assert.Equal(10, g.Count()));
        // Content equals the source rows.
        using (var qi = tensor(p.QueryIndices)) using (var src = data.Test!.Images.index_select(0, qi))
            Assert.True(Same(src, p.Query.Images));
        using (var ti = tensor(p.TrainIndices)) using (var src = data.Train.Images.index_select(0, ti))
            Assert.True(Same(src, p.Train.Images));
        using (var head = p.Database.Images.narrow(0, 0, 90)) Assert.True(Same(head, data.Train.Images));
        using (var di = tensor(p.DatabaseTestIndices)) using (var src = data.Test!.Images.index_select(0, di))
        using (var tail = p.Database.Images.narrow(0, 90, 75))
            Assert.True(Same(src, tail));
        var desc = p.Describe();
        Assert.Equal(new[] { "name", "dataset", "seed", "query_per_class", "train_per_class", "single_pool", "sizes", "per_class" }, desc.Keys);
        var perClass = (IReadOnlyDictionary<string, object>)desc["per_class"];
        var c0 = (IReadOnlyDictionary<string, object>)perClass["pattern0"];
        Assert.Equal(5, c0["query"]);
        Assert.Equal(10, c0["train"]);
        Assert.Equal(30 + 25, c0["database"]);
        Assert.Equal(7L, desc["seed"]);
    }

    [Fact]
    public void SameSeedSameIndicesDifferentSeedDifferent()
    {
        using var data = DatasetCatalog.Load("synthetic:30:3:8");
        using var a = RetrievalProtocol.Apply(data, Small);
        using var b = RetrievalProtocol.Apply(data, Small);
        using var c = RetrievalProtocol.Apply(data, Small with { Seed = 8 });
        Assert.Equal(a.QueryIndices, b.QueryIndices);
        Assert.Equal(a.TrainIndices, b.TrainIndices);
        Assert.NotEqual(a.QueryIndices, c.QueryIndices);
        Assert.NotEqual(a.TrainIndices, c.TrainIndices);
    }

    [Fact]
    public void SelectionIsPinnedForSeedZero()
    {
        // The documented algorithm (SplitMix64 + Fisher-Yates, classes in order, queries before training images) must
        // not drift. The literal indices were worked out with an independent implementation of docs/data.md's text
        // (Python, arbitrary-precision integers reduced mod 2^64), not by running this code.
        var rng = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, rng.Next()); // SplitMix64 reference output for seed 0
        var primary = Enumerable.Range(0, 12).Select(i => i % 2).ToArray();
        var plan = RetrievalProtocol.Plan(primary, primary, new[] { "a", "b" }, new ProtocolOptions { QueryPerClass = 2, TrainPerClass = 3, Seed = 0 });
        Assert.Equal(new long[] { 3, 4, 8, 9 }, plan.Query);
        Assert.Equal(new long[] { 0, 4, 7, 8, 9, 11 }, plan.Train);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), plan.DatabaseTrain);
        Assert.Equal(new long[] { 0, 1, 2, 5, 6, 7, 10, 11 }, plan.DatabaseTest);
    }

    [Fact]
    public void SinglePoolQueriesAreExcludedFromTrainAndDatabase()
    {
        using var full = DatasetCatalog.Load("synthetic:30:3:8");
        using var data = new DatasetSplits("pool", "x", "pool only", full.Train.Subset(Enumerable.Range(0, 90).Select(i => (long)i).ToArray()), null);
        using var p = RetrievalProtocol.Apply(data, Small);
        Assert.True(p.IsSinglePool);
        Assert.Equal(15, p.Query.Count);
        Assert.Equal(30, p.Train.Count);
        Assert.Equal(75, p.Database.Count);
        Assert.Empty(p.QueryIndices.Intersect(p.TrainIndices));
        Assert.Empty(p.QueryIndices.Intersect(p.DatabaseTrainIndices));
        Assert.Empty(p.DatabaseTestIndices);
        Assert.Equal(90, p.QueryIndices.Union(p.DatabaseTrainIndices).Count());
        var e = Assert.Throws<UsageException>(() => RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 20, TrainPerClass = 11 }));
        Assert.Contains("class 'pattern0' (label 0) has only 30 images in the pool", e.Message);
    }

    [Fact]
    public void TooFewImagesNamesTheClassAndCounts()
    {
        using var data = DatasetCatalog.Load("synthetic:30:3:8");
        var e = Assert.Throws<UsageException>(() => RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 31 }));
        Assert.Contains("protocol.queryPerClass 31: class 'pattern0' (label 0) has only 30 images in the test split", e.Message);
        e = Assert.Throws<UsageException>(() => RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 1, TrainPerClass = 500 }));
        Assert.Contains("protocol.trainPerClass 500", e.Message);
        Assert.Contains("has only 30 images in the training split", e.Message);
        Assert.Throws<UsageException>(() => RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 0 }));
        Assert.Throws<UsageException>(() => RetrievalProtocol.Apply(data, new ProtocolOptions { TrainPerClass = -1 }));
    }

    [Fact]
    public void MultiLabelSelectionUsesFirstLabel()
    {
        // 3 classes; rows: labels {0,2}, {1}, {1,2}, {2}, {0}, {1,2}, {2}, {0,1}
        float[,] rows =
        {
            { 1, 0, 1 }, { 0, 1, 0 }, { 0, 1, 1 }, { 0, 0, 1 }, { 1, 0, 0 }, { 0, 1, 1 }, { 0, 0, 1 }, { 1, 1, 0 },
        };
        using var x = zeros(8, 1, 2, 2);
        using var y = tensor(rows);
        using var train = new ImageDataset("t", x.clone(), y.clone(), new[] { "a", "b", "c" });
        using var data = new DatasetSplits("multi", "m", "m", train.Subset(Enumerable.Range(0, 8).Select(i => (long)i).ToArray()), null);
        using var p = RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 1, TrainPerClass = 1, Seed = 3 });
        var firstLabel = new[] { 0, 1, 1, 2, 0, 1, 2, 0 };
        Assert.Equal(new[] { 0, 1, 2 }, p.QueryIndices.Select(i => firstLabel[i]).Order());
        Assert.Equal(new[] { 0, 1, 2 }, p.TrainIndices.Select(i => firstLabel[i]).Order());
    }
}
