using System.Text.Json.Serialization;

namespace HashBackdoor.Hashing;

/// <summary>
/// What a hashing model is: backbone architecture, code length and input geometry, and, for pretrained backbones, the
/// backbone layout, the resizing and normalisation done inside the model and where the initial weights came from.
/// Stored in model files; the optional members are left out of the file when unset, so a spec without them writes the
/// same bytes as before they existed.
/// </summary>
public sealed record HashModelSpec(string Architecture, int Bits, int Channels, int Height, int Width, int NumClasses)
{
    /// <summary>Known backbone names.</summary>
    public static readonly IReadOnlyList<string> Architectures = new[] { "small-cnn", "small-cnn-wide", "vgg11", "resnet18" };

    /// <summary>Known backbone layouts besides the toolkit's own (null), all with 3 input channels and torchvision's
    /// module names: "torchvision" is torchvision's ImageNet architecture (vgg11: vgg11_bn; resnet18: 7x7 stride-2 stem
    /// and max-pool, two blocks per stage); "cntk" (resnet18 only) is the ResNet-18 of CNTK's model zoo that
    /// <see cref="ImageNetResNet18"/> ships: the same with a third block in the last stage (layer4.2).</summary>
    public static readonly IReadOnlyList<string> Layouts = new[] { "torchvision", "cntk" };

    /// <summary>Input normalisations done inside the model: "none", "imagenet" (torchvision's per-channel mean and
    /// standard deviation), "mean-image" (the BGR mean image and 0..255 scale of the ImageNet ResNet-18 package; set by
    /// <c>model.pretrained: imagenet-resnet18</c>).</summary>
    public static readonly IReadOnlyList<string> Normalizations = new[] { "none", "imagenet", "mean-image" };

    /// <summary>Name of the ImageNet ResNet-18 shipped by the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18.</summary>
    public const string ImageNetResNet18 = "imagenet-resnet18";

    /// <summary>Backbone layout: null for the toolkit's own, or one of <see cref="Layouts"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Layout { get; init; }

    /// <summary>Side length, in pixels, that images are resized to (bilinear) inside the model before the backbone;
    /// null keeps the native size. Attack budgets stay in the native pixels.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? InputSize { get; init; }

    /// <summary>Normalisation inside the model (one of <see cref="Normalizations"/>); null is "none".</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Normalization { get; init; }

    /// <summary>Where the initial backbone weights come from: null (random), <see cref="ImageNetResNet18"/>, or a
    /// torchvision state dict file (.pth, .pt, .safetensors). Read by <see cref="HashModel.Create"/> only; a model file
    /// keeps this as a record of provenance and carries the trained weights itself.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Pretrained { get; init; }

    /// <summary>True when the model has an input stage (channel replication, resizing or normalisation).</summary>
    [JsonIgnore]
    public bool HasInputStage => Layout is not null || InputSize is not null || (Normalization ?? "none") != "none";

    /// <summary>Channels the backbone itself receives (the torchvision layout takes 3; grey images are replicated).</summary>
    [JsonIgnore]
    public int BackboneChannels => Layout is null ? Channels : 3;

    /// <summary>Side lengths the backbone itself receives.</summary>
    [JsonIgnore]
    public (int Height, int Width) BackboneSize => InputSize is int s ? (s, s) : (Height, Width);

    /// <summary>Checks the spec and throws <see cref="UsageException"/> naming the config key at fault. Returns the spec with
    /// what a pretrained source implies filled in: the layout ("cntk" for <see cref="ImageNetResNet18"/>, "torchvision"
    /// for a state dict file) and the normalisation its weights expect ("mean-image", "imagenet").</summary>
    public HashModelSpec Validate()
    {
        if (!Architectures.Contains(Architecture))
            throw new UsageException($"model.architecture {Architecture}: unknown backbone (known: {string.Join(", ", Architectures)})");
        if (Bits <= 0 || Bits % 8 != 0 || Bits > 4096)
            throw new UsageException($"model.bits {Bits}: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096");
        if (Channels <= 0 || Height <= 0 || Width <= 0) throw new UsageException($"image geometry {Channels}x{Height}x{Width} is invalid");
        if (NumClasses <= 0) throw new UsageException($"number of classes {NumClasses} is invalid");
        var s = this;
        if (Pretrained is not null)
        {
            if (string.IsNullOrWhiteSpace(Pretrained)) throw new UsageException("model.pretrained: empty; give imagenet-resnet18 or a .pth/.safetensors file");
            if (Architecture is not ("vgg11" or "resnet18"))
                throw new UsageException($"model.pretrained {Pretrained}: only vgg11 and resnet18 take pretrained weights, not {Architecture}");
            if (Pretrained == ImageNetResNet18 && Architecture != "resnet18")
                throw new UsageException($"model.pretrained {Pretrained}: these are ResNet-18 weights; use model.architecture resnet18");
            bool package = Pretrained == ImageNetResNet18;
            s = s with
            {
                Layout = Layout ?? (package ? "cntk" : "torchvision"),
                Normalization = Normalization ?? (package ? "mean-image" : "imagenet"),
            };
            if (package && s.Layout != "cntk")
                throw new UsageException($"model.layout {s.Layout}: the {ImageNetResNet18} weights are CNTK's ResNet-18 (a third block in layer4); use model.layout cntk or leave model.layout unset");
            if (s.Layout is null) throw new UsageException($"model.pretrained {Pretrained}: needs a torchvision-named layout (model.layout torchvision)");
        }
        if (s.Layout is not null)
        {
            if (!Layouts.Contains(s.Layout)) throw new UsageException($"model.layout {s.Layout}: unknown (known: {string.Join(", ", Layouts)}; omit it for the toolkit's own)");
            if (Architecture is not ("vgg11" or "resnet18") || (s.Layout == "cntk" && Architecture != "resnet18"))
                throw new UsageException($"model.layout {s.Layout}: not available for {Architecture} (torchvision: vgg11, resnet18; cntk: resnet18)");
            if (Channels is not (1 or 3))
                throw new UsageException($"model.layout {s.Layout}: needs grey (1) or colour (3) images, not {Channels} channels");
        }
        if (InputSize is int size && (size < 8 || size > 1024))
            throw new UsageException($"model.inputSize {size}: must be between 8 and 1024 pixels");
        if (s.Normalization is not null && !Normalizations.Contains(s.Normalization))
            throw new UsageException($"model.normalization {s.Normalization}: unknown (known: {string.Join(", ", Normalizations)})");
        if (s.Normalization == "mean-image" && Pretrained != ImageNetResNet18)
            throw new UsageException($"model.normalization mean-image: only with model.pretrained {ImageNetResNet18} (its weights carry the mean image)");
        if (s.Normalization is "imagenet" or "mean-image" && s.BackboneChannels != 3)
            throw new UsageException($"model.normalization {s.Normalization}: needs 3 channels into the backbone (use model.layout torchvision or cntk for grey images)");
        return s;
    }
}
