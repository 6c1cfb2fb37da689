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

/// <summary>A write failed because the file system is full (or the user's quota is used up) (exit code 5). The message
/// names the file, how many bytes writing it needs and how many are free there; the temporary file is already removed.</summary>
public sealed class OutOfSpaceException : HashBackdoorException
{
    /// <param name="path">The file that could not be written.</param>
    /// <param name="neededBytes">Its size (or a lower bound when <paramref name="atLeast"/>).</param>
    /// <param name="freeBytes">Bytes free there (-1: unknown).</param>
    /// <param name="inner">The system's error.</param>
    /// <param name="atLeast">The size is a lower bound (a writer that cannot be measured without writing).</param>
    public OutOfSpaceException(string path, long neededBytes, long freeBytes, Exception? inner = null, bool atLeast = false)
        : base($"{path}: no space left on the file system (writing it needs {(atLeast ? "at least " : "")}{neededBytes:N0} bytes, {(freeBytes < 0 ? "an unknown number" : freeBytes.ToString("N0"))} are free in {System.IO.Path.GetDirectoryName(path)}); free some space or choose another output folder, then resume the run", inner)
    {
        Path = path;
        NeededBytes = neededBytes;
        FreeBytes = freeBytes;
    }

    /// <summary>The file that could not be written.</summary>
    public string Path { get; }
    /// <summary>The size of the whole file that was being written.</summary>
    public long NeededBytes { get; }
    /// <summary>Bytes free for this user on the file system of <see cref="Path"/> when the write failed.</summary>
    public long FreeBytes { get; }
    public override int ExitCode => 5;
}
