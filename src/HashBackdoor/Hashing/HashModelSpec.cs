namespace HashBackdoor.Hashing;

/// <summary>What a hashing model is: backbone architecture, code length and input geometry. Stored in model files.</summary>
public sealed record HashModelSpec(string Architecture, int Bits, int Channels, int Height, int Width, int NumClasses)
{
    /// <summary>Known backbone names.</summary>
    public static readonly IReadOnlyList<string> Architectures = new[] { "small-cnn", "small-cnn-wide", "vgg11", "resnet18" };

    /// <summary>Checks the spec and throws <see cref="UsageException"/> naming the flag at fault.</summary>
    public HashModelSpec Validate()
    {
        if (!Architectures.Contains(Architecture))
            throw new UsageException($"--arch {Architecture}: unknown backbone (known: {string.Join(", ", Architectures)})");
        if (Bits <= 0 || Bits % 8 != 0 || Bits > 4096)
            throw new UsageException($"--bits {Bits}: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096");
        if (Channels <= 0 || Height <= 0 || Width <= 0) throw new UsageException($"image geometry {Channels}x{Height}x{Width} is invalid");
        if (NumClasses <= 0) throw new UsageException($"number of classes {NumClasses} is invalid");
        return this;
    }
}
