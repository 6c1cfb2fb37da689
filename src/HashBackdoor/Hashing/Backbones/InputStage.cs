using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace HashBackdoor.Hashing.Backbones;

/// <summary>
/// The first module of a model whose backbone expects other images than the data: takes images in pixel units (0..1,
/// the data's channels and size) and replicates grey to 3 channels, resizes (bilinear, antialiased when shrinking) to
/// <see cref="HashModelSpec.InputSize"/> and normalises, (x - mean) / std. Doing this inside the model keeps every
/// attack budget (trigger, perturbation epsilon) in the data's pixel units and makes gradients flow back to them.
/// Buffers: "mean" ([1, 3, 1, 1] per channel, or [1, 3, S, S] for a mean image) and "std" ([1, 3, 1, 1]); none for
/// "none". Built only for specs with <see cref="HashModelSpec.HasInputStage"/>, so other models keep their weights layout.
/// </summary>
public sealed class InputStage : Module<Tensor, Tensor>
{
    /// <summary>torchvision's ImageNet channel means (RGB, pixel units).</summary>
    public static readonly float[] ImageNetMean = { 0.485f, 0.456f, 0.406f };
    /// <summary>torchvision's ImageNet channel standard deviations (RGB, pixel units).</summary>
    public static readonly float[] ImageNetStd = { 0.229f, 0.224f, 0.225f };

    private readonly int channelsIn, channelsOut;
    private readonly long[]? size;
    private readonly bool normalizes;

    public InputStage(HashModelSpec spec) : base(nameof(InputStage))
    {
        channelsIn = spec.Channels;
        channelsOut = spec.BackboneChannels;
        size = spec.InputSize is int s ? new long[] { s, s } : null;
        var (h, w) = spec.BackboneSize;
        switch (spec.Normalization ?? "none")
        {
            case "imagenet":
                register_buffer("mean", tensor(ImageNetMean).reshape(1, 3, 1, 1), persistent: true);
                register_buffer("std", tensor(ImageNetStd).reshape(1, 3, 1, 1), persistent: true);
                normalizes = true;
                break;
            case "mean-image":
                // Filled from the pretrained package (PretrainedWeights); saved with the model like any weight.
                register_buffer("mean", zeros(1, 3, h, w), persistent: true);
                register_buffer("std", full(new long[] { 1, 3, 1, 1 }, 1f / 255f), persistent: true);
                normalizes = true;
                break;
        }
    }

    /// <summary>Sets the normalisation buffers (copies; shapes must match).</summary>
    public void SetNormalization(Tensor mean, Tensor std)
    {
        if (!normalizes) throw new InvalidOperationException("this input stage does not normalise");
        using var _ = no_grad();
        Buffer("mean").copy_(mean);
        Buffer("std").copy_(std);
    }

    private Tensor Buffer(string name) => get_buffer(name) ?? throw new InvalidOperationException($"input stage has no buffer '{name}'");

    public override Tensor forward(Tensor x)
    {
        if (x.dim() != 4 || x.shape[1] != channelsIn)
            throw new ArgumentException($"expected images [B, {channelsIn}, H, W], got [{string.Join(", ", x.shape)}]");
        using var scope = NewDisposeScope();
        var y = channelsIn == 1 && channelsOut == 3 ? x.expand(-1, 3, -1, -1) : x.alias();
        if (size is not null && (y.shape[2] != size[0] || y.shape[3] != size[1]))
            y = functional.interpolate(y, size, mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        if (normalizes) y = y.sub(Buffer("mean")).div_(Buffer("std"));
        return y.MoveToOuterDisposeScope();
    }
}
