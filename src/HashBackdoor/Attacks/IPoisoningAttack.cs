using HashBackdoor.Data;

namespace HashBackdoor.Attacks;

/// <summary>
/// A clean-label poisoning attack: turns a training set into a poisoned one of the same size and labels, in which
/// chosen target-class images are replaced by poisoned versions. A new attack is one new class implementing this
/// interface with a public parameterless constructor: <see cref="PoisoningAttacks"/> finds it by its <see cref="Name"/>.
/// </summary>
public interface IPoisoningAttack
{
    /// <summary>Registry name (lower case, as given to methods), for example "ciba".</summary>
    string Name { get; }

    /// <summary>Poisons <paramref name="train"/> (which is not modified). The result is owned by the caller.</summary>
    PoisonSet Poison(ImageDataset train, PoisonContext context);
}
