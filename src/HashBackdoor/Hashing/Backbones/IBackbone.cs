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

/// <summary>A backbone that can be run in two parts at a stage boundary: <c>Tail(Head(x, n), n)</c> equals
/// <c>forward(x)</c> operation for operation, for every n from 0 to <see cref="IBackbone.Stages"/>.Count. What
/// <see cref="FrozenPrefixCache"/> needs to keep the output of frozen stages and run only the rest.</summary>
public interface IStagedBackbone : IBackbone
{
    /// <summary>The output of the first <paramref name="stages"/> stages (0: the input itself, as an alias).</summary>
    Tensor ForwardHead(Tensor x, int stages);

    /// <summary>The features [B, FeatureSize] from the output of the first <paramref name="stages"/> stages.</summary>
    Tensor ForwardTail(Tensor h, int stages);
}
