namespace HashBackdoor.Experiments.Reports;

/// <summary>A PNG image with a caption.</summary>
public sealed record CaptionedImage(byte[] Png, string Caption);
