using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using HashBackdoor.Defenses;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Guards;

/// <summary>One <c>hashbd ...</c> command found in a document.</summary>
/// <param name="Source">FILE:LINE it was found at.</param>
/// <param name="Text">The command as written, from <c>hashbd</c> on (continuation lines joined).</param>
/// <param name="Args">The arguments after <c>hashbd</c>, with synopsis notation resolved (see <see cref="DocCommands"/>).</param>
/// <param name="InCodeBlock">In a fenced or indented code block (a command to run), not an inline code span (a fragment).</param>
/// <param name="Block">Index of its code block in the file (-1 for inline spans).</param>
internal sealed record DocCommand(string Source, string Text, string[] Args, bool InCodeBlock, int Block)
{
    public override string ToString() => $"{Source}: {Text}";
}

/// <summary>
/// Extracts every <c>hashbd SUBCOMMAND ...</c> command from Markdown (code blocks and inline code spans) and checks it
/// against the real command tree (<see cref="HashBackdoor.Cli.Program.Root"/>):
/// <list type="bullet">
/// <item>Parsing: no unknown subcommand or flag, no invalid literal value (System.CommandLine's own errors). Synopsis
/// notation is read as a reader would: <c>[X]</c> is X, <c>a|b</c> (or <c>a\|b</c>) is a, <c>$VAR</c> and <c>{}</c>
/// are 0; an all-capitals word (<c>DIR</c>, <c>FILE.npy</c>, <c>I/N</c>) or a word with <c>...</c> is a placeholder for
/// the reader to fill: given as 1 to a numeric option, and a parse error naming it is not held against the document.
/// Inline code spans are fragments (a flag mentioned in a sentence): a missing required option is not an error there.</item>
/// <item>Configs: an <c>experiment</c> or <c>ablate</c> command whose <c>--config</c> file exists is checked the way the
/// command checks it before any work (the config validates; for ablate every <c>--vary</c> value applies and the
/// queries it scores on exist); a <c>defend</c> command's defense names are known.</item>
/// </list>
/// </summary>
internal static partial class DocCommands
{
    [GeneratedRegex(@"(?:^|[\s/""'`(=])hashbd ([a-z][a-z-]*)(?=\s|$|`)")]
    private static partial Regex CommandStart();

    [GeneratedRegex(@"^(?:[A-Z_][A-Z0-9_]*=\S*\s*)+$")]
    private static partial Regex EnvPrefix();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex InlineSpan();

