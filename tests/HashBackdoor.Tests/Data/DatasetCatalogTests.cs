using HashBackdoor.Data;
using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

public class DatasetCatalogTests
{
    [Theory]
    [InlineData("imagenet")]
    [InlineData("FASHION-MNIST")]
    [InlineData("cifar100:/tmp")]
    public void UnknownNameIsUsageErrorListingKnownOnes(string spec)
    {
        var e = Assert.Throws<UsageException>(() => DatasetCatalog.Load(spec));
        Assert.Equal($"dataset {spec}: unknown dataset (known: fashion-mnist, mnist:DIR, cifar10:DIR, folder:DIR, list:ROOT:FILE)", e.Message);
    }

    [Theory]
    [InlineData("mnist")]
    [InlineData("mnist:")]
    [InlineData("cifar10")]
    [InlineData("folder:")]
    [InlineData("folder:a,b,c")]
    [InlineData("folder:a,")]
    [InlineData("list:root")]
    [InlineData("list::x.txt")]
    [InlineData("list:root:")]
    [InlineData("synthetic")]
    public void MalformedSpecsAreUsageErrors(string spec)
    {
        var e = Assert.Throws<UsageException>(() => DatasetCatalog.Load(spec));
        Assert.StartsWith($"dataset {spec}:", e.Message);
    }

    [Fact]
    public void MissingDirectoriesAreDataErrors()
    {
        using var dir = new TempDir();
        AssertDataError(() => DatasetCatalog.Load($"mnist:{dir.File("m")}"), "m", "directory not found");
        AssertDataError(() => DatasetCatalog.Load($"folder:{dir.File("f")}"), "f", "not found");
        AssertDataError(() => DatasetCatalog.Load($"list:{dir.File("r")}:{dir.File("l.txt")}"), "r", "not found");
    }

    [Fact]
    public void SplitsRecordSpecAndDescription()
    {
        using var s = DatasetCatalog.Load("synthetic:3:2:8");
        Assert.Equal("synthetic:3:2:8", s.Spec);
        Assert.Contains("6 train / 6 test, 8x8 grey, 2 classes", s.Description);
    }
}
