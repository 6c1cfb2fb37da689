using HashBackdoor.Data;

namespace HashBackdoor.Attacks;

/// <summary>
/// "tri" (method.md section 6): the trigger alone on N target-class images. As in the reference code the poisoned images
/// keep the ordinary training augmentation and the trigger is pasted after it: the stored images stay the clean
/// originals and the set's plan pastes the trigger on poisoned rows of each augmented batch.
/// </summary>
public sealed class TriggerOnlyAttack : IPoisoningAttack
{
    /// <inheritdoc/>
    public string Name => "tri";

    /// <inheritdoc/>
    public PoisonSet Poison(ImageDataset train, PoisonContext context)
    {
        context.Trigger.CheckFits(train.Channels, train.Height, train.Width);
        long[] indices = context.ChooseIndices(train);
        return PoisonSet.PasteAfterAugmentation(Name, context.TargetClass, train, indices, context.Trigger);
    }
}
