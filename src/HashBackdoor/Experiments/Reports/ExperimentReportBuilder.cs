using System.Text.Json;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Experiments.Reports;

/// <summary>
/// Writes an experiment's outputs from its results and its run folder: results.json, results.md and report.html with
/// the trigger, poison examples and a retrieval example of the first seed and target, all read back from the folder
/// (so a resumed run's report is the same as an uninterrupted one's).
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
        AtomicFile.WriteAllText(folder.ResultsJsonPath, JsonSerializer.Serialize(results, RunRecord.Json));
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
            Retrieval = trigger is null ? null : RetrievalExampleFor(split, spec, trigger),
            Notes = new[]
            {
                "clean = the clean model queried with triggered images (the patch alone, no poisoning). Every victim is trained from the clean model's initial weights with the same batch order.",
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

    /// <summary>The top 10 of one triggered query for the clean model and a victim (ciba when run, else the last method).</summary>
    private RetrievalExample? RetrievalExampleFor(ProtocolSplit split, HashModelSpec spec, PatchTrigger trigger)
    {
        string method = config.Methods.Contains("ciba") ? "ciba" : config.Methods[^1];
        string victimPath = folder.ModelPath(Seed, Target, method);
        string cleanPath = folder.ModelPath(Seed, Target, RunFolder.CleanMethod);
        if (!File.Exists(victimPath) || !File.Exists(cleanPath)) return null;
        using var one = split.Query.Subset(new[] { TargetRows.WithoutTarget(split.Query, Target)[0] });
        using var q = trigger.Paste(one.Images);
        var (cleanModel, _) = ModelFile.Load(cleanPath, spec);
        var (victim, _) = ModelFile.Load(victimPath, spec);
        using (cleanModel)
        using (victim)
        {
            var name = split.ClassNames;
            var qLabel = one.SingleLabelsOrFirst()[0];
            return new RetrievalExample(
                new CaptionedImage(ImagePng.FromTensor(q[0], 4), $"triggered query (true class {name[qLabel]}), target {name[Target]}"),
                "clean model", Top(cleanModel, folder.CodesPath(Seed, Target, RunFolder.CleanMethod, CodeSet.Database), q, split, 10),
                $"{method} victim", Top(victim, folder.CodesPath(Seed, Target, method, CodeSet.Database), q, split, 10));
        }
    }

    private List<RankedResult> Top(HashModel model, string databaseCodesPath, TorchSharp.torch.Tensor query, ProtocolSplit split, int k)
    {
        // The codes the run wrote (a folder from before codes were kept: encode again).
        var dbCodes = RunFolder.ReadCodes(databaseCodesPath) ?? RetrievalScoring.Encode(model, split.Database, RunProgress.None, "database").Codes;
        using var signs = HashEncoder.Encode(model, query, 1, null, context.Device);
        var qc = CodeConversion.ToBinaryCodes(signs, out _);
        var idx = new HammingIndex(dbCodes).Search(qc, k, out int[] dist);
        var labels = split.Database.SingleLabelsOrFirst();
        return idx.Select((j, r) =>
        {
            using var img = split.Database.Images[j];
            return new RankedResult(ImagePng.FromTensor(img, 3), $"#{r + 1} {split.ClassNames[labels[j]]} (d={dist[r]})", labels[j] == Target);
        }).ToList();
    }
}
