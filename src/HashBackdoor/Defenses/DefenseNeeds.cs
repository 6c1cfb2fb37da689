namespace HashBackdoor.Defenses;

/// <summary>The parts of <see cref="DefenseInputs"/> a defense cannot run without; a loader checks them before any work
/// and names the missing file.</summary>
[Flags]
public enum DefenseNeeds
{
    /// <summary>Victim model, query and database splits only.</summary>
    None = 0,
    /// <summary>The poisoned training set with its true poison indices (<see cref="DefenseInputs.PoisonIndices"/>).</summary>
    PoisonSet = 1,
    /// <summary>The attack's trigger (<see cref="DefenseInputs.Trigger"/>), to build triggered queries.</summary>
    Trigger = 2,
}
