namespace HashBackdoor.Experiments.Reports;

/// <summary>One poisoned training image shown as original | perturbation (amplified) | poisoned.</summary>
internal sealed record PoisonExample(CaptionedImage Original, CaptionedImage Perturbation, CaptionedImage Poisoned);
