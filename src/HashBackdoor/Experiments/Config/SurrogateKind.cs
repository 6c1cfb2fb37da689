namespace HashBackdoor.Experiments;

/// <summary>Which model the attacker optimises the trigger and the perturbations on (config <c>surrogate</c> or
/// <c>surrogate.kind</c>).</summary>
public enum SurrogateKind
{
    /// <summary>"twin" (alias "clean", its name before): the clean model of the same seed, so the surrogate has the
    /// victim's architecture, bits, data and initial weights.</summary>
    [ConfigAlias("clean")]
    Twin,
    /// <summary>"independent": a second clean model trained with its own seed (<see cref="SeedPurpose.Surrogate"/>).</summary>
    Independent,
}
