using static TorchSharp.torch;

namespace HashBackdoor.Hashing.Backbones;

/// <summary>A feature extractor: images [B, C, H, W] in 0..1 to features [B, <see cref="FeatureSize"/>].</summary>
public interface IBackbone
{
    /// <summary>Width of the feature vector the hash layer receives.</summary>
    long FeatureSize { get; }
}
