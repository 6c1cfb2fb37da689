using HashBackdoor.Data;
using static TorchSharp.torch;

namespace HashBackdoor.Attacks;

/// <summary>
/// Checks shared by the attack components, each made where a value enters. Each failure is a
/// <see cref="UsageException"/> with one line that names the config key at fault (trigger.size, targets, poison.count,
/// perturbation.epsilon).
/// </summary>
public static class AttackValidation
{
    /// <summary>The trigger (P x P, <paramref name="triggerChannels"/> channels) must fit inside the images.</summary>
    public static void TriggerFits(int triggerSize, int triggerChannels, int channels, int height, int width)
    {
        if (triggerSize > height || triggerSize > width)
            throw new UsageException($"trigger.size {triggerSize}: the trigger is larger than the {height}x{width} images");
        if (triggerChannels != channels)
            throw new UsageException($"trigger: the trigger has {triggerChannels} channel(s) but the images have {channels} (was it made for another dataset?)");
    }

    /// <summary>The trigger side must be at least 1.</summary>
    public static void TriggerSize(int triggerSize)
    {
        if (triggerSize < 1) throw new UsageException($"trigger.size {triggerSize}: must be at least 1 pixel");
    }

    /// <summary>The perturbation budget eps is a pixel amount on the 0..1 scale: it must lie in [0, 1].</summary>
    public static void Epsilon(double eps)
    {
        if (!(eps >= 0 && eps <= 1))
            throw new UsageException($"perturbation.epsilon {eps}: must lie in [0, 1] (pixel units on a 0..1 scale; 8/255 = {8.0 / 255:0.#####})");
    }

    /// <summary>The target class must be one of the dataset's classes.</summary>
    public static void TargetClass(int target, int numClasses)
    {
        if (target < 0 || target >= numClasses)
            throw new UsageException($"targets {target}: unknown class (the dataset has {numClasses} classes, 0..{numClasses - 1})");
    }

    /// <summary>The poison count must be at least 1 and at most the number of target-class training images.</summary>
    public static void PoisonCount(int count, int target, int classCount)
    {
        if (count < 1) throw new UsageException($"poison.count {count}: must be at least 1");
        if (count > classCount)
            throw new UsageException($"poison.count {count}: the target class {target} has only {classCount} training images");
    }

    /// <summary>Validates the target, then <see cref="Attacks.TargetRows.Mask"/> (kept for existing callers).</summary>
    public static Tensor TargetRows(Tensor labels, int target)
    {
        TargetClass(target, (int)labels.shape[1]);
        return Attacks.TargetRows.Mask(labels, target);
    }

    /// <summary>Validates the target, then <see cref="Attacks.TargetRows.Indices"/> (kept for existing callers).</summary>
    public static long[] TargetIndices(ImageDataset train, int target)
    {
        TargetClass(target, train.NumClasses);
        return Attacks.TargetRows.Indices(train, target);
    }
}
