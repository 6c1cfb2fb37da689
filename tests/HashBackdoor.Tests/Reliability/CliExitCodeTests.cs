using HashBackdoor.Experiments;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Tests.Reliability;

/// <summary>One trained run folder (tiny synthetic data, 1 epoch), shared by the tests of a class and never modified:
/// tests that damage a run work on a copy.</summary>
public sealed class TrainedRunFixture : IDisposable
{
    private readonly ScratchDir dir = new();

    public TrainedRunFixture()
    {
        RunDir = TrainPipeline.Run(Tiny.Request(dir["run"]), RunProgress.None);
    }

    public string RunDir { get; }

    /// <summary>Copies the run folder (run.json and model.hbm, not the checkpoint) to <paramref name="target"/>.</summary>
    public string CopyTo(string target)
    {
        Directory.CreateDirectory(target);
        foreach (var name in new[] { RunRecord.FileName, RunRecord.ModelFileName })
            File.Copy(Path.Combine(RunDir, name), Path.Combine(target, name));
        return target;
    }

    public void Dispose() => dir.Dispose();
}

/// <summary>
/// Exit codes and messages of <c>hashbd</c> for bad flags and damaged inputs, run in-process: each failure is one line
/// on stderr (no stack trace), the documented exit code (2 usage, 3 data), and no output file or folder left behind.
/// </summary>
[Collection("torch-training")]
public class CliExitCodeTests : IClassFixture<TrainedRunFixture>, IDisposable
{
    private readonly TrainedRunFixture run;
    private readonly ScratchDir tmp = new();

    public CliExitCodeTests(TrainedRunFixture run) => this.run = run;

    public void Dispose() => tmp.Dispose();

    private static void AssertNothingAt(string path)
    {
        Assert.False(File.Exists(path), $"{path} was created by a failing command");
        Assert.Empty(Tiny.Files(path));
    }

    [Fact]
    public void UnknownCommandIsUsageErrorNamingIt()
    {
        var r = Hashbd.Run("trian", "--out", tmp["x"]);
        Assert.Equal(2, r.ExitCode);
        string line = r.SingleErrorLine();
        Assert.Equal("hashbd: Unrecognized command or argument 'trian'. (see hashbd --help)", line);
        AssertNothingAt(tmp["x"]);
    }

    [Fact]
    public void UnknownFlagIsUsageErrorNamingIt()
    {
        var r = Hashbd.Run(Tiny.TrainArgs(tmp["out"], extra: new[] { "--bitz", "16" }));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: Unrecognized command or argument '--bitz'. (see hashbd --help)", r.SingleErrorLine());
        AssertNothingAt(tmp["out"]);
    }

    [Fact]
    public void MissingRequiredFlagIsUsageError()
    {
        var r = Hashbd.Run("evaluate", "--model", run.RunDir);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: Option '--out' is required. (see hashbd --help)", r.SingleErrorLine());
    }

    [Fact]
    public void ExceptionKindsCarryTheDocumentedExitCodes()
    {
        Assert.Equal(2, new UsageException("x").ExitCode);
        Assert.Equal(3, new DataException("f", "x").ExitCode);
        Assert.Equal(4, new NumericalException("x").ExitCode);
        Assert.Equal("f: x", new DataException("f", "x").Message);
    }

    [Fact]
    public void BitsNotMultipleOfEightIsUsageErrorNamingBits()
    {
        var args = Tiny.TrainArgs(tmp["out"]);
        args[Array.IndexOf(args, "--bits") + 1] = "12";
        var r = Hashbd.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: error: --bits 12: the code length must be a positive multiple of 8 (16, 32, 48, 64, ...) up to 4096", r.SingleErrorLine());
        AssertNothingAt(tmp["out"]);
    }

    [Fact]
    public void UnknownDatasetIsUsageErrorNamingDataset()
    {
        var args = Tiny.TrainArgs(tmp["out"]);
        args[Array.IndexOf(args, "--dataset") + 1] = "nope";
        var r = Hashbd.Run(args);
        Assert.Equal(2, r.ExitCode);
        string line = r.SingleErrorLine();
        Assert.StartsWith("hashbd: error: --dataset nope: unknown dataset (known: ", line);
        AssertNothingAt(tmp["out"]);
    }

