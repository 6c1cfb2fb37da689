namespace HashBackdoor.Experiments.Reports;

/// <summary>One poisoned training image shown as original | perturbation (amplified) | poisoned.</summary>
public sealed record PoisonExample(CaptionedImage Original, CaptionedImage Perturbation, CaptionedImage Poisoned);
