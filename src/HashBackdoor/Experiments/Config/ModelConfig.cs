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

    /// <summary>Pretrained backbone weights (vgg11, resnet18): imagenet-resnet18 (from a NuGet package) or a torchvision
    /// .pth/.safetensors state dict; null: trained from scratch (<see cref="HashModelSpec.Pretrained"/>).</summary>
    public string? Pretrained { get; init; }
    /// <summary>Side the model resizes its input to (<see cref="HashModelSpec.InputSize"/>); null: the images' own.</summary>
    public int? InputSize { get; init; }
    /// <summary>Module layout (<see cref="HashModelSpec.Layout"/>): torchvision or cntk; null: the toolkit's own or what
    /// <see cref="Pretrained"/> needs.</summary>
    public string? Layout { get; init; }
    /// <summary>Normalisation inside the model (<see cref="HashModelSpec.Normalization"/>): none, imagenet, mean-image;
    /// null: what <see cref="Pretrained"/> needs, else none.</summary>
    public string? Normalization { get; init; }

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (model.architecture, model.bits, ...): the model
    /// spec's own check (<see cref="HashModelSpec.Validate"/>) of everything it can check before the data is loaded.</summary>
    public ModelConfig Validate()
    {
        Spec(channels: 3, height: 32, width: 32, classes: 2); // any colour geometry: the run checks the data's own
        return this;
    }

    /// <summary>The model spec for images of the given geometry.</summary>
    public HashModelSpec Spec(int channels, int height, int width, int classes) =>
        new HashModelSpec(Architecture, Bits, channels, height, width, classes)
        {
            Pretrained = Pretrained, InputSize = InputSize, Layout = Layout, Normalization = Normalization,
        }.Validate();
}
