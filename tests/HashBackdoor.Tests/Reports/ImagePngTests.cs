using HashBackdoor.Experiments.Reports;
using SkiaSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Reports;

public class ImagePngTests
{
    [Fact]
    public void GreyTensorRoundTripsThroughPng()
    {
        // 255 * [0, 1, 0.6, 0.4] = [0, 255, 153, 102]
        using var t = tensor(new float[] { 0f, 1f, 0.6f, 0.4f }).reshape(1, 2, 2);
        using var bmp = ReportSamples.Decode(ImagePng.FromTensor(t));
        Assert.Equal((2, 2), (bmp.Width, bmp.Height));
        Assert.Equal(new SKColor(0, 0, 0), bmp.GetPixel(0, 0));
        Assert.Equal(new SKColor(255, 255, 255), bmp.GetPixel(1, 0));
        Assert.Equal(new SKColor(153, 153, 153), bmp.GetPixel(0, 1));
        Assert.Equal(new SKColor(102, 102, 102), bmp.GetPixel(1, 1));
    }

    [Fact]
    public void RgbTensorRoundTripsThroughPng()
    {
        // channel planes of a 2x2 image: (x=0,y=0) red, (1,0) green, (0,1) blue, (1,1) = 255*(0.2, 0.4, 0.6)
        using var t = tensor(new float[]
        {
            1f, 0f, 0f, 0.2f, // R
            0f, 1f, 0f, 0.4f, // G
            0f, 0f, 1f, 0.6f, // B
        }).reshape(3, 2, 2);
        using var bmp = ReportSamples.Decode(ImagePng.FromTensor(t));
        Assert.Equal(new SKColor(255, 0, 0), bmp.GetPixel(0, 0));
        Assert.Equal(new SKColor(0, 255, 0), bmp.GetPixel(1, 0));
        Assert.Equal(new SKColor(0, 0, 255), bmp.GetPixel(0, 1));
        Assert.Equal(new SKColor(51, 102, 153), bmp.GetPixel(1, 1));
    }

    [Fact]
    public void ScaleEnlargesByNearestNeighbourBlocks()
    {
        using var t = tensor(new float[]
        {
            1f, 0f, 0f, 0.2f,
            0f, 1f, 0f, 0.4f,
            0f, 0f, 1f, 0.6f,
        }).reshape(3, 2, 2);
        using var small = ReportSamples.Decode(ImagePng.FromTensor(t));
        using var big = ReportSamples.Decode(ImagePng.FromTensor(t, scale: 3));
        Assert.Equal((6, 6), (big.Width, big.Height));
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++)
                Assert.Equal(small.GetPixel(x / 3, y / 3), big.GetPixel(x, y));
    }

    [Fact]
    public void ValuesOutsideTheRangeAreClampedAndDoubleOnOtherDevicesWork()
    {
        using var t = tensor(new double[] { -3, 7 }).reshape(1, 1, 2);
        using var bmp = ReportSamples.Decode(ImagePng.FromTensor(t, 2));
        Assert.Equal((4, 2), (bmp.Width, bmp.Height));
        Assert.Equal(new SKColor(0, 0, 0), bmp.GetPixel(1, 1));
        Assert.Equal(new SKColor(255, 255, 255), bmp.GetPixel(2, 0));
    }

    [Fact]
    public void PerturbationMapsPlusEpsToWhiteMinusEpsToBlackZeroToGrey()
    {
        const double eps = 8.0 / 255;
        using var delta = tensor(new float[] { (float)eps, (float)-eps, 0f, (float)(3 * eps) }).reshape(1, 1, 4);
        using var bmp = ReportSamples.Decode(ImagePng.Perturbation(delta, eps, 1));
        Assert.Equal(255, bmp.GetPixel(0, 0).Red);
        Assert.Equal(0, bmp.GetPixel(1, 0).Red);
        Assert.InRange(bmp.GetPixel(2, 0).Red, 127, 129);
        Assert.Equal(255, bmp.GetPixel(3, 0).Red); // beyond +eps: clamped
        Assert.Throws<ArgumentOutOfRangeException>(() => ImagePng.Perturbation(delta, 0, 1));
    }

    [Fact]
    public void GridPlacesImagesRowByRowWithWhitePadding()
    {
        using var black = zeros(1, 2, 2);
        using var grey = full(new long[] { 1, 2, 2 }, 0.4f);
        using var red = tensor(new float[] { 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0 }).reshape(3, 2, 2);
        // 2 columns, 2 rows of 2x2 images, 1 pixel padding: 2*2 + 3 = 7 pixels per side
        using var bmp = ReportSamples.Decode(ImagePng.Grid(new[] { black, grey, red }, columns: 2, scale: 1, pad: 1));
        Assert.Equal((7, 7), (bmp.Width, bmp.Height));
        Assert.Equal(SKColors.White, bmp.GetPixel(0, 0));
        Assert.Equal(new SKColor(0, 0, 0), bmp.GetPixel(1, 1));
        Assert.Equal(new SKColor(102, 102, 102), bmp.GetPixel(4, 2));
        Assert.Equal(new SKColor(255, 0, 0), bmp.GetPixel(2, 5));
        Assert.Equal(SKColors.White, bmp.GetPixel(5, 5)); // empty cell
    }

    [Fact]
    public void RejectsTensorsThatAreNotImages()
    {
        using var two = zeros(2, 2, 2);
        using var flat = zeros(4, 4);
        Assert.Throws<ArgumentException>(() => ImagePng.FromTensor(two));
        Assert.Throws<ArgumentException>(() => ImagePng.FromTensor(flat));
        using var ok = zeros(1, 2, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImagePng.FromTensor(ok, 0));
    }

    [Fact]
    public void SizeReadsThePngHeader()
    {
        using var t = zeros(3, 5, 7);
        Assert.Equal((14, 10), ImagePng.Size(ImagePng.FromTensor(t, 2)));
        Assert.Null(ImagePng.Size(new byte[] { 1, 2, 3 }));
    }
}
