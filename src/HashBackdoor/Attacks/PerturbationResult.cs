using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>Output of <see cref="ConfusingPerturbation.Run"/>: the perturbed images and the objective trace.</summary>
public sealed class PerturbationResult : IDisposable
{
    private Tensor? images;

    internal PerturbationResult(Tensor images, IReadOnlyList<double> objective)
    {
        this.images = images;
        Objective = objective;
    }

    /// <summary>Perturbed images x + delta, float [N, C, H, W] in 0..1 on the CPU; owned by this result.</summary>
    public Tensor Images => images ?? throw new ObjectDisposedException(nameof(PerturbationResult));

    /// <summary>Mean objective L over the images before each round's step, then after the last round (Rounds + 1 values).</summary>
    public IReadOnlyList<double> Objective { get; }

    /// <summary>Hands the images over to the caller (this result no longer disposes them).</summary>
    public Tensor TakeImages()
    {
        var t = Images;
        images = null;
        return t;
    }

    /// <summary>Releases the images unless they were taken.</summary>
    public void Dispose()
    {
        images?.Dispose();
        images = null;
    }
}
