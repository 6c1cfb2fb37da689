using HashBackdoor.Data;
using static HashBackdoor.Tests.Data.DataTestFiles;

namespace HashBackdoor.Tests.Data;

public class MnistTests
{
    [Fact]
    public void MnistDirectoryWithMixedRawAndGzipFiles()
    {
        using var dir = new TempDir();
        dir.Write("train-images-idx3-ubyte.gz", Gzip(ThreeImages()));
        dir.Write("train-labels-idx1-ubyte", ThreeLabels());
        dir.Write("t10k-images-idx3-ubyte", ThreeImages());
        dir.Write("t10k-labels-idx1-ubyte.gz", Gzip(ThreeLabels()));
        using var s = DatasetCatalog.Load($"mnist:{dir.Path}");
        Assert.Equal("mnist", s.Name);
        Assert.Equal(3, s.Train.Count);
        Assert.Equal(3, s.Test!.Count);
        Assert.Equal(4, s.Checksums.Count);
        Assert.Equal(Mnist.ClassNames, s.ClassNames);
        Assert.Equal(new[] { 7, 0, 9 }, s.Test.SingleLabels());
    }

    [Fact]
    public void MissingFileNamesIt()
    {
        using var dir = new TempDir();
        dir.Write("train-images-idx3-ubyte.gz", Gzip(ThreeImages()));
        dir.Write("train-labels-idx1-ubyte", ThreeLabels());
        dir.Write("t10k-images-idx3-ubyte", ThreeImages());
        AssertDataError(() => DatasetCatalog.Load($"mnist:{dir.Path}"), "t10k-labels-idx1-ubyte.gz", "missing IDX file");
    }

    [Fact]
    public void MissingFashionMnistDirectorySaysHowToInstall()
    {
        using var dir = new TempDir();
        string missing = Path.Combine(dir.Path, "fashion-mnist");
        AssertDataError(() => DatasetCatalog.Load("fashion-mnist", new DatasetOptions { FashionMnistDirectory = missing }),
            missing, "apt-get install dataset-fashion-mnist");
    }

    [Fact]
    public void RealFashionMnistLoadsWhenInstalled()
    {
        if (!Directory.Exists(FashionMnist.DefaultDirectory)) return; // package absent: nothing to check here
        using var s = DatasetCatalog.Load();
        Assert.Equal("fashion-mnist", s.Name);
        Assert.Equal(new long[] { 60000, 1, 28, 28 }, s.Train.Images.shape);
        Assert.Equal(new long[] { 10000, 1, 28, 28 }, s.Test!.Images.shape);
        Assert.Equal(10, s.NumClasses);
        Assert.Equal("Ankle boot", s.ClassNames[9]);
        Assert.Equal(4, s.Checksums.Count);
        // 6000 / 1000 images per class, exactly one label each.
        using var perClass = s.Train.Labels.sum(dim: 0);
        Assert.All(perClass.data<float>().ToArray(), v => Assert.Equal(6000f, v));
        using var rowSums = s.Test.Labels.sum(1);
        Assert.All(rowSums.data<float>().ToArray(), v => Assert.Equal(1f, v));
        Assert.InRange(s.Train.Images.max().item<float>(), 0.99f, 1f);
        Assert.Equal(0f, s.Train.Images.min().item<float>());
        using var p = RetrievalProtocol.Apply(s);
        Assert.Equal("fashion-mnist/q100-t500", p.Name);
        Assert.Equal((1000, 5000, 69000), (p.Query.Count, p.Train.Count, p.Database.Count));
    }
}
