namespace HashBackdoor;

/// <summary>Base of every error the toolkit reports to a user as one line. <see cref="ExitCode"/> is the process exit code.</summary>
public abstract class HashBackdoorException : Exception
{
    protected HashBackdoorException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>Documented process exit code for this kind of failure (see docs/reliability.md).</summary>
    public abstract int ExitCode { get; }
}

/// <summary>A bad command-line flag or configuration value (exit code 2). The message names the flag or key.</summary>
public sealed class UsageException : HashBackdoorException
{
    public UsageException(string message, Exception? inner = null) : base(message, inner) { }
    public override int ExitCode => 2;
}

/// <summary>A missing, damaged or inconsistent input file: dataset, model, trigger, codes (exit code 3).
/// The message starts with the file's path.</summary>
public sealed class DataException : HashBackdoorException
{
    public DataException(string path, string problem, Exception? inner = null) : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    public string Path { get; }
    public string Problem { get; }
    public override int ExitCode => 3;
}

/// <summary>Training or optimisation produced a non-finite value (exit code 4).</summary>
public sealed class NumericalException : HashBackdoorException
{
    public NumericalException(string message) : base(message) { }
    public override int ExitCode => 4;
}
