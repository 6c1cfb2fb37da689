using System.Text.Json;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// Writes an experiment's outputs from its results and its run folder: results.json, results.md and report.html with
/// the trigger, poison examples and the explanatory figures (<see cref="ExplanatoryFigures"/>) of the first seed and
/// target, all read back from the folder (so a resumed run's report is the same as an uninterrupted one's).
/// </summary>
public sealed class ExperimentReportBuilder
{
    private readonly ExperimentConfig config;
    private readonly RunFolder folder;
    private readonly RunContext context;

    /// <summary>A builder for the experiment of <paramref name="config"/> in <paramref name="folder"/>.</summary>
    public ExperimentReportBuilder(ExperimentConfig config, RunFolder folder, RunContext context)
    {
        this.config = config;
        this.folder = folder;
        this.context = context;
    }

    private long Seed => config.Seeds[0];
    private int Target => config.Targets[0];

    /// <summary>Writes results.json, results.md and report.html.</summary>
    public void Write(ExperimentResults results, ProtocolSplit split, HashModelSpec spec)
    {
        AtomicFile.WriteAllText(folder.ResultsJsonPath, JsonSerializer.Serialize(results with { SchemaVersion = ExperimentResults.CurrentSchemaVersion }, ExperimentResults.Json));
        AtomicFile.WriteAllText(folder.ResultsMarkdownPath, ResultsMarkdown.Render(results, results.Protocol));
        using var trigger = File.Exists(folder.TriggerPath(Seed, Target)) ? PatchTrigger.Load(folder.TriggerPath(Seed, Target)) : null;
        var content = new ReportContent
        {
            Title = $"CIBA experiment '{config.Name}' on {split.Name}",
            Protocol = results.Protocol,
            Results = results,
            Trigger = trigger is null ? null
                : new CaptionedImage(trigger.EnlargedPng(16), $"trigger, {trigger.Size}x{trigger.Size} px, seed {Seed}, target {Target} (enlarged 16x)"),
            PoisonExamples = trigger is null ? Array.Empty<PoisonExample>() : PoisonExamples(split.Train, trigger),
            Figures = new ExplanatoryFigures(config, folder, context).Build(split, spec, trigger).Figures,
            Notes = new[]
            {
                "patch only (method key clean) = the clean model queried with triggered images (the patch alone, no poisoning). Every victim is trained from the clean model's initial weights with the same batch order."
                + (config.TestTime.Count > 0 ? " NAME (test-time) = a test-time attack on the clean model: the same non-target queries, without the trigger, each perturbed within testTimeAttack.epsilon towards the target (no poisoning, one optimisation per query)." : ""),
                "eps and step sizes are in pixel units on a 0..1 scale (method.md section 5 departure); see docs/attacks.md and docs/results.md for all departures.",
            },
        };
        HtmlReport.Write(folder.ReportHtmlPath, content);
    }

    /// <summary>Up to four ciba poisons of the first seed and target: original, perturbation, poisoned image.</summary>
    private IReadOnlyList<PoisonExample> PoisonExamples(ImageDataset train, PatchTrigger trigger)
    {
        if (!config.Methods.Contains("ciba")) return Array.Empty<PoisonExample>();
        using var poison = folder.ReadPoison(Seed, Target, "ciba", train, trigger);
        if (poison is null) return Array.Empty<PoisonExample>();
        var list = new List<PoisonExample>();
        int n = Math.Min(4, poison.PoisonedIndices.Length);
        for (int i = 0; i < n; i++)
        {
            using var o = poison.Originals[i];
            using var d = poison.Perturbations[i];
            using var p = poison.PoisonedImages[i];
            list.Add(new PoisonExample(
                new CaptionedImage(ImagePng.FromTensor(o, 4), $"original #{poison.PoisonedIndices[i]}"),
                new CaptionedImage(ImagePng.Perturbation(d, config.Perturbation.Epsilon, 4), "perturbation (amplified to full range)"),
                new CaptionedImage(ImagePng.FromTensor(p, 4), "poisoned (perturbation + trigger)")));
        }
        return list;
    }
}
