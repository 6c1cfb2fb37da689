using HashBackdoor.Hashing;
using HashBackdoor.Tests.Retrieval;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Hashing;

/// <summary>
/// <c>--pretrained FILE</c>: torchvision state dicts written in the test with TorchSharp.PyBridge (PyTorch's pickle
/// format and safetensors) load into the torchvision layouts, and the backbone then computes what an independent
/// functional forward pass over the same tensors computes; misfits are one line listing each tensor.
/// </summary>
[Collection("torch-training")]
public class PretrainedStateDictTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public void PthStateDictLoadsIntoResNet18AndGivesTheReferenceFeatures()
    {
        var sd = TorchvisionReference.ResNet18(seed: 5);
        string path = tmp.File("resnet18.pth");
        PyTorchPickler.PickleStateDict(path, sd);

        manual_seed(11);
        using var model = HashModel.Create(new HashModelSpec("resnet18", 16, 3, 32, 32, 10) { Pretrained = path });
        model.eval();
        Assert.Equal("torchvision", model.Spec.Layout);
        Assert.Equal("imagenet", model.Spec.Normalization);

        using var _ = no_grad();
        using var x = rand(new long[] { 2, 3, 32, 32 }, generator: new Generator().manual_seed(3));
        using var f = model.Features(x);
        // The model normalises inside; the reference gets the normalised input.
        using var xn = x.sub(tensor(new[] { 0.485f, 0.456f, 0.406f }).reshape(1, 3, 1, 1)).div(tensor(new[] { 0.229f, 0.224f, 0.225f }).reshape(1, 3, 1, 1));
        using var reference = TorchvisionReference.ResNet18Features(sd, xn);
        Assert.Equal(new long[] { 2, 512 }, f.shape);
        Assert.True(reference.abs().max().item<float>() > 0.1f, "reference features are degenerate");
        float diff = (f - reference).abs().max().item<float>();
        Assert.True(diff < 1e-4f, $"features differ from the reference by {diff}");
    }

    [Fact]
    public void HashLayerStaysRandomlyInitialised()
    {
        var sd = TorchvisionReference.ResNet18(seed: 6);
        string path = tmp.File("r.pth");
        PyTorchPickler.PickleStateDict(path, sd);
        var spec = new HashModelSpec("resnet18", 16, 3, 32, 32, 10);
        manual_seed(21);
        using var scratch = HashModel.Create(spec with { Layout = "torchvision", Normalization = "imagenet" });
        manual_seed(21);
        using var pre = HashModel.Create(spec with { Pretrained = path });
        var a = scratch.state_dict();
        var b = pre.state_dict();
        Assert.True(Same(a["hash.weight"], b["hash.weight"]), "hash layer differs from the seeded random one");
        Assert.True(Same(b["backbone.conv1.weight"], sd["conv1.weight"]), "conv1 was not loaded");
        Assert.False(Same(a["backbone.conv1.weight"], b["backbone.conv1.weight"]));
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && (a - b).abs().max().item<float>() == 0f;

    [Fact]
    public void HalfPrecisionSafetensorsLoadIntoVgg11AndGiveTheReferenceFeatures()
    {
        var sd = TorchvisionReference.Vgg11Bn(seed: 7, ScalarType.Float16);
        string path = tmp.File("vgg11_bn.safetensors");
        Safetensors.SaveStateDict(path, sd);

        using var model = HashModel.Create(new HashModelSpec("vgg11", 16, 3, 32, 32, 10) { Pretrained = path, Normalization = "none" });
        model.eval();
        using var _ = no_grad();
        using var x = rand(new long[] { 2, 3, 32, 32 }, generator: new Generator().manual_seed(4));
        using var f = model.Features(x);
        using var reference = TorchvisionReference.Vgg11BnFeatures(sd, x);
        Assert.Equal(new long[] { 2, 4096 }, f.shape);
        Assert.True(reference.abs().max().item<float>() > 0.1f, "reference features are degenerate");
        float diff = (f - reference).abs().max().item<float>();
        Assert.True(diff < 1e-3f * Math.Max(1f, reference.abs().max().item<float>()), $"features differ from the reference by {diff}");
    }

    [Fact]
    public void MissingAndMismatchedTensorsAreListedOnOneLine()
    {
        var sd = TorchvisionReference.ResNet18(seed: 8);
        sd["conv1.weight"] = zeros(64, 1, 7, 7);
        sd.Remove("layer4.1.bn2.running_var");
        sd.Remove("layer2.0.bn1.num_batches_tracked"); // optional: older torchvision files lack it
        string path = tmp.File("bad.pth");
        PyTorchPickler.PickleStateDict(path, sd);

        var e = Assert.Throws<DataException>(() => HashModel.Create(new HashModelSpec("resnet18", 16, 1, 28, 28, 10) { Pretrained = path }));
        Assert.StartsWith(path + ": 2 of ", e.Message);
        Assert.Contains("conv1.weight expected [64, 3, 7, 7], found [64, 1, 7, 7]", e.Message);
        Assert.Contains("layer4.1.bn2.running_var missing (expected [512])", e.Message);
        Assert.DoesNotContain("num_batches_tracked", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void AStateDictOfAnotherModelSaysNoNameMatched()
    {
        string path = tmp.File("other.pth");
        PyTorchPickler.PickleStateDict(path, new Dictionary<string, Tensor> { ["encoder.weight"] = ones(4, 4) });
        var e = Assert.Throws<DataException>(() => HashModel.Create(new HashModelSpec("vgg11", 16, 3, 32, 32, 10) { Pretrained = path }));
        Assert.Contains("features.0.weight missing (expected [64, 3, 3, 3])", e.Message);
        Assert.Contains("and ", e.Message); // more than the listed maximum
        Assert.Contains("no tensor name matched", e.Message);
    }

    [Fact]
    public void DamagedOrMissingFilesNameTheFile()
    {
        string junk = tmp.File("junk.pth");
        File.WriteAllBytes(junk, new byte[] { 1, 2, 3, 4, 5 });
        var e = Assert.Throws<DataException>(() => HashModel.Create(new HashModelSpec("resnet18", 16, 3, 32, 32, 10) { Pretrained = junk }));
        Assert.StartsWith(junk + ": not a readable PyTorch state dict", e.Message);

        string missing = tmp.File("nope.safetensors");
        var m = Assert.Throws<DataException>(() => HashModel.Create(new HashModelSpec("resnet18", 16, 3, 32, 32, 10) { Pretrained = missing }));
        Assert.StartsWith(missing + ": pretrained weights file not found", m.Message);

        string txt = tmp.File("weights.txt");
        File.WriteAllText(txt, "x");
        var u = Assert.Throws<UsageException>(() => HashModel.Create(new HashModelSpec("resnet18", 16, 3, 32, 32, 10) { Pretrained = txt }));
        Assert.Contains("unknown file type '.txt'", u.Message);
    }
}
