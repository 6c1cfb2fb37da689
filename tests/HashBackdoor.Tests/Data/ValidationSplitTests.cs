using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Data;

/// <summary>The validation query set of the protocol: disjoint from query, training and database, drawn per class, and
/// absent (the split unchanged) when not asked for.</summary>
public class ValidationSplitTests
{
    [Theory]
    [InlineData(0L, 4, 6, 3)]
    [InlineData(1L, 5, 10, 7)]
    [InlineData(2L, 1, 1, 1)]
    [InlineData(3L, 8, 3, 12)]
    public void ValidationIsDisjointFromTheOtherThreeSets(long seed, int q, int t, int v)
    {
        using var data = DatasetCatalog.Load("synthetic:30:3:8");
        using var p = RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = q, TrainPerClass = t, ValidationPerClass = v, Seed = seed });
        Assert.NotNull(p.Validation);
        Assert.Equal(3 * v, p.Validation!.Count);
        Assert.All(p.Validation.SingleLabels().GroupBy(l => l), g => Assert.Equal(v, g.Count()));
        var val = p.ValidationIndices.ToHashSet();
        Assert.Equal(p.ValidationIndices.Length, val.Count);
        // Validation and training rows index the training split; the database's first rows do too.
        Assert.Empty(val.Intersect(p.TrainIndices));
        Assert.Empty(val.Intersect(p.DatabaseTrainIndices));
        // Every training-split image is either validation or database.
        Assert.Equal(Enumerable.Range(0, 90).Select(i => (long)i), p.ValidationIndices.Concat(p.DatabaseTrainIndices).Order());
        Assert.Equal(90 - 3 * v + 90 - 3 * q, p.Database.Count);
        using var vi = tensor(p.ValidationIndices);
        using var src = data.Train.Images.index_select(0, vi);
        Assert.True(src.equal(p.Validation.Images).all().item<bool>());
    }

    [Fact]
    public void SinglePoolValidationAvoidsQueriesToo()
    {
        using var full = DatasetCatalog.Load("synthetic:30:3:8");
        using var pool = new DatasetSplits("pool", "x", "pool only", full.Train.Subset(Enumerable.Range(0, 90).Select(i => (long)i).ToArray()), null);
        using var p = RetrievalProtocol.Apply(pool, new ProtocolOptions { QueryPerClass = 5, TrainPerClass = 10, ValidationPerClass = 6, Seed = 4 });
        var val = p.ValidationIndices.ToHashSet();
        Assert.Equal(18, val.Count);
        Assert.Empty(val.Intersect(p.QueryIndices));
        Assert.Empty(val.Intersect(p.TrainIndices));
        Assert.Empty(val.Intersect(p.DatabaseTrainIndices));
        Assert.Equal(90 - 15 - 18, p.Database.Count);
    }

    [Fact]
    public void ZeroValidationLeavesTheSplitAsItWas()
    {
        using var data = DatasetCatalog.Load("synthetic:30:3:8");
        var o = new ProtocolOptions { QueryPerClass = 5, TrainPerClass = 10, Seed = 7 };
        using var a = RetrievalProtocol.Apply(data, o);
        using var b = RetrievalProtocol.Apply(data, o with { ValidationPerClass = 4 });
        Assert.Null(a.Validation);
        Assert.Empty(a.ValidationIndices);
        // Validation is drawn after the others, so queries and training images do not move.
        Assert.Equal(a.QueryIndices, b.QueryIndices);
        Assert.Equal(a.TrainIndices, b.TrainIndices);
        Assert.Equal(a.DatabaseTrainIndices.Except(b.ValidationIndices), b.DatabaseTrainIndices);
        Assert.False(a.Describe().ContainsKey("validation"));
        Assert.Equal(12, b.Describe()["validation"]);
    }

    [Fact]
    public void TooFewImagesForValidationNamesTheKey()
    {
        using var data = DatasetCatalog.Load("synthetic:30:3:8");
        var e = Assert.Throws<UsageException>(() => RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 5, TrainPerClass = 20, ValidationPerClass = 11 }));
        Assert.Contains("protocol.validationPerClass 11", e.Message);
        Assert.Throws<UsageException>(() => RetrievalProtocol.Apply(data, new ProtocolOptions { ValidationPerClass = -1 }));
    }
}
