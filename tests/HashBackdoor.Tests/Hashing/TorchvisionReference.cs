using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace HashBackdoor.Tests.Hashing;

/// <summary>
/// torchvision state dicts made from known (seeded) values, with torchvision's names and shapes written out here from
/// torchvision's model definitions (resnet18, vgg11_bn, including their 1000-class classifiers), and forward passes
/// written with plain functional calls on those tensors: an implementation independent of the toolkit's modules.
/// </summary>
internal static class TorchvisionReference
{
    /// <summary>torchvision resnet18 (or, with lastStageBlocks 3, the same with layer4.2 as CNTK's ResNet-18 has).</summary>
    public static Dictionary<string, Tensor> ResNet18(long seed, int lastStageBlocks = 2)
    {
        var g = new Generator().manual_seed(seed);
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        d["conv1.weight"] = Conv(g, 64, 3, 7);
        Bn(d, g, "bn1", 64);
        int cin = 64;
        int[] widths = { 64, 128, 256, 512 };
        for (int s = 0; s < 4; s++)
            for (int b = 0; b < (s == 3 ? lastStageBlocks : 2); b++)
            {
                int cout = widths[s];
                string p = $"layer{s + 1}.{b}";
                d[$"{p}.conv1.weight"] = Conv(g, cout, cin, 3);
                Bn(d, g, $"{p}.bn1", cout);
                d[$"{p}.conv2.weight"] = Conv(g, cout, cout, 3);
                Bn(d, g, $"{p}.bn2", cout);
                if (s > 0 && b == 0)
                {
                    d[$"{p}.downsample.0.weight"] = Conv(g, cout, cin, 1);
                    Bn(d, g, $"{p}.downsample.1", cout);
                }
                cin = cout;
            }
        d["fc.weight"] = randn(new long[] { 1000, 512 }, generator: g).mul_(0.01);
        d["fc.bias"] = zeros(1000);
        return d;
    }

    /// <summary>torchvision resnet18 without fc (as many blocks per stage as the dict has): features [B, 512].</summary>
    public static Tensor ResNet18Features(IReadOnlyDictionary<string, Tensor> d, Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = F.relu(BatchNorm(d, "bn1", F.conv2d(x, d["conv1.weight"], null, new long[] { 2, 2 }, new long[] { 3, 3 })));
        y = F.max_pool2d(y, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 });
        for (int s = 1; s <= 4; s++)
            for (int b = 0; d.ContainsKey($"layer{s}.{b}.conv1.weight"); b++)
            {
                string p = $"layer{s}.{b}";
                long stride = s > 1 && b == 0 ? 2 : 1;
                var o = F.relu(BatchNorm(d, $"{p}.bn1", F.conv2d(y, d[$"{p}.conv1.weight"], null, new[] { stride, stride }, new long[] { 1, 1 })));
                o = BatchNorm(d, $"{p}.bn2", F.conv2d(o, d[$"{p}.conv2.weight"], null, new long[] { 1, 1 }, new long[] { 1, 1 }));
                var shortcut = d.ContainsKey($"{p}.downsample.0.weight")
                    ? BatchNorm(d, $"{p}.downsample.1", F.conv2d(y, d[$"{p}.downsample.0.weight"], null, new[] { stride, stride }, new long[] { 0, 0 }))
                    : y;
                y = F.relu(o + shortcut);
            }
        return y.mean(new long[] { 2, 3 }).MoveToOuterDisposeScope();
    }

    private static readonly int[] VggConfig = { 64, -1, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1 };

    public static Dictionary<string, Tensor> Vgg11Bn(long seed, ScalarType dtype)
    {
        var g = new Generator().manual_seed(seed);
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        int i = 0, cin = 3;
        foreach (int v in VggConfig)
        {
            if (v < 0) { i++; continue; }
            d[$"features.{i}.weight"] = Conv(g, v, cin, 3);
            d[$"features.{i}.bias"] = randn(new long[] { v }, generator: g).mul_(0.1);
            Bn(d, g, $"features.{i + 1}", v);
            i += 3;
            cin = v;
        }
        d["classifier.0.weight"] = randn(new long[] { 4096, 25088 }, generator: g).mul_(0.01);
        d["classifier.0.bias"] = randn(new long[] { 4096 }, generator: g).mul_(0.1);
        d["classifier.3.weight"] = randn(new long[] { 4096, 4096 }, generator: g).mul_(0.02);
        d["classifier.3.bias"] = randn(new long[] { 4096 }, generator: g).mul_(0.1);
        d["classifier.6.weight"] = randn(new long[] { 1000, 4096 }, generator: g).mul_(0.01);
        d["classifier.6.bias"] = zeros(1000);
        foreach (var k in d.Keys.ToList())
            if (d[k].is_floating_point()) d[k] = d[k].to_type(dtype);
        return d;
    }

    /// <summary>torchvision vgg11_bn without classifier.6 (evaluation mode): features [B, 4096].</summary>
    public static Tensor Vgg11BnFeatures(IReadOnlyDictionary<string, Tensor> d, Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor W(string k) => d[k].to_type(ScalarType.Float32);
        var y = x;
        int i = 0;
        foreach (int v in VggConfig)
        {
            if (v < 0) { y = F.max_pool2d(y, new long[] { 2, 2 }, new long[] { 2, 2 }); i++; continue; }
            y = F.conv2d(y, W($"features.{i}.weight"), W($"features.{i}.bias"), new long[] { 1, 1 }, new long[] { 1, 1 });
            string p = $"features.{i + 1}";
            y = F.relu(F.batch_norm(y, W($"{p}.running_mean"), W($"{p}.running_var"), W($"{p}.weight"), W($"{p}.bias"), false, 0.1, 1e-5));
            i += 3;
        }
        y = F.adaptive_avg_pool2d(y, new long[] { 7, 7 }).flatten(1);
        y = F.relu(F.linear(y, W("classifier.0.weight"), W("classifier.0.bias")));
        y = F.relu(F.linear(y, W("classifier.3.weight"), W("classifier.3.bias")));
        return y.MoveToOuterDisposeScope();
    }

    private static Tensor BatchNorm(IReadOnlyDictionary<string, Tensor> d, string p, Tensor x) =>
        F.batch_norm(x, d[$"{p}.running_mean"], d[$"{p}.running_var"], d[$"{p}.weight"], d[$"{p}.bias"], false, 0.1, 1e-5);

    private static Tensor Conv(Generator g, int cout, int cin, int k) =>
        randn(new long[] { cout, cin, k, k }, generator: g).mul_(Math.Sqrt(2.0 / (cin * k * k)));

    private static void Bn(Dictionary<string, Tensor> d, Generator g, string p, int c)
    {
        d[$"{p}.weight"] = rand(new long[] { c }, generator: g).add_(0.5);
        d[$"{p}.bias"] = randn(new long[] { c }, generator: g).mul_(0.1);
        d[$"{p}.running_mean"] = randn(new long[] { c }, generator: g).mul_(0.1);
        d[$"{p}.running_var"] = rand(new long[] { c }, generator: g).add_(0.5);
        d[$"{p}.num_batches_tracked"] = tensor(1000L);
    }
}
