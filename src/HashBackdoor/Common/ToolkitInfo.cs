using System.Reflection;

namespace HashBackdoor;

/// <summary>Version of the toolkit, recorded in every run folder and model file.</summary>
public static class ToolkitInfo
{
    public static string Version { get; } =
        typeof(ToolkitInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