    [GeneratedRegex(@"^[A-Z][A-Z0-9_]*(?:[./][A-Za-z0-9_]+)*$")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\$[A-Za-z_][A-Za-z0-9_]*|\{\}")]
    private static partial Regex ShellVariable();

    /// <summary>Commands written as mistakes on purpose (docs/reliability.md shows what a typo prints).</summary>
    public static readonly IReadOnlySet<string> DeliberateMistakes = new HashSet<string> { "hashbd trian ..." };

    /// <summary>The commands of one Markdown text.</summary>
    public static List<DocCommand> Extract(string file, string markdown)
    {
        var found = new List<DocCommand>();
        var lines = markdown.Replace("\r", "").Split('\n');
        bool fenced = false;
        int block = -1;
        bool previousInBlock = false;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                if (fenced) block++;
                previousInBlock = false;
                continue;
            }
            bool indented = !fenced && line.StartsWith("    ", StringComparison.Ordinal) && (i == 0 || lines[i - 1].Trim().Length == 0 || previousInBlock);
            if (indented && !previousInBlock) block++;
            previousInBlock = indented;
            if (fenced || indented)
            {
                // A code line, with its continuation lines.
                string joined = line;
                int start = i;
                while (joined.TrimEnd().EndsWith('\\') && i + 1 < lines.Length)
                    joined = joined.TrimEnd()[..^1] + " " + lines[++i].Trim();
                foreach (var text in CommandsIn(joined))
                    found.Add(Make($"{file}:{start + 1}", text, inCodeBlock: true, block));
                continue;
            }
            foreach (Match span in InlineSpan().Matches(line))
                foreach (var text in CommandsIn(span.Groups[1].Value, inline: true))
                    found.Add(Make($"{file}:{i + 1}", text, inCodeBlock: false, -1));
        }
        return found;
    }

    /// <summary>Every "hashbd SUB ..." in a line, up to the end of that shell command (a comment, a pipe, a list
    /// operator, a closing quote).</summary>
    private static IEnumerable<string> CommandsIn(string line, bool inline = false)
    {
        foreach (Match m in CommandStart().Matches(line))
        {
            int at = line.IndexOf("hashbd ", m.Index, StringComparison.Ordinal);
            // In a sentence-like span ("in use by another hashbd process") hashbd is a word, not a command: an inline
            // command starts the span, after a path, a quote or environment assignments.
            string before = line[..at].TrimEnd();
            if (inline && !(before.Length == 0 || line[..at].EndsWith('/') || before.EndsWith('"') || before.EndsWith('\'') || EnvPrefix().IsMatch(before)))
                continue;
            var tokens = new List<string>();
            foreach (var raw in line[at..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (raw is "#" or "|" or "&" or "&&" or ";" or "||" or ":::" or ">" or "2>&1" || raw.StartsWith('#')) break;
                string t = raw;
                bool closes = t.EndsWith('"') || t.EndsWith('\'') || t.EndsWith('&') || t.EndsWith(';');
                tokens.Add(t.TrimEnd('"', '\'', '&', ';'));
                if (closes) break;
            }
            yield return string.Join(' ', tokens);
        }
    }

    private static DocCommand Make(string source, string text, bool inCodeBlock, int block)
    {
        var args = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(Resolve).Where(a => a.Length > 0).ToArray();
        return new DocCommand(source, text, args, inCodeBlock, block);
    }

    /// <summary>Synopsis notation: optional brackets dropped, the first of alternatives, shell variables as 0.</summary>
    private static string Resolve(string token)
    {
        string t = token.TrimStart('[').TrimEnd(']');
        t = t.Replace("\\|", "|");
        if (t.Contains('|')) t = t.Split('|')[0];
        return ShellVariable().Replace(t, "0");
    }

    /// <summary>Whether a token stands for a value the reader chooses.</summary>
    public static bool IsPlaceholder(string token) => token.Contains("...", StringComparison.Ordinal) || Placeholder().IsMatch(token);

    /// <summary>What is wrong with <paramref name="command"/> (empty when nothing): parse errors, then config checks.
    /// <paramref name="repoRoot"/> resolves relative config paths.</summary>
    public static List<string> Problems(DocCommand command, string repoRoot)
    {
        var problems = new List<string>();
        if (DeliberateMistakes.Contains(command.Text)) return problems;
        var root = HashBackdoor.Cli.Program.Root();
        var sub = root.Subcommands.FirstOrDefault(c => c.Name == command.Args[0]);
        if (sub is null) return new List<string> { $"unknown command '{command.Args[0]}'" };
        var args = command.Args.ToArray();
        var placeholders = new HashSet<string>(args.Where(IsPlaceholder));
        // A placeholder given to a numeric option: a number, so that the flags after it are still parsed.
        for (int i = 2; i < args.Length; i++)
        {
            if (!IsPlaceholder(args[i])) continue;
            var option = sub.Options.FirstOrDefault(o => o.Name == args[i - 1] || o.Aliases.Contains(args[i - 1]));
            var type = option is null ? null : Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
            if (type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(float)) args[i] = "1";
        }
        var parse = root.Parse(args);
        foreach (var error in parse.Errors)
        {
            string message = error.Message;
            if (placeholders.Any(p => message.Contains($"'{p}'", StringComparison.Ordinal))) continue;
            // An inline span is a fragment: a required option or argument it leaves out is not an error.
            if (!command.InCodeBlock && (message.Contains("is required", StringComparison.Ordinal) || message.StartsWith("Required argument missing", StringComparison.Ordinal))) continue;
            problems.Add(message);
        }
        if (problems.Count > 0) return problems;

        string? Value(string flag)
        {
            int i = Array.LastIndexOf(command.Args, flag);
            return i >= 0 && i + 1 < command.Args.Length && !IsPlaceholder(command.Args[i + 1]) ? command.Args[i + 1] : null;
        }
        try
        {
            switch (command.Args[0])
            {
                case "experiment" or "ablate" when Value("--config") is { } cfgPath && File.Exists(Path.Combine(repoRoot, cfgPath)):
                {
                    var config = ExperimentConfig.Load(Path.Combine(repoRoot, cfgPath)).Validate();
                    if (command.Args[0] == "ablate")
                    {
                        var queries = Value("--queries") == "test" ? QuerySet.Test : QuerySet.Validation;
                        var scored = AblationRunner.ScoredOn(config, queries);
                        if (Value("--vary") is { } vary)
                        {
                            var (name, values) = AblationRunner.ParseVary(vary);
                            foreach (var v in values) AblationRunner.Settings[name](scored, v).Validate();
                        }
                    }
                    break;
                }
                case "defend":
                {
                    if (Value("--defense") is { } names) DefenseMatrixRunner.Validated(names.Split(','));
                    if (Value("--retrain") is { } retrain)
                        foreach (var n in retrain.Split(','))
                            if (!BackdoorDefenses.Names.Contains(n, StringComparer.OrdinalIgnoreCase)) problems.Add($"--retrain {n}: unknown defense");
                    break;
                }
            }
        }
        catch (HashBackdoorException e)
        {
            problems.Add(e.Message);
        }
        return problems;
    }
}

