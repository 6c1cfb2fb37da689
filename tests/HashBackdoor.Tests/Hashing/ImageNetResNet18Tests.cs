using HashBackdoor.Hashing;
using HashBackdoor.Hashing.Pretrained;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

/// <summary>
/// <c>--pretrained imagenet-resnet18</c>: the toolkit's ResNet-18 with the weights mapped from the NuGet package's ONNX
/// graph computes the same features as ONNX Runtime running the package's own two graphs (preprocessing, then
/// ResNet-18) on the same images, to 1e-4.
/// </summary>
[Collection("torch-training")]
public class ImageNetResNet18Tests(ITestOutputHelper output)
{
    /// <summary>ONNX Runtime on the package's graphs: x RGB in 0..1 [3, 224, 224] -> features [512].</summary>
    private static float[] OnnxRuntimeFeatures(float[] rgb01)
    {
        var pixels = rgb01.Select(v => v * 255f).ToArray(); // the package's graphs read 0..255
        using var prep = new InferenceSession(ImageNetResNet18Package.PreprocessPath);
        using var net = new InferenceSession(ImageNetResNet18Package.ModelPath);
        var dims = new[] { 1, 3, 224, 224 };
        using var pre = prep.Run(new[] { NamedOnnxValue.CreateFromTensor(prep.InputMetadata.Keys.Single(), new DenseTensor<float>(pixels, dims)) });
        var bgrMinusMean = pre.Single().AsTensor<float>().ToArray();
        using var res = net.Run(new[] { NamedOnnxValue.CreateFromTensor(net.InputMetadata.Keys.Single(), new DenseTensor<float>(bgrMinusMean, dims)) });
        var f = res.Single().AsTensor<float>();
        Assert.Equal(new[] { 1, 512, 1, 1 }, f.Dimensions.ToArray());
        return f.ToArray();
    }

    [Fact]
    public void FeaturesEqualOnnxRuntimeOnThePackagesGraphs()
    {
        using var model = HashModel.Create(new HashModelSpec("resnet18", 16, 3, 224, 224, 10) { Pretrained = HashModelSpec.ImageNetResNet18 });
        model.eval();
        Assert.Equal("mean-image", model.Spec.Normalization);
        Assert.Equal("cntk", model.Spec.Layout);
        using var _ = no_grad();
        // Two images: smooth colour gradients plus noise, in pixel units.
        var g = new Generator().manual_seed(9);
        using var ramp = linspace(0, 1, 224).reshape(1, 1, 1, 224).expand(2, 3, 224, 224);
        using var x = (ramp * 0.6 + rand(new long[] { 2, 3, 224, 224 }, generator: g) * 0.4).contiguous();
        using var f = model.Features(x);
        float worst = 0, scale = 0;
        for (int i = 0; i < 2; i++)
        {
            var expected = OnnxRuntimeFeatures(x[i].data<float>().ToArray());
            var got = f[i].data<float>().ToArray();
            for (int j = 0; j < 512; j++)
            {
                worst = Math.Max(worst, Math.Abs(expected[j] - got[j]));
                scale = Math.Max(scale, Math.Abs(expected[j]));
            }
        }
        output.WriteLine($"largest |toolkit - ONNX Runtime| {worst:E2}, largest feature {scale:F3}");
        Assert.True(scale > 0.1f, $"ONNX Runtime features are degenerate (max {scale})");
        Assert.True(worst <= 1e-4f, $"features differ from ONNX Runtime by {worst} (largest feature {scale})");
    }

    [Fact]
    public void GreyImagesAreReplicatedAndResizedBeforeTheSameNetwork()
    {
        // 1 x 112 x 112 grey images resized inside the model to 224: ONNX Runtime gets the replicated, resized image.
        using var model = HashModel.Create(new HashModelSpec("resnet18", 16, 1, 112, 112, 10) { Pretrained = HashModelSpec.ImageNetResNet18, InputSize = 224 });
        model.eval();
        using var _ = no_grad();
        using var x = rand(new long[] { 1, 1, 112, 112 }, generator: new Generator().manual_seed(10));
        using var big = nn.functional.interpolate(x, new long[] { 224, 224 }, mode: InterpolationMode.Bilinear, align_corners: false).expand(1, 3, 224, 224).contiguous();
        var expected = OnnxRuntimeFeatures(big[0].data<float>().ToArray());
        using var f = model.Features(x);
        var got = f[0].data<float>().ToArray();
        float worst = expected.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"largest |toolkit - ONNX Runtime| {worst:E2}");
        Assert.True(worst <= 1e-4f, $"features differ from ONNX Runtime by {worst}");
    }

    [Fact]
    public void TheMappingNamesEveryTorchvisionTensorOnce()
    {
        var w = ImageNetResNet18Package.Read();
        // CNTK's ResNet-18 is torchvision's plus a third block in the last stage (layer4.2).
        var expected = TorchvisionReference.ResNet18(seed: 1, lastStageBlocks: 3).Keys
            .Where(k => !k.StartsWith("fc.", StringComparison.Ordinal) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .OrderBy(k => k, StringComparer.Ordinal);
        Assert.Equal(expected, w.StateDict.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(new long[] { 1, 3, 224, 224 }, w.MeanImage.shape);
        // The mean image is ImageNet's mean colour in RGB order: red > green > blue, in pixel units.
        using var m = w.MeanImage.mean(new long[] { 0, 2, 3 });
        var rgb = m.data<float>().ToArray();
        Assert.True(rgb[0] > rgb[1] && rgb[1] > rgb[2] && rgb[0] < 0.55f && rgb[2] > 0.35f, $"mean colour {string.Join(", ", rgb)}");
    }
}
