namespace HashBackdoor.Cli.Commands;

/// <summary>
/// The library names a bad value by its config key (<c>training.epochs 0: must be at least 1</c>); a command that takes
/// the value as a flag shows the flag instead (<c>--epochs 0: ...</c>). Each command gives its own key-to-flag map.
/// </summary>
internal static class FlagErrors
{
    /// <summary>Keys of the training recipe and model and the train command's flags for them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Train = new Dictionary<string, string>
    {
        ["training.loss"] = "--loss", ["training.epochs"] = "--epochs", ["training.batchSize"] = "--batch-size",
        ["training.learningRate"] = "--lr", ["training.backboneLrScale"] = "--backbone-lr-scale", ["training.optimizer"] = "--optimizer",
        ["training.weightDecay"] = "--weight-decay", ["training.schedule"] = "--schedule", ["training.augmentation"] = "--augment",
        ["model.architecture"] = "--arch", ["model.bits"] = "--bits", ["device"] = "--device",
        ["model.pretrained"] = "--pretrained", ["model.inputSize"] = "--input-size", ["model.layout"] = "--layout",
        ["model.normalization"] = "--normalize", ["training.freezeStages"] = "--freeze-stages",
    };

    /// <summary>Keys of the evaluation and the evaluate command's flags for them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Evaluate = new Dictionary<string, string>
    {
        ["evaluation.topK"] = "--topk", ["evaluation.queryRule"] = "--query-rule", ["device"] = "--device",
    };

    /// <summary>Runs <paramref name="body"/>; a <see cref="UsageException"/> that starts with a key of
    /// <paramref name="flags"/> is rethrown with the flag in its place.</summary>
    public static T Run<T>(IReadOnlyDictionary<string, string> flags, Func<T> body)
    {
        try { return body(); }
        catch (UsageException e)
        {
            foreach (var (key, flag) in flags)
                if (e.Message.StartsWith(key + " ", StringComparison.Ordinal) || e.Message.StartsWith(key + ":", StringComparison.Ordinal))
                {
                    // Hints inside the line ("use model.architecture resnet18") get their flags too.
                    string message = flag + e.Message[key.Length..];
                    foreach (var (other, otherFlag) in flags) message = message.Replace(" " + other + " ", " " + otherFlag + " ");
                    throw new UsageException(message, e);
                }
            throw;
        }
    }
}