/// <summary>
/// Every <c>hashbd</c> command in README.md and docs/*.md parses against the real CLI, its config (when the file exists)
/// passes the command's own checks, and the code blocks that run on synthetic data run (issue 23: the ablation commands
/// shown with configs/quick.yaml had drifted from what <c>hashbd ablate</c> accepts).
/// </summary>
[Collection("torch-training")]
public class DocCommandsTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HashBackdoor.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no HashBackdoor.sln above {AppContext.BaseDirectory}");
    }

    private static List<DocCommand> AllDocumented()
    {
        string root = RepoRoot();
        var files = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").OrderBy(f => f, StringComparer.Ordinal));
        return files.SelectMany(f => DocCommands.Extract(Path.GetRelativePath(root, f), File.ReadAllText(f))).ToList();
    }

    [Fact]
    public void EveryDocumentedCommandParsesAndItsConfigPassesTheCommandsChecks()
    {
        string root = RepoRoot();
        var commands = AllDocumented();
        // The extraction finds the commands it is meant to: code blocks and inline spans of README.md and docs/.
        Assert.True(commands.Count(c => c.InCodeBlock) >= 25, $"only {commands.Count(c => c.InCodeBlock)} commands in code blocks");
        Assert.Contains(commands, c => c.Source.StartsWith("docs/results.md", StringComparison.Ordinal) && c.Args[0] == "ablate" && c.InCodeBlock);
        Assert.Contains(commands, c => c.Source.StartsWith("README.md", StringComparison.Ordinal) && c.Args[0] == "defend" && !c.InCodeBlock);
        // The deliberate mistakes are still in the documents (else the exemption list has rotted).
        foreach (var mistake in DocCommands.DeliberateMistakes) Assert.Contains(commands, c => c.Text == mistake);

        var failures = commands.Select(c => (c, Problems: DocCommands.Problems(c, root)))
            .Where(x => x.Problems.Count > 0).Select(x => $"{x.c}\n    {string.Join("\n    ", x.Problems)}").ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} documented command(s) do not run as written:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void CodeBlocksOnSyntheticDataRunAsWritten()
    {
        // A code block with a command on synthetic data is run in full, in order (paths relative to a scratch folder).
        var blocks = AllDocumented().Where(c => c.InCodeBlock && c.Block >= 0)
            .GroupBy(c => (c.Source.Split(':')[0], c.Block))
            .Where(g => g.Any(c => c.Args.Any(a => a.StartsWith("synthetic:", StringComparison.Ordinal))))
            .ToList();
        Assert.NotEmpty(blocks); // README.md's tool-install block
        int ran = 0;
        foreach (var block in blocks)
        {
            string dir = tmp[$"block-{ran}"];
            foreach (var command in block)
            {
                var args = command.Args.ToArray();
                for (int i = 1; i < args.Length; i++)
                    if (args[i - 1] is "--out" or "--model" or "--run" && !Path.IsPathRooted(args[i])) args[i] = Path.Combine(dir, args[i]);
                var result = Hashbd.Run(args);
                Assert.True(result.ExitCode == 0, $"{command}: exit {result.ExitCode}\n{result.Err}");
                ran++;
            }
        }
        Assert.True(ran >= 2, $"ran {ran} commands");
    }

    /// <summary>The checker fails on the drifts it is there for: a bad flag, a bad value, an unknown command, an ablation
    /// of a config without validation queries, an unknown defense; and passes the same commands written correctly.</summary>
    [Fact]
    public void CatchesADrift()
    {
        string root = RepoRoot();
        List<string> Check(string markdown) =>
            DocCommands.Extract("x.md", markdown).SelectMany(c => DocCommands.Problems(c, root)).ToList();

        Assert.Empty(Check("```bash\nscripts/hashbd train --dataset synthetic:12:3:12 --bits 16 --epochs 1 --out t\n```\n"));
        var badFlag = Check("```bash\nscripts/hashbd train --dataset synthetic:12:3:12 --bitz 16 --epochs 1 --out t\n```\n");
        Assert.Contains(badFlag, p => p.Contains("--bitz", StringComparison.Ordinal));
        Assert.NotEmpty(Check("Inline: `hashbd evaluate --model DIR --topk ten --out E`."));
        Assert.NotEmpty(Check("    hashbd ablate --config configs/quick.yaml --vary eps=8/255 --queries tset --out runs/x\n"));
        Assert.NotEmpty(Check("Run `hashbd trainn --out DIR`."));

        // The issue's drift: an ablation of quick.yaml (no validation split) without --queries test.
        var refused = Check("    scripts/hashbd ablate --config configs/quick.yaml --vary poisons=60,100 --out runs/abl\n");
        Assert.Contains(refused, p => p.Contains("protocol.validationPerClass", StringComparison.Ordinal));
        Assert.Empty(Check("    scripts/hashbd ablate --config configs/quick.yaml --vary poisons=60,100 --queries test --out runs/abl\n"));
        Assert.NotEmpty(Check("    scripts/hashbd ablate --config configs/quick.yaml --vary poisons=sixty --queries test --out runs/abl\n"));
        Assert.NotEmpty(Check("    hashbd defend --run runs/quick --defense spectrall\n"));

        // Synopsis notation and placeholders are read as a reader reads them; a missing required option is only an error
        // in a code block (a command to run), not in an inline fragment.
        Assert.Empty(Check("`hashbd defend --run RUN_DIR --defense NAME [--method M --target T --seed S] [--out DIR]`"));
        Assert.Empty(Check("`hashbd encode --model DIR --split query\\|database\\|train --out FILE.npy`"));
        Assert.Empty(Check("`hashbd merge`"));
        Assert.NotEmpty(Check("```\nhashbd merge\n```\n"));
        Assert.NotEmpty(Check("`hashbd serve --run DIR --port eighty`"));
    }
}
