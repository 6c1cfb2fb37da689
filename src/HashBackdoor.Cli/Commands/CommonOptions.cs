using System.CommandLine;

namespace HashBackdoor.Cli.Commands;

/// <summary>Options shared by several commands.</summary>
internal static class CommonOptions
{
    public static Option<string> Device() => new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

    public static Option<string> Out(string description) => new("--out") { Description = description, Required = true };

    public static Option<string> ModelDir() => new("--model") { Description = "Run folder written by hashbd train", Required = true };
}
