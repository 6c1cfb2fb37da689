using System.Text.Json;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

/// <summary>
/// The input stage of pretrained models: images in pixel units go in, the backbone receives them replicated to RGB,
/// resized and normalised, exactly as if that were done by hand outside; gradients reach the pixels (attack budgets
/// stay in pixel units). Models without it keep today's weights layout and file header bytes.
/// </summary>
[Collection("torch-training")]
public class InputStageTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("hbd-input").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    private static Tensor ManualImageNet(Tensor x) =>
        x.sub(tensor(new[] { 0.485f, 0.456f, 0.406f }).reshape(1, 3, 1, 1)).div(tensor(new[] { 0.229f, 0.224f, 0.225f }).reshape(1, 3, 1, 1));

    [Fact]
    public void NormalisationInsideTheModelEqualsManualNormalisation()
    {
        manual_seed(1);
        using var model = new HashModel(new HashModelSpec("resnet18", 16, 3, 32, 32, 10) { Layout = "torchvision", Normalization = "imagenet" });
        model.eval();
        using var _ = no_grad();
        using var x = rand(new long[] { 2, 3, 32, 32 }, generator: new Generator().manual_seed(2));
        using var inside = model.Features(x);
        using var manual = model.Backbone.forward(ManualImageNet(x));
        Assert.Equal(0f, (inside - manual).abs().max().item<float>(), 5);
        // And it is not a no-op: the unnormalised input gives other features.
        using var raw = model.Backbone.forward(x);
        Assert.True((raw - manual).abs().max().item<float>() > 1e-3f);
    }

    [Fact]
    public void GreyImagesAreReplicatedResizedAndNormalised()
    {
        manual_seed(1);
        using var model = new HashModel(new HashModelSpec("resnet18", 16, 1, 16, 16, 10) { Layout = "torchvision", Normalization = "imagenet", InputSize = 32 });
        model.eval();
        using var _ = no_grad();
        using var x = rand(new long[] { 2, 1, 16, 16 }, generator: new Generator().manual_seed(2));
        using var big = nn.functional.interpolate(x, new long[] { 32, 32 }, mode: InterpolationMode.Bilinear, align_corners: false);
        using var manual = model.Backbone.forward(ManualImageNet(big.expand(2, 3, 32, 32)));
        using var inside = model.Features(x);
        Assert.True((inside - manual).abs().max().item<float>() < 1e-5f);
    }

    [Theory]
    [InlineData("resnet18", "torchvision", 64)]
    [InlineData("resnet18", "cntk", 64)]
    [InlineData("vgg11", "torchvision", 32)]
    public void TheBottomRightPixelReachesTheCode(string arch, string layout, int inputSize)
    {
        // The CIBA trigger sits in the bottom-right corner of the 28 px image (method.md section 9).
        manual_seed(3);
        using var model = new HashModel(new HashModelSpec(arch, 16, 1, 28, 28, 10) { Layout = layout, Normalization = "imagenet", InputSize = inputSize });
        model.eval();
        using var x = rand(2, 1, 28, 28).requires_grad_(true);
        using var z = model.forward(x);
        using var s = z.sum();
        s.backward();
        using var corner = x.grad![TensorIndex.Ellipsis, 27, 27].abs().sum();
        Assert.True(corner.item<float>() > 0, "gradient of the code w.r.t. the bottom-right pixel is zero");
    }

    [Fact]
    public void ModelsWithoutInputStageKeepTheirWeightsAndHeaderLayout()
    {
        var spec = new HashModelSpec("small-cnn", 48, 1, 28, 28, 10);
        // The header JSON of a spec without the new members is what earlier versions wrote.
        Assert.Equal("""{"Architecture":"small-cnn","Bits":48,"Channels":1,"Height":28,"Width":28,"NumClasses":10}""", JsonSerializer.Serialize(spec));
        Assert.DoesNotContain("FreezeStages", JsonSerializer.Serialize(new HashTrainerOptions()));
        Assert.Contains("\"FreezeStages\":2", JsonSerializer.Serialize(new HashTrainerOptions { FreezeStages = 2 }));
        using var model = new HashModel(spec);
        var keys = model.state_dict().Keys.ToList();
        Assert.Equal("backbone.features.conv0.weight", keys[0]);
        Assert.Contains("hash.bias", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("input.", StringComparison.Ordinal));
        Assert.Null(model.Input);
    }

    [Fact]
    public void ModelFileKeepsLayoutInputSizeAndNormalisation()
    {
        var spec = new HashModelSpec("resnet18", 16, 1, 16, 16, 3) { Pretrained = HashModelSpec.ImageNetResNet18, InputSize = 32 };
        manual_seed(4);
        using var model = HashModel.Create(spec);
        model.eval();
        string path = Path.Combine(dir, "m.hbm");
        ModelFile.Save(path, model, new ModelMetadata { Spec = model.Spec, Loss = "csq" });
        var (loaded, meta) = ModelFile.Load(path, model.Spec);
        using (loaded)
        {
            Assert.Equal(model.Spec, meta.Spec);
            Assert.Equal("cntk", meta.Spec.Layout);
            Assert.Equal("mean-image", meta.Spec.Normalization);
            Assert.Equal(32, meta.Spec.InputSize);
            using var _ = no_grad();
            using var x = rand(new long[] { 3, 1, 16, 16 }, generator: new Generator().manual_seed(5));
            using var a = model.forward(x);
            using var b = loaded.forward(x);
            Assert.Equal(0f, (a - b).abs().max().item<float>());
            // The mean image (resized to 32 px) travels in the file: it is part of the model.
            Assert.Equal(new long[] { 1, 3, 32, 32 }, loaded.state_dict()["input.mean"].shape);
            Assert.True(loaded.state_dict()["input.mean"].mean().item<float>() > 0.3f);
        }
    }

    [Theory]
    [InlineData("small-cnn", "imagenet-resnet18", null, null, "model.pretrained")]
    [InlineData("vgg11", "imagenet-resnet18", null, null, "use model.architecture resnet18")]
    [InlineData("resnet18", "imagenet-resnet18", "torchvision", null, "model.layout torchvision")]
    [InlineData("resnet18", null, "cntk", "mean-image", "model.normalization mean-image")]
    [InlineData("resnet18", null, null, "imagenet", "model.normalization imagenet")]
    [InlineData("vgg11", null, "cntk", null, "model.layout cntk")]
    [InlineData("small-cnn", null, "torchvision", null, "model.layout torchvision")]
    [InlineData("resnet18", null, "keras", null, "model.layout keras")]
    public void InconsistentBackboneOptionsNameTheKey(string arch, string? pretrained, string? layout, string? norm, string expected)
    {
        var e = Assert.Throws<UsageException>(() => new HashModelSpec(arch, 16, 1, 28, 28, 10) { Pretrained = pretrained, Layout = layout, Normalization = norm }.Validate());
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void PretrainedSourcesImplyLayoutAndNormalisation()
    {
        var package = new HashModelSpec("resnet18", 16, 1, 28, 28, 10) { Pretrained = HashModelSpec.ImageNetResNet18 }.Validate();
        Assert.Equal(("cntk", "mean-image"), (package.Layout, package.Normalization));
        var file = new HashModelSpec("vgg11", 16, 1, 28, 28, 10) { Pretrained = "w.pth" }.Validate();
        Assert.Equal(("torchvision", "imagenet"), (file.Layout, file.Normalization));
        var explicitNone = new HashModelSpec("vgg11", 16, 1, 28, 28, 10) { Pretrained = "w.pth", Normalization = "none" }.Validate();
        Assert.Equal("none", explicitNone.Normalization);
    }
}
