using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>
/// What a pipeline needs from whoever runs it, passed explicitly (nothing is read from process-wide state): the torch
/// device, how seeds are derived, where progress and log lines go, and the token that stops the run (Ctrl+C in the
/// CLI). Every long loop (training epochs and batches, trigger steps, perturbation groups) checks the token.
/// </summary>
public sealed record RunContext
{
    /// <summary>Torch device of models and batches. Default: CPU.</summary>
    public Device Device { get; init; } = CPU;

    /// <summary>Seed derivation. Default: <see cref="RunSeeds.Default"/>.</summary>
    public RunSeeds Seeds { get; init; } = RunSeeds.Default;

    /// <summary>Progress bars and information lines. Default: none.</summary>
    public IRunProgress Progress { get; init; } = RunProgress.None;

    /// <summary>Stops the run when cancelled (<see cref="OperationCanceledException"/>). Default: never.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>A context on the CPU that reports nothing and cannot be cancelled (tests, tools).</summary>
    public static RunContext Quiet { get; } = new();

    /// <summary>A context for a device name ("cpu", "cuda", "cuda:N"; <see cref="UsageException"/> naming the config
    /// key <c>device</c> otherwise).</summary>
    public static RunContext For(string device, IRunProgress progress, CancellationToken cancellation = default) => new()
    {
        Device = TorchRuntime.ParseDevice(device), Progress = progress, Cancellation = cancellation,
    };

    /// <summary>Writes an information line (the log of the run) to <see cref="Progress"/>.</summary>
    public void Log(string line) => Progress.Info(line);

    /// <summary>Starts a progress step of <paramref name="total"/> units.</summary>
    public IProgressStep Step(string description, double total) => Progress.Start(description, total);
}
