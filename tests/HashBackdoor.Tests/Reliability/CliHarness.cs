using HashBackdoor.Data;
using HashBackdoor.Experiments;
using HashBackdoor.Hashing;

namespace HashBackdoor.Tests.Reliability;

/// <summary>What one in-process run of <c>hashbd</c> returned and printed.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Err)
{
    /// <summary>Non-empty lines written to stderr.</summary>
    public string[] ErrLines => Err.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();

    /// <summary>Asserts that a run that failed after reporting progress (progress lines go to stderr when it is not a
    /// terminal) ends with exactly one error line, the last, without a stack trace, and returns it.</summary>
    public string FinalErrorLine()
    {
        var lines = ErrLines;
        Assert.True(lines.Length > 0, "nothing on stderr");
        Assert.Single(lines, l => l.StartsWith("hashbd: "));
        Assert.DoesNotContain(lines, l => l.Contains("   at ") || l.Contains("Exception"));
        Assert.StartsWith("hashbd: error: ", lines[^1]);
        return lines[^1];
    }

    /// <summary>Asserts that stderr holds exactly one line, an error without a stack trace, and returns it.</summary>
    public string SingleErrorLine()
    {
        var lines = ErrLines;
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}:\n{Err}");
        string line = lines[0];
        Assert.StartsWith("hashbd: ", line);
        Assert.DoesNotContain("   at ", line);
        Assert.DoesNotContain("Exception", line);
        return line;
    }
}

/// <summary>Runs <c>hashbd</c> in this process through <see cref="HashBackdoor.Cli.Program.Main"/>, capturing stdout and
/// stderr (restored afterwards).</summary>
internal static class Hashbd
{
    public static CliResult Run(params string[] args)
    {
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        int code;
        try
        {
            code = HashBackdoor.Cli.Program.Main(args);
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>The tiny setting every test in this folder uses: 12 images per class and split, 3 classes, 12 x 12 px;
/// protocol 4 queries and 8 training images per class (12 queries, 24 training images, a database of 60); 16 bits.
/// Batch 4 gives 6 steps per epoch, enough for one epoch to spread the codes.</summary>
internal static class Tiny
{
    public const string Dataset = "synthetic:12:3:12";
    public const int QueryPerClass = 4;
    public const int TrainPerClass = 8;
    public const int Bits = 16;

    public static HashTrainerOptions Trainer(int epochs = 1, long seed = 0) => new()
    {
        Loss = "pairwise-k", Epochs = epochs, BatchSize = 4, LearningRate = 0.003, Seed = seed,
    };

    public static ProtocolOptions Protocol => new() { QueryPerClass = QueryPerClass, TrainPerClass = TrainPerClass, Seed = 0 };

    /// <summary>Arguments of <c>hashbd train</c> in the tiny setting.</summary>
    public static string[] TrainArgs(string outDir, int epochs = 1, long seed = 0, params string[] extra) => new[]
    {
        "train", "--dataset", Dataset, "--query-per-class", QueryPerClass.ToString(), "--train-per-class", TrainPerClass.ToString(),
        "--bits", Bits.ToString(), "--loss", "pairwise-k", "--epochs", epochs.ToString(), "--batch-size", "4", "--lr", "0.003",
        "--seed", seed.ToString(), "--out", outDir,
    }.Concat(extra).ToArray();

    /// <summary>The same training as <see cref="TrainArgs"/>, as a library request.</summary>
    public static TrainRequest Request(string outDir, int epochs = 1, long seed = 0, bool resume = false) => new()
    {
        Dataset = Dataset, Protocol = Protocol, Model = new() { Bits = Bits }, Trainer = Trainer(epochs, seed), OutDir = outDir, Resume = resume,
    };

    /// <summary>A tiny experiment: one seed, one target, tri and ciba, one epoch, 5 trigger steps, 2 perturbation rounds.</summary>
    public static ExperimentConfig Experiment => new()
    {
        Name = "tiny",
        Dataset = Dataset,
        Protocol = Protocol,
        Model = new ModelConfig { Bits = Bits },
        Training = Trainer(),
        Targets = new[] { 0 },
        Seeds = new[] { 0L },
        Methods = new[] { "tri", "ciba" },
        Poison = new PoisonConfig { Count = 4 },
        Trigger = new HashBackdoor.Attacks.TriggerOptions { Size = 3, Steps = 5, BatchSize = 8 },
        Perturbation = new HashBackdoor.Attacks.PerturbationOptions { Epsilon = 16.0 / 255, StepSize = 8.0 / 255, Rounds = 2, GroupSize = 2 },
        Evaluation = new EvaluationConfig { TopK = 10 },
    };

    /// <summary>Every file below <paramref name="dir"/> (relative paths, sorted), or none when it does not exist.</summary>
    public static string[] Files(string dir) => Directory.Exists(dir)
        ? Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).Order(StringComparer.Ordinal).ToArray()
        : Array.Empty<string>();
}

/// <summary>A temporary folder for one test class, deleted on dispose.</summary>
public sealed class ScratchDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("hbd-rel-").FullName;

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
