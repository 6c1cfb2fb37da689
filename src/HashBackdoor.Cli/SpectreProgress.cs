using HashBackdoor.Experiments;
using Spectre.Console;

namespace HashBackdoor.Cli;

/// <summary>Renders the library's progress as Spectre.Console progress bars, or as plain lines when output is not a
/// terminal.</summary>
public static class SpectreProgress
{
    /// <summary>Runs <paramref name="work"/> with a progress sink bound to a live progress display.</summary>
    public static T Run<T>(Func<IRunProgress, T> work)
    {
        if (!CliRunner.Interactive) return work(RunProgress.Lines(Console.Error));
        T result = default!;
        var infos = new List<string>();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => { result = work(new Sink(ctx, infos)); });
        foreach (var line in infos) AnsiConsole.WriteLine(line);
        return result;
    }

    private sealed class Sink(ProgressContext ctx, List<string> infos) : IRunProgress
    {
        public IProgressStep Start(string description, double total)
        {
            var task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1e-9));
            return new Step(task, description);
        }

        public void Info(string line)
        {
            lock (infos) infos.Add(line);
        }

        private sealed class Step(ProgressTask task, string description) : IProgressStep
        {
            public void Report(double done, string? status = null)
            {
                task.Value = Math.Min(done, task.MaxValue);
                if (status is not null) task.Description = Markup.Escape($"{description} | {status}");
            }

            public void Dispose()
            {
                task.Value = task.MaxValue;
                task.StopTask();
            }
        }
    }
}
