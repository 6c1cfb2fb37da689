using HashBackdoor.Hashing;

namespace HashBackdoor.Experiments;

/// <summary>Config section <c>model</c>: the hashing model of every run.</summary>
public sealed record ModelConfig
{
    /// <summary>Backbone, by registry name (<see cref="HashModelSpec.Architectures"/>: small-cnn, small-cnn-wide, vgg11,
    /// resnet18; a new backbone is one file and one registry line in Hashing/Backbones, so this stays a validated name).
    /// Default small-cnn.</summary>
    public string Architecture { get; init; } = "small-cnn";

    /// <summary>Code length K, a multiple of 8. Default 48.</summary>
    public int Bits { get; init; } = 48;

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (model.architecture, model.bits).</summary>
    public ModelConfig Validate()
    {
        if (!HashModelSpec.Architectures.Contains(Architecture))
            throw new UsageException($"model.architecture {Architecture}: unknown backbone (known: {string.Join(", ", HashModelSpec.Architectures)})");
        if (Bits <= 0 || Bits % 8 != 0 || Bits > 4096)
            throw new UsageException($"model.bits {Bits}: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096");
        return this;
    }

    /// <summary>The model spec for images of the given geometry.</summary>
    public HashModelSpec Spec(int channels, int height, int width, int classes) =>
        new HashModelSpec(Architecture, Bits, channels, height, width, classes).Validate();
}
