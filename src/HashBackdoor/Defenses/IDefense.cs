namespace HashBackdoor.Defenses;

/// <summary>
/// A backdoor defense adapted to deep hashing. Each defense is one file implementing this interface plus one line in
/// <see cref="BackdoorDefenses"/>. A defense reads everything from <see cref="DefenseInputs"/> (one saved attack run)
/// and its run settings from <see cref="DefenseContext"/>, never changes the inputs (the victim is copied before any
/// repair), and returns named figures.
/// </summary>
public interface IDefense
{
    /// <summary>Registry name (lower case, e.g. "spectral", "strip").</summary>
    string Name { get; }

    /// <summary>TrojanZoo group.</summary>
    DefenseGroup Group { get; }

    /// <summary>Inputs the defense cannot run without.</summary>
    DefenseNeeds Needs { get; }

    /// <summary>Runs the defense on one attack run.</summary>
    /// <exception cref="UsageException">An input the defense needs is missing (see <see cref="Needs"/>).</exception>
    DefenseResult Run(DefenseInputs inputs, DefenseContext context);
}
