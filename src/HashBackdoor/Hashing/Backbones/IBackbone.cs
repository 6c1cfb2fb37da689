using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Backbones;

/// <summary>A feature extractor: images [B, C, H, W] to features [B, <see cref="FeatureSize"/>].</summary>
public interface IBackbone
{
    /// <summary>Width of the feature vector the hash layer receives.</summary>
    long FeatureSize { get; }

    /// <summary>The backbone's stages from the input on (what <c>--freeze-stages N</c> freezes the first N of): a name and
    /// the modules that make it up.</summary>
    IReadOnlyList<(string Name, nn.Module[] Modules)> Stages { get; }
}
