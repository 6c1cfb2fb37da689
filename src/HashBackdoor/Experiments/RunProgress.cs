namespace HashBackdoor.Experiments;

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
        public IProgressStep Start(string description, double total) { w.WriteLine($"[start] {description}"); return new Step(w, description, total); }
        public void Info(string line) => w.WriteLine(line);

        private sealed class Step(TextWriter w, string description, double total) : IProgressStep
        {
            private string? last;
            private int printed;

            /// <summary>Prints a line at every tenth of the step (at most ten lines a step).</summary>
            public void Report(double done, string? status = null)
            {
                last = status;
                int tenth = total > 0 ? (int)Math.Floor(10 * done / total) : 0;
                if (tenth > printed && tenth < 10)
                {
                    printed = tenth;
                    w.WriteLine($"        {description}: {10 * tenth}%{(status is null ? "" : " " + status)}");
                }
            }

            public void Dispose() => w.WriteLine($"[done]  {description}{(last is null ? "" : ": " + last)}");
        }
    }
}
