namespace HashBackdoor.Experiments.Reports;

/// <summary>Everything report.html shows.</summary>
internal sealed record ReportContent
{
    public required string Title { get; init; }
    public required IReadOnlyDictionary<string, object?> Protocol { get; init; }
    public required ExperimentResults Results { get; init; }
    public CaptionedImage? Trigger { get; init; }
    public IReadOnlyList<PoisonExample> PoisonExamples { get; init; } = Array.Empty<PoisonExample>();
    /// <summary>Pictures that explain the run (<see cref="ExplanatoryFigures"/>), each section with its sentence.</summary>
    public IReadOnlyList<ReportFigure> Figures { get; init; } = Array.Empty<ReportFigure>();
    /// <summary>Free-form notes (departures, machine, wall time), one paragraph each.</summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();
}