    [Fact]
    public void TrainingIntoAFinishedRunWithoutResumeIsUsageErrorAndKeepsTheModel()
    {
        string copy = run.CopyTo(tmp["copy"]);
        byte[] before = File.ReadAllBytes(Path.Combine(copy, RunRecord.ModelFileName));
        var r = Hashbd.Run(Tiny.TrainArgs(copy));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"hashbd: error: --out {copy}: already holds a trained model; choose another folder or pass --resume to continue it", r.SingleErrorLine());
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(copy, RunRecord.ModelFileName)));
        Assert.False(Directory.Exists(Path.Combine(copy, "checkpoint")));
    }

    [Fact]
    public void EvaluateMissingModelFolderIsDataErrorNamingIt()
    {
        string missing = tmp["no-such-run"];
        var r = Hashbd.Run("evaluate", "--model", missing, "--out", tmp["eval"]);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal($"hashbd: error: {missing}: model folder not found", r.SingleErrorLine());
        AssertNothingAt(tmp["eval"]);
    }

    [Fact]
    public void VerboseAddsTheStackTraceAfterTheSameLine()
    {
        string missing = tmp["no-such-run"];
        var r = Hashbd.Run("evaluate", "--model", missing, "--out", tmp["eval"], "--verbose");
        Assert.Equal(3, r.ExitCode);
        Assert.True(r.ErrLines.Length > 1);
        Assert.Equal($"hashbd: error: {missing}: model folder not found", r.ErrLines[0]);
        Assert.Contains("DataException", r.Err);
    }

    [Fact]
    public void EvaluateFolderWithoutRunJsonIsDataError()
    {
        string dir = tmp["empty-run"];
        Directory.CreateDirectory(dir);
        var r = Hashbd.Run("evaluate", "--model", dir, "--out", tmp["eval"]);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal($"hashbd: error: {Path.Combine(dir, "run.json")}: not a training run folder (run.json missing); create one with hashbd train", r.SingleErrorLine());
        AssertNothingAt(tmp["eval"]);
    }

    [Fact]
    public void EvaluateTruncatedModelIsDataErrorNamingModelFile()
    {
        string copy = run.CopyTo(tmp["trunc"]);
        string model = Path.Combine(copy, RunRecord.ModelFileName);
        long length = new FileInfo(model).Length;
        using (var fs = new FileStream(model, FileMode.Open)) fs.SetLength(length / 2);
        var r = Hashbd.Run("evaluate", "--model", copy, "--out", tmp["eval"], "--topk", "10");
        Assert.Equal(3, r.ExitCode);
        string line = r.SingleErrorLine();
        Assert.StartsWith($"hashbd: error: {model}: damaged or truncated model file (payload is ", line);
        Assert.Contains("model.hbm", line);
        AssertNothingAt(tmp["eval"]);
    }

    [Fact]
    public void EvaluateModelWithFlippedPayloadByteIsDataErrorChecksum()
    {
        string copy = run.CopyTo(tmp["flip"]);
        string model = Path.Combine(copy, RunRecord.ModelFileName);
        byte[] bytes = File.ReadAllBytes(model);
        bytes[^100] ^= 0x40; // inside the weights payload, the last part of the file
        File.WriteAllBytes(model, bytes);
        var r = Hashbd.Run("evaluate", "--model", copy, "--out", tmp["eval"], "--topk", "10");
        Assert.Equal(3, r.ExitCode);
        Assert.Equal($"hashbd: error: {model}: damaged model file (checksum mismatch)", r.SingleErrorLine());
        AssertNothingAt(tmp["eval"]);
    }

    [Fact]
    public void EvaluateDamagedRunJsonIsDataErrorNamingIt()
    {
        string copy = run.CopyTo(tmp["badjson"]);
        string json = Path.Combine(copy, RunRecord.FileName);
        string text = File.ReadAllText(json);
        File.WriteAllText(json, text[..(text.Length / 2)]);
        var r = Hashbd.Run("evaluate", "--model", copy, "--out", tmp["eval"], "--topk", "10");
        Assert.Equal(3, r.ExitCode);
        Assert.StartsWith($"hashbd: error: {json}: damaged run record (", r.SingleErrorLine());
        AssertNothingAt(tmp["eval"]);
    }

    [Fact]
    public void EvaluateRunJsonWithUnknownFieldIsDataError()
    {
        string copy = run.CopyTo(tmp["extra"]);
        string json = Path.Combine(copy, RunRecord.FileName);
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"Dataset\":", "\"Datasett\": 1, \"Dataset\":"));
        var r = Hashbd.Run("evaluate", "--model", copy, "--out", tmp["eval"]);
        Assert.Equal(3, r.ExitCode);
        string line = r.SingleErrorLine();
        Assert.StartsWith($"hashbd: error: {json}: damaged run record (", line);
        Assert.Contains("Datasett", line);
        AssertNothingAt(tmp["eval"]);
    }

    [Fact]
    public void EvaluateBadTopKAndRuleAreUsageErrors()
    {
        var r = Hashbd.Run("evaluate", "--model", run.RunDir, "--out", tmp["eval"], "--topk", "0");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: error: --topk 0: must be at least 1", r.SingleErrorLine());
        r = Hashbd.Run("evaluate", "--model", run.RunDir, "--out", tmp["eval"], "--query-rule", "half");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: error: --query-rule half: unknown (known: skip, zero)", r.SingleErrorLine());
        AssertNothingAt(tmp["eval"]);
    }

    [Fact]
    public void EncodeUnknownSplitAndNonNpyOutputAreUsageErrors()
    {
        string outFile = tmp["codes.npy"];
        var r = Hashbd.Run("encode", "--model", run.RunDir, "--split", "bogus", "--out", outFile);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: error: --split bogus: unknown split (query, database, train)", r.SingleErrorLine());
        AssertNothingAt(outFile);

        r = Hashbd.Run("encode", "--model", run.RunDir, "--split", "query", "--out", tmp["codes.txt"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"hashbd: error: --out {tmp["codes.txt"]}: the output must be a .npy file", r.SingleErrorLine());
        AssertNothingAt(tmp["codes.txt"]);
        Assert.Empty(Tiny.Files(tmp.Path));
    }

    [Fact]
    public void SearchWithBadMagicIsDataErrorNamingTheFile()
    {
        string good = tmp["good.npy"], bad = tmp["bad.npy"], outFile = tmp["top.npy"];
        NpyFile.Write(good, new byte[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        File.WriteAllBytes(bad, "NOTNUMPY-not-a-numpy-file-at-all"u8.ToArray());

        var r = Hashbd.Run("search", "--database", bad, "--queries", good, "--topk", "2", "--out", outFile);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal($"hashbd: error: {bad}: not a .npy file (bad magic bytes)", r.SingleErrorLine());
        AssertNothingAt(outFile);

        r = Hashbd.Run("search", "--database", good, "--queries", bad, "--topk", "2", "--out", outFile);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal($"hashbd: error: {bad}: not a .npy file (bad magic bytes)", r.SingleErrorLine());
        AssertNothingAt(outFile);
    }

    [Fact]
    public void SearchWithMismatchedCodeLengthsIsDataErrorNamingQueries()
    {
        string db = tmp["db.npy"], q = tmp["q.npy"], outFile = tmp["top.npy"];
        NpyFile.Write(db, new byte[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        NpyFile.Write(q, new byte[] { 1, 2, 3 }, 1, 3);
        var r = Hashbd.Run("search", "--database", db, "--queries", q, "--topk", "2", "--out", outFile);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal($"hashbd: error: {q}: query codes have 24 bits but the database {db} has 16", r.SingleErrorLine());
        AssertNothingAt(outFile);
    }

    [Fact]
    public void SearchSucceedsOnGoodFiles()
    {
        // The control: the same tiny files that the failing tests use give exit 0 and the expected ranking.
        string db = tmp["db.npy"], q = tmp["q.npy"], outFile = tmp["top.npy"];
        NpyFile.Write(db, new byte[] { 0xFF, 0xFF, 0x00, 0x00, 0x0F, 0x00 }, 3, 2);
        NpyFile.Write(q, new byte[] { 0x00, 0x00 }, 1, 2);
        var r = Hashbd.Run("search", "--database", db, "--queries", q, "--topk", "3", "--out", outFile);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new long[] { 1, 2, 0 }, NpyFile.Read(outFile).AsInt64());
    }
}
