using System.Text.RegularExpressions;

namespace HashBackdoor.Cli.Commands;

/// <summary>
/// The library names a bad value by its config key or parameter name (<c>training.epochs 0: must be at least 1</c>,
/// <c>outDir X: ...</c>); the command line shows the flag the user typed instead (<c>--epochs 0: ...</c>). This is the
/// one place that knows the flags: each command has its own name-to-flag map, applied by <see cref="CliRunner"/> to the
/// message of every library failure. A dotted or camelCase key (or a phrase) is replaced wherever it stands; a plain
/// word (<c>device</c>, <c>target</c>) only where it opens the message, so that prose is left alone.
/// </summary>
internal static class FlagErrors
{
    /// <summary>Names every command shares.</summary>
    private static readonly Dictionary<string, string> Common = new()
    {
        ["device"] = "--device", ["outDir"] = "--out", ["outFile"] = "--out", ["modelDir"] = "--model", ["runDir"] = "--run",
        ["resume"] = "--resume", ["set resume to continue it"] = "pass --resume to continue it",
    };

    /// <summary>Keys of the training recipe, model and protocol and the train command's flags for them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Train = With(new()
    {
        ["training.loss"] = "--loss", ["training.epochs"] = "--epochs", ["training.batchSize"] = "--batch-size",
        ["training.learningRate"] = "--lr", ["training.backboneLrScale"] = "--backbone-lr-scale", ["training.optimizer"] = "--optimizer",
        ["training.weightDecay"] = "--weight-decay", ["training.schedule"] = "--schedule", ["training.augmentation"] = "--augment",
        ["training.freezeStages"] = "--freeze-stages",
        ["model.architecture"] = "--arch", ["model.bits"] = "--bits", ["model.pretrained"] = "--pretrained",
        ["model.inputSize"] = "--input-size", ["model.layout"] = "--layout", ["model.normalization"] = "--normalize",
        ["protocol.queryPerClass"] = "--query-per-class", ["protocol.trainPerClass"] = "--train-per-class", ["dataset"] = "--dataset",
    });

    /// <summary>Keys of the evaluation and the evaluate command's flags for them.</summary>
    public static readonly IReadOnlyDictionary<string, string> Evaluate = With(new()
    {
        ["evaluation.topK"] = "--topk", ["evaluation.queryRule"] = "--query-rule",
    });

    /// <summary>The flags of every command, by command name.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ByCommand = new Dictionary<string, IReadOnlyDictionary<string, string>>
    {
        ["train"] = Train,
        ["evaluate"] = Evaluate,
        ["encode"] = With(new() { ["split"] = "--split" }),
        ["search"] = With(new() { ["topR"] = "--topk", ["degreeOfParallelism"] = "--threads", ["outNpy"] = "--out" }),
        ["experiment"] = With(new() { ["config file"] = "--config", ["shard"] = "--shard" }),
        ["ablate"] = With(new()
        {
            ["config file"] = "--config", ["shard"] = "--shard", ["vary"] = "--vary", ["config/vary"] = "--config/--vary",
            ["set scoredOn to test"] = "pass --queries test",
        }),
        ["serve"] = With(new()),
        ["attack-queries"] = With(new()
        {
            ["testTimeAttack.epsilon"] = "--eps", ["testTimeAttack.steps"] = "--steps", ["testTimeAttack.stepSize"] = "--step-size",
            ["target"] = "--target", ["method"] = "--method", ["queries"] = "--queries", ["querySet"] = "--query-set", ["topK"] = "--topk",
        }),
        ["defend"] = With(new()
        {
            ["defense"] = "--defense", ["defenses"] = "--defense", ["methods"] = "--method", ["method"] = "--method",
            ["targets"] = "--target", ["target"] = "--target", ["seeds"] = "--seed", ["seed"] = "--seed", ["retrain"] = "--retrain",
        }),
        ["merge"] = With(new()),
    };

    private static IReadOnlyDictionary<string, string> With(Dictionary<string, string> own)
    {
        foreach (var (key, flag) in Common) own.TryAdd(key, flag);
        return own;
    }

    /// <summary><paramref name="message"/> with the library's names replaced by the flags of <paramref name="flags"/>.</summary>
    public static string Translate(string message, IReadOnlyDictionary<string, string> flags)
    {
        static bool Plain(string key) => key.All(c => c is >= 'a' and <= 'z' or '-');
        string Alternation(IEnumerable<string> keys) => string.Join("|", keys.OrderByDescending(k => k.Length).Select(Regex.Escape));
        var plain = flags.Keys.Where(Plain).ToList();
        var anywhere = flags.Keys.Where(k => !Plain(k)).ToList();
        var parts = new List<string>();
        if (plain.Count > 0) parts.Add($"^(?:{Alternation(plain)})(?=[ :]|$)");
        if (anywhere.Count > 0) parts.Add($@"(?<![\w.\-])(?:{Alternation(anywhere)})(?![\w])");
        if (parts.Count == 0) return message;
        return Regex.Replace(message, string.Join("|", parts), m => flags[m.Value]);
    }

    /// <summary>Translates the message of a library failure of <paramref name="command"/> (unchanged for other commands).</summary>
    public static string Translate(string message, string command) =>
        ByCommand.TryGetValue(command, out var flags) ? Translate(message, flags) : message;
}
