namespace HashBackdoor.Experiments.Reports;

/// <summary>A PNG image with a caption.</summary>
internal sealed record CaptionedImage(byte[] Png, string Caption);
