using HashBackdoor.Attacks;
using HashBackdoor.Hashing;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>
/// The trigger's own effect on the surrogate it was optimised against: mean Hamming distance of non-target images' codes
/// to the anchor with the initial patch (<see cref="TriggerOptions.Init"/>) and with the optimised trigger,
/// out of K bits. A targeted adversarial patch moves the second well below the first (and below K/2, chance).
/// </summary>
public sealed record TriggerEffect
{
    /// <summary>Code length K.</summary>
    public int Bits { get; init; }
    /// <summary>Images measured.</summary>
    public int Images { get; init; }
    /// <summary>Mean Hamming distance to the anchor with the initial (uniform) patch pasted.</summary>
    public double DistanceBefore { get; init; }
    /// <summary>Mean Hamming distance to the anchor with the optimised trigger pasted.</summary>
    public double DistanceAfter { get; init; }

    /// <summary>Measures on <paramref name="images"/> (float [N, C, H, W], non-target images) with the surrogate.</summary>
    public static TriggerEffect Measure(HashModel surrogate, Tensor images, Tensor anchor, PatchTrigger trigger, TriggerOptions options)
    {
        using var initial = PatchTrigger.Initial(options with { Size = trigger.Size }, trigger.Channels);
        var device = surrogate.parameters().First().device;
        return new TriggerEffect
        {
            Bits = (int)anchor.shape[0],
            Images = (int)images.shape[0],
            DistanceBefore = MeanDistance(surrogate, images, anchor, initial, device),
            DistanceAfter = MeanDistance(surrogate, images, anchor, trigger, device),
        };
    }

    /// <summary>Mean Hamming distance between the codes of the triggered images and <paramref name="anchor"/> (a zero
    /// component of the anchor counts as a mismatch with either sign).</summary>
    internal static double MeanDistance(HashModel model, Tensor images, Tensor anchor, PatchTrigger trigger, Device device)
    {
        if (images.shape[0] == 0) return double.NaN;
        using var scope = NewDisposeScope();
        var signs = HashEncoder.Encode(model, images, 500, x => trigger.Paste(x), device);
        var a = anchor.to_type(signs.dtype).to(signs.device).unsqueeze(0);
        return signs.ne(a).sum(1).to_type(ScalarType.Float64).mean().item<double>();
    }
}
