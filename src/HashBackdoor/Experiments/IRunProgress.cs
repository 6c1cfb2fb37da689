namespace HashBackdoor.Experiments;

/// <summary>Where long-running pipelines report progress. The CLI renders it as Spectre.Console progress bars; tests
/// pass <see cref="RunProgress.None"/>.</summary>
public interface IRunProgress
{
    /// <summary>Starts a step of <paramref name="total"/> units.</summary>
    IProgressStep Start(string description, double total);

    /// <summary>A line of information (a result, a file written).</summary>
    void Info(string line);
}
