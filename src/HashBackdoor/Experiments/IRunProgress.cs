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

/// <summary>One long step.</summary>
public interface IProgressStep : IDisposable
{
    void Report(double done, string? status = null);
}

/// <summary>Ready-made progress sinks.</summary>
public static class RunProgress
{
    public static IRunProgress None { get; } = new NullProgress();

    /// <summary>Plain text lines (for logs and redirected output): one line per step start and end and per info.</summary>
    public static IRunProgress Lines(TextWriter writer) => new LineProgress(writer);

    private sealed class NullProgress : IRunProgress, IProgressStep
    {
        public IProgressStep Start(string description, double total) => this;
        public void Info(string line) { }
        public void Report(double done, string? status = null) { }
        public void Dispose() { }
    }

    private sealed class LineProgress(TextWriter w) : IRunProgress
    {
        public IProgressStep Start(string description, double total) { w.WriteLine($"[start] {description}"); return new Step(w, description); }
        public void Info(string line) => w.WriteLine(line);

        private sealed class Step(TextWriter w, string description) : IProgressStep
        {
            private string? last;
            public void Report(double done, string? status = null) => last = status;
            public void Dispose() => w.WriteLine($"[done]  {description}{(last is null ? "" : ": " + last)}");
        }
    }
}
