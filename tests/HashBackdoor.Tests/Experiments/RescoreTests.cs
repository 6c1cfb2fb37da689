using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Retrieval;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary>
/// <c>hashbd rescore</c> on a tiny finished experiment: it reproduces the run's own figures from the saved codes; after
/// the database is permuted in the folder (every model's database codes and the labels, with one permutation) the
/// tie-aware figures are unchanged while the database-order ones move; a result written before tie-aware metrics is
/// refused by a resume and repaired by a rescore; a missing codes file fails with one line naming it.
/// </summary>
[Collection("torch-training")]
public class RescoreTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static JsonArray Runs(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!["runs"]!.AsArray();

    private static double[] Figures(JsonArray runs, params string[] path) => runs.Select(r =>
    {
        JsonNode? n = r;
        foreach (string p in path) n = n![p];
        return n!.GetValue<double>();
    }).ToArray();

    [Fact]
    public void RescoreReproducesTheRunAndIsInvariantToDatabaseOrder()
    {
        string dir = tmp["exp"];
        var config = Tiny.Experiment with { TestTime = new[] { "p2p" } };
        new ExperimentRunner(config, dir, RunProgress.None).Run(resume: false);
        var ran = Runs(dir);

        // 1. From the saved codes: the same figures, through the command line.
        var cli = Hashbd.Run("rescore", dir);
        Assert.True(cli.ExitCode == 0, cli.Err);
        var rescored = Runs(dir);
        foreach (var key in new[] { "mAP", "tMAP", "tMAPOtherRule", "tMAPQueriesCounted", "tMAPUntriggered" })
            Assert.Equal(Figures(ran, key), Figures(rescored, key));
        Assert.Equal(Figures(ran, "databaseOrder", "tMAP"), Figures(rescored, "databaseOrder", "tMAP"));

        // 2. Permute the database everywhere in the folder (labels and every model's database codes alike).
        string labelsPath = Path.Combine(dir, "database_labels.npy");
        byte[] labels = NpyFile.ReadUInt8Matrix(labelsPath, out int n, out int classes);
        var order = Enumerable.Range(0, n).Reverse().ToArray();
        NpyFile.Write(labelsPath, Permute(labels, classes, order), n, classes);
        var codeFiles = Directory.GetFiles(dir, "database_codes.npy", SearchOption.AllDirectories);
        Assert.True(codeFiles.Length >= 3, "clean, tri and ciba keep their database codes");
        foreach (string f in codeFiles)
        {
            byte[] codes = NpyFile.ReadUInt8Matrix(f, out int rows, out int width);
            Assert.Equal(n, rows);
            NpyFile.Write(f, Permute(codes, width, order), rows, width);
        }
        Assert.Equal(0, Hashbd.Run("rescore", dir).ExitCode);
        var permuted = Runs(dir);
        foreach (var key in new[] { "mAP", "tMAP", "tMAPOtherRule", "tMAPQueriesCounted", "tMAPUntriggered" })
        {
            var a = Figures(rescored, key);
            var b = Figures(permuted, key);
            for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-9);
        }
        // The database-order figures depend on the order: on this tiny run the reversal moves at least one of them.
        var orderBefore = Figures(rescored, "databaseOrder", "mAP").Concat(Figures(rescored, "databaseOrder", "tMAP")).Concat(Figures(rescored, "databaseOrder", "tMAPOtherRule")).ToArray();
        var orderAfter = Figures(permuted, "databaseOrder", "mAP").Concat(Figures(permuted, "databaseOrder", "tMAP")).Concat(Figures(permuted, "databaseOrder", "tMAPOtherRule")).ToArray();
        Assert.NotEqual(orderBefore, orderAfter);

        // 3. A result written before tie-aware metrics: refused by a resume with one line, repaired by a rescore.
        string triResult = Path.Combine(dir, "seed-0", "target-0", "tri", "result.json");
        var old = JsonNode.Parse(File.ReadAllText(triResult))!.AsObject();
        old.Remove("databaseOrder");
        File.WriteAllText(triResult, old.ToJsonString());
        var refused = Assert.Throws<UsageException>(() => new ExperimentRunner(config, dir, RunProgress.None).Run(resume: true));
        Assert.Contains("rescore", refused.Message);
        Assert.Contains(triResult, refused.Message);
        RescorePipeline.Run(dir, RunProgress.None);
        Assert.NotNull(JsonNode.Parse(File.ReadAllText(triResult))!["databaseOrder"]);

        // 4. Codes missing: one line naming the file.
        string cibaCodes = Path.Combine(dir, "seed-0", "target-0", "ciba", "triggered_query_codes.npy");
        File.Delete(cibaCodes);
        var missing = Hashbd.Run("rescore", dir);
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains(cibaCodes, missing.FinalErrorLine());
    }

    [Fact]
    public void RescoreRefusesAFolderThatHoldsNoRun()
    {
        string dir = tmp["empty"];
        Directory.CreateDirectory(dir);
        var result = Hashbd.Run("rescore", dir);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not an experiment, ablation or test-time folder", result.SingleErrorLine());
    }

    private static byte[] Permute(byte[] rows, int width, int[] order)
    {
        var result = new byte[rows.Length];
        for (int i = 0; i < order.Length; i++) Array.Copy(rows, order[i] * width, result, i * width, width);
        return result;
    }
}
