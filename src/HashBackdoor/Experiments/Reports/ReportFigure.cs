namespace HashBackdoor.Experiments.Reports;

/// <summary>One explanatory section of report.html: a heading, a sentence computed from the run saying what to read in
/// the pictures, and the pictures with their captions.</summary>
/// <param name="Heading">Section heading.</param>
/// <param name="Reading">What to read in it, with the run's own figures.</param>
/// <param name="Images">The pictures (charts, or image grids when <paramref name="Pixels"/>).</param>
/// <param name="Pixels">True for image grids: shown enlarged with sharp pixels; false for charts: shown at full width.</param>
internal sealed record ReportFigure(string Heading, string Reading, IReadOnlyList<CaptionedImage> Images, bool Pixels = false);
