namespace HashBackdoor;

/// <summary>Another name a config file may use for an enum value (an old name kept working).</summary>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
public sealed class ConfigAliasAttribute(string alias) : Attribute
{
    /// <summary>The accepted name.</summary>
    public string Alias { get; } = alias;
}
