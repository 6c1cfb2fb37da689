namespace HashBackdoor.Experiments;

/// <summary>Which codes of a model a run folder keeps (<see cref="RunFolder.CodesPath"/>).</summary>
public enum CodeSet
{
    /// <summary>The database split, kept beside the model (clean model: once per seed).</summary>
    Database,
    /// <summary>The clean query split, kept beside the model.</summary>
    Query,
    /// <summary>The target's triggered non-target queries (rows listed in <see cref="RunFolder.TriggeredQueriesPath"/>),
    /// kept in the method's folder (the clean model's under <c>clean/</c> of the target).</summary>
    TriggeredQueries,
}
