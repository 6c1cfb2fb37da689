using System.Text.RegularExpressions;
using HashBackdoor.Cli.Commands;

namespace HashBackdoor.Tests.Reliability;

/// <summary>The library names the parameter or config key at fault; only the command line speaks of flags (issue 22).</summary>
public sealed class LibraryMessageTests
{
    /// <summary>Library string literals that may name a flag, with the reason. Report prose only: no error message.</summary>
    private static readonly string[] Allowed =
    {
        // ablation.md tells the reader how the table was scored with the command that wrote it (report text, not an error).
        "Experiments/Reports/AblationMarkdown.cs: `--queries test`",
    };

    private static string RepoRoot()
    {
        string dir = AppContext.BaseDirectory;
        while (!Directory.Exists(Path.Combine(dir, "src", "HashBackdoor"))) dir = Path.GetDirectoryName(dir) ?? throw new DirectoryNotFoundException("src/HashBackdoor");
        return dir;
    }

    /// <summary>Every string literal of the library's sources (comments dropped) that holds a flag (--word).</summary>
    internal static IEnumerable<string> FlagsInLibraryLiterals(string root)
    {
        var literal = new Regex(@"""(?:[^""\\\n]|\\.)*""");
        var flag = new Regex(@"(?<![\w-])--[a-z]");
        foreach (var file in Directory.GetFiles(Path.Combine(root, "src", "HashBackdoor"), "*.cs", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(Path.Combine(root, "src", "HashBackdoor"), file).Replace('\\', '/');
            foreach (var line in File.ReadLines(file))
            {
                string code = line.TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal)) continue;
                foreach (Match m in literal.Matches(code))
                {
                    var f = flag.Match(m.Value);
                    if (!f.Success) continue;
                    if (Allowed.Any(a => a.StartsWith(rel + ":", StringComparison.Ordinal) && m.Value.Contains(a[(rel.Length + 2)..], StringComparison.Ordinal))) continue;
                    yield return $"{rel}: {m.Value}";
                }
            }
        }
    }

    [Fact]
    public void NoLibraryMessageNamesACommandLineFlag()
    {
        var found = FlagsInLibraryLiterals(RepoRoot()).ToList();
        Assert.True(found.Count == 0, "library strings naming CLI flags (name the parameter or config key; FlagErrors translates):\n" + string.Join("\n", found));
    }

    [Fact]
    public void TheScanFindsAFlagInALiteral()
    {
        // The scan itself: a planted file with a flag in an exception message is reported, one in a comment is not.
        string root = Directory.CreateTempSubdirectory("hbd-flags-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "src", "HashBackdoor"));
            File.WriteAllText(Path.Combine(root, "src", "HashBackdoor", "X.cs"),
                "// --comment is fine\nthrow new UsageException($\"--epochs {e}: must be at least 1\");\nvar s = \"a-b --\";\n");
            Assert.Equal(new[] { "X.cs: $\"--epochs {e}: must be at least 1\"" }.Select(s => s.Replace("$\"", "\"")), FlagsInLibraryLiterals(root));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Theory]
    [InlineData("train", "training.epochs 0: must be at least 1", "--epochs 0: must be at least 1")]
    [InlineData("train", "protocol.queryPerClass 5 + protocol.trainPerClass 9: class 'a' (label 0) has only 3 images",
        "--query-per-class 5 + --train-per-class 9: class 'a' (label 0) has only 3 images")]
    [InlineData("train", "model.pretrained x.pth: needs model.layout torchvision", "--pretrained x.pth: needs --layout torchvision")]
    [InlineData("train", "outDir /r: already holds a trained model; choose another folder or set resume to continue it",
        "--out /r: already holds a trained model; choose another folder or pass --resume to continue it")]
    [InlineData("train", "device cuda: unknown device (expected cpu, cuda or cuda:N)", "--device cuda: unknown device (expected cpu, cuda or cuda:N)")]
    [InlineData("attack-queries", "target 3: unknown class (the dataset has 3 classes)", "--target 3: unknown class (the dataset has 3 classes)")]
    [InlineData("attack-queries", "testTimeAttack.stepSize 2: must be positive", "--step-size 2: must be positive")]
    [InlineData("defend", "methods x: the run has methods ciba (or clean)", "--method x: the run has methods ciba (or clean)")]
    [InlineData("ablate", "protocol.validationPerClass: none; set it (e.g. 100) or set scoredOn to test", "protocol.validationPerClass: none; set it (e.g. 100) or pass --queries test")]
    [InlineData("experiment", "config file /c.yaml: not found", "--config /c.yaml: not found")]
    // A plain word is a name only where it opens the message; elsewhere it is prose.
    [InlineData("attack-queries", "x: the target of the method", "x: the target of the method")]
    [InlineData("merge", "outDir /r: in use", "--out /r: in use")]
    public void TheCommandLineShowsTheFlagForTheLibrarysName(string command, string library, string shown) =>
        Assert.Equal(shown, FlagErrors.Translate(library, command));
}
