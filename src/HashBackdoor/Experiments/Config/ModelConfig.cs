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

    /// <summary>The model spec's messages name flags (<c>--input-size</c>); a config names its keys.</summary>
    private static readonly (string Flag, string Key)[] SpecKeys =
    {
        ("--pretrained", "model.pretrained"), ("--input-size", "model.inputSize"), ("--layout", "model.layout"),
        ("--normalize", "model.normalization"), ("--arch", "model.architecture"), ("--bits", "model.bits"),
    };

    /// <summary>Throws <see cref="UsageException"/> naming the first bad key (model.architecture, model.bits,
    /// model.pretrained, model.inputSize, model.layout, model.normalization; what needs the data's channels is checked
    /// by <see cref="Spec"/>).</summary>
    public ModelConfig Validate()
    {
        if (!HashModelSpec.Architectures.Contains(Architecture))
            throw new UsageException($"model.architecture {Architecture}: unknown backbone (known: {string.Join(", ", HashModelSpec.Architectures)})");
        if (Bits <= 0 || Bits % 8 != 0 || Bits > 4096)
            throw new UsageException($"model.bits {Bits}: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096");
        // Everything but the channel count can be checked on a grey 28 px geometry (grey and colour both pass the layouts).
        Spec(1, 28, 28, 2);
        return this;
    }

    /// <summary>The model spec for images of the given geometry.</summary>
    public HashModelSpec Spec(int channels, int height, int width, int classes)
    {
        try
        {
            return new HashModelSpec(Architecture, Bits, channels, height, width, classes)
            {
                Pretrained = Pretrained, InputSize = InputSize, Layout = Layout, Normalization = Normalization,
            }.Validate();
        }
        catch (UsageException e)
        {
            // Name the config key for the flag the spec named, wherever it occurs in the one line.
            string message = e.Message;
            foreach (var (flag, key) in SpecKeys) message = message.Replace(flag + " ", key + " ").Replace(flag + ":", key + ":");
            if (message == e.Message) throw;
            throw new UsageException(message, e);
        }
    }
}
