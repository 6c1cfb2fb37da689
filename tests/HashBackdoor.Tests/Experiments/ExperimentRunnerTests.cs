using System.Text.Json;
using System.Text.Json.Nodes;
using HashBackdoor.Experiments;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary>
/// <see cref="ExperimentRunner"/> end to end on tiny synthetic data (1 seed, 1 target, tri and ciba, 1 epoch, 5 trigger
/// steps, 2 perturbation rounds): results.json, results.md and a self-contained report.html; then an interrupted run
/// (results.json, one method's result and model deleted) resumed to the same numbers; then the folder guards.
/// </summary>
[Collection("torch-training")]
public class ExperimentRunnerTests : IDisposable
{
    private readonly ScratchDir tmp = new();

    public void Dispose() => tmp.Dispose();

    private static JsonObject Results(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!.AsObject();

    /// <summary>The numbers of results.json: runs and summary without their timings, and the protocol without the wall
    /// times (of the run and of its sessions).</summary>
    private static string Numbers(JsonObject results)
    {
        var copy = results.DeepClone().AsObject();
        foreach (var timing in new[] { "wallSeconds", "wallSecondsThisSession", "sessions" }) copy["protocol"]!.AsObject().Remove(timing);
        foreach (var run in copy["runs"]!.AsArray()) run!.AsObject().Remove("seconds");
        return copy.ToJsonString();
    }

    [Fact]
    public void RunsWritesReportsAndResumesToTheSameNumbers()
    {
        string dir = tmp["exp"];
        var config = Tiny.Experiment;
        var first = new ExperimentRunner(config, dir, RunProgress.None).Run(resume: false);

        // results.json: protocol, runs and summary for clean, tri and ciba, percentages in 0..100.
        var json = Results(dir);
        foreach (var key in new[] { "protocol", "runs", "summary" }) Assert.True(json.ContainsKey(key), key);
        Assert.Equal(ExperimentResults.CurrentSchemaVersion, json["schemaVersion"]!.GetValue<int>());
        var runs = json["runs"]!.AsArray();
        Assert.Equal(config.Model.Bits, runs[0]!["triggerEffect"]!["bits"]!.GetValue<int>()); // camelCase inside too
        Assert.Equal(new[] { "clean", "tri", "ciba" }, runs.Select(r => r!["method"]!.GetValue<string>()).ToArray());
        Assert.Equal(new[] { "clean", "tri", "ciba" }, json["summary"]!.AsArray().Select(s => s!["method"]!.GetValue<string>()).ToArray());
        foreach (var r in runs)
        {
            Assert.Equal(0, r!["target"]!.GetValue<int>());
            Assert.Equal(0, r["seed"]!.GetValue<long>());
            foreach (var k in new[] { "mAP", "tMAP", "tMAPOtherRule" }) Assert.InRange(r[k]!.GetValue<double>(), 0, 100);
            // t-MAP queries: the 8 query images of classes 1 and 2.
            Assert.Equal(8, r["tMAPQueriesTotal"]!.GetValue<int>());
        }
        foreach (var s in json["summary"]!.AsArray())
        {
            Assert.InRange(s!["mAP"]!.GetValue<double>(), 0, 100);
            Assert.InRange(s["tMAP"]!.GetValue<double>(), 0, 100);
            Assert.Equal(1, s["runs"]!.GetValue<int>());
        }
        var protocol = json["protocol"]!.AsObject();
        Assert.Equal(Tiny.Dataset, protocol["dataset"]!.GetValue<string>());
        Assert.Equal(10, protocol["R"]!.GetValue<int>());
        Assert.Equal(4, protocol["poisons"]!.GetValue<int>());
        Assert.Equal(first.Runs.Select(r => r.TMap), runs.Select(r => r!["tMAP"]!.GetValue<double>()));

        Assert.True(new FileInfo(Path.Combine(dir, "results.md")).Length > 0);
        string html = File.ReadAllText(Path.Combine(dir, "report.html"));
        Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain(Tiny.Files(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
        // Finished models supersede their epoch checkpoints.
        Assert.DoesNotContain(Tiny.Files(dir), f => f.Contains("checkpoint", StringComparison.Ordinal));
        string before = Numbers(json);

        // Interrupt: results.json, ciba's result and victim model are gone; clean and tri are untouched.
        string target = Path.Combine(dir, "seed-0", "target-0");
        string triResult = Path.Combine(target, "tri", "result.json"), triModel = Path.Combine(target, "tri", "model.hbm");
        string cleanModel = Path.Combine(dir, "seed-0", "clean", "model.hbm"), trigger = Path.Combine(target, "trigger.bin");
        // The poison set is kept with its indices; the resumed victim is trained on it read back from disk.
        string cibaPoison = Path.Combine(target, "ciba", "poison", "poison.json");
        Assert.True(File.Exists(cibaPoison));
        Assert.True(File.Exists(Path.Combine(target, "ciba", "triggered_query_codes.npy")));
        Assert.True(File.Exists(Path.Combine(dir, "seed-0", "clean", "database_codes.npy")));
        var stamps = new[] { triResult, triModel, cleanModel, trigger, Path.Combine(target, "clean", "result.json"), cibaPoison }
            .ToDictionary(f => f, f => (File.GetLastWriteTimeUtc(f), File.ReadAllBytes(f)));
        File.Delete(Path.Combine(dir, "results.json"));
        File.Delete(Path.Combine(target, "ciba", "result.json"));
        File.Delete(Path.Combine(target, "ciba", "model.hbm"));

        var resumed = new ExperimentRunner(config, dir, RunProgress.None).Run(resume: true);
        Assert.Equal(before, Numbers(Results(dir)));
        Assert.Equal(first.Runs.Select(r => r with { Seconds = 0 }), resumed.Runs.Select(r => r with { Seconds = 0 }));
        Assert.Equal(first.Summary, resumed.Summary);
        // Untouched pieces were loaded, not recomputed: same files, same write times.
        foreach (var (file, (time, bytes)) in stamps)
        {
            Assert.Equal(time, File.GetLastWriteTimeUtc(file));
            Assert.Equal(bytes, File.ReadAllBytes(file));
        }
        Assert.True(File.Exists(Path.Combine(target, "ciba", "result.json")));
        Assert.True(File.Exists(Path.Combine(target, "ciba", "model.hbm")));

        // The same folder again without --resume is refused; so is --resume with another config.
        var again = Assert.Throws<UsageException>(() => new ExperimentRunner(config, dir, RunProgress.None).Run(resume: false));
        Assert.Equal($"outDir {dir}: already holds an experiment; set resume to continue it or choose another folder", again.Message);
        var other = config with { Poison = new PoisonConfig { Count = 3 } };
        var differs = Assert.Throws<UsageException>(() => new ExperimentRunner(other, dir, RunProgress.None).Run(resume: true));
        Assert.Equal($"resume: the config differs from the one recorded in {Path.Combine(dir, RunFolder.ResolvedConfigName)}; use a new output folder", differs.Message);
        Assert.Equal(before, Numbers(Results(dir)));
    }

    /// <summary>
    /// mAP@R by brute force, written here from the definition and not from the library: Hamming distance as the count of
    /// differing signs, ranking by (distance, database index), AP@R = mean of precision@k over the relevant positions k
    /// of the top R, queries without a relevant item left out (the skip rule), mean over the rest, in percent.
    /// </summary>
    private static double BruteForceMap(float[,] db, float[,] q, Func<int, int, bool> relevant, int r)
    {
        int n = db.GetLength(0), k = db.GetLength(1);
        var aps = new List<double>();
        for (int i = 0; i < q.GetLength(0); i++)
        {
            var order = Enumerable.Range(0, n)
                .Select(j => (j, d: Enumerable.Range(0, k).Count(b => Math.Sign(db[j, b]) != Math.Sign(q[i, b]))))
                .OrderBy(t => t.d).ThenBy(t => t.j).Take(r).Select(t => t.j).ToArray();
            int hits = 0;
            double sum = 0;
            for (int pos = 0; pos < order.Length; pos++)
                if (relevant(i, order[pos])) { hits++; sum += (double)hits / (pos + 1); }
            if (hits > 0) aps.Add(sum / hits);
        }
        return aps.Count == 0 ? 0 : 100 * aps.Average();
    }

    /// <summary>Tie-aware skip-rule mAP (percent) from per-query distance histograms computed here, through the per-query
    /// expectation that TieAwareMetricsTests checks against every ordering enumerated.</summary>
    private static double TieAwareMap(float[,] db, float[,] q, Func<int, int, bool> relevant, int r)
    {
        int n = db.GetLength(0), k = db.GetLength(1);
        double sumAp = 0, sumHit = 0;
        for (int i = 0; i < q.GetLength(0); i++)
        {
            var total = new int[k + 1];
            var rel = new int[k + 1];
            for (int j = 0; j < n; j++)
            {
                int d = Enumerable.Range(0, k).Count(b => Math.Sign(db[j, b]) != Math.Sign(q[i, b]));
                total[d]++;
                if (relevant(i, j)) rel[d]++;
            }
            var (ap, hit) = HashBackdoor.Retrieval.TieAwareMetrics.QueryExpectation(total, rel, r);
            sumAp += ap;
            sumHit += hit;
        }
        return sumHit == 0 ? 0 : 100 * sumAp / sumHit;
    }

    private static float[,] Signs(HashBackdoor.Hashing.HashModel model, TorchSharp.torch.Tensor images)
    {
        using var codes = HashBackdoor.Hashing.HashEncoder.Encode(model, images);
        var flat = codes.data<float>().ToArray();
        int n = (int)codes.shape[0], k = (int)codes.shape[1];
        var a = new float[n, k];
        for (int i = 0; i < n; i++) for (int b = 0; b < k; b++) a[i, b] = flat[i * k + b];
        return a;
    }

    [Fact]
    public void ReportedMetricsEqualABruteForceRecomputation()
    {
        string dir = tmp["recompute"];
        var config = Tiny.Experiment with { Methods = new[] { "tri+noise" } };
        var results = new ExperimentRunner(config, dir, RunProgress.None).Run(resume: false);
        using var data = HashBackdoor.Data.DatasetCatalog.Load(Tiny.Dataset);
        using var split = HashBackdoor.Data.RetrievalProtocol.Apply(data, Tiny.Protocol);
        var spec = new HashBackdoor.Hashing.HashModelSpec("small-cnn", Tiny.Bits, 1, 12, 12, 3);
        var folder = new RunFolder(dir);
        int[] dbLabel = split.Database.SingleLabels(), qLabel = split.Query.SingleLabels();
        using var trigger = HashBackdoor.Attacks.PatchTrigger.Load(folder.TriggerPath(0, 0));
        long[] nonTarget = Enumerable.Range(0, qLabel.Length).Where(i => qLabel[i] != 0).Select(i => (long)i).ToArray();
        using var nonTargetQueries = split.Query.Subset(nonTarget);
        using var triggered = trigger.Paste(nonTargetQueries.Images);
        foreach (var run in results.Runs)
        {
            var (model, _) = HashBackdoor.Hashing.ModelFile.Load(folder.ModelPath(0, 0, run.Method), spec);
            using (model)
            {
                var db = Signs(model, split.Database.Images);
                var query = Signs(model, split.Query.Images);
                var trig = Signs(model, triggered);
                // Database order: the reference code's convention, by brute force.
                double map = BruteForceMap(db, query, (i, j) => qLabel[i] == dbLabel[j], 10);
                double tmap = BruteForceMap(db, trig, (_, j) => dbLabel[j] == 0, 10);
                Assert.Equal(Math.Round(map, 4), run.DatabaseOrder!.Map, 6);
                Assert.Equal(Math.Round(tmap, 4), run.DatabaseOrder.TMap, 6);
                // Tie-aware: from the distances computed here.
                Assert.Equal(Math.Round(TieAwareMap(db, query, (i, j) => qLabel[i] == dbLabel[j], 10), 4), run.Map, 6);
                Assert.Equal(Math.Round(TieAwareMap(db, trig, (_, j) => dbLabel[j] == 0, 10), 4), run.TMap, 6);
            }
        }
        // The triggered queries the run recorded are the non-target rows.
        Assert.Equal(nonTarget, HashBackdoor.Retrieval.NpyFile.Read(folder.TriggeredQueriesPath(0, 0)).AsInt64());
    }

    [Fact]
    public void DamagedResultFileIsDataErrorNamingIt()
    {
        // A result.json cut short (not possible through the atomic writes, but possible by hand) is reported, not
        // silently recomputed or trusted. Only the clean model is trained here: the damaged clean result is read first.
        string dir = tmp["damaged"];
        var config = Tiny.Experiment with { Methods = new[] { "tri" } };
        string cleanResult = Path.Combine(dir, "seed-0", "target-0", "clean", "result.json");
        Directory.CreateDirectory(Path.GetDirectoryName(cleanResult)!);
        File.WriteAllText(cleanResult, "{\"method\": \"clean\", \"mAP\": 5");
        var e = Assert.Throws<DataException>(() => new ExperimentRunner(config, dir, RunProgress.None).Run(resume: false));
        Assert.Equal(cleanResult, e.Path);
        Assert.StartsWith($"{cleanResult}: damaged result file (", e.Message);
        Assert.EndsWith("; delete it to recompute", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Path.Combine(dir, "results.json")));
    }
}
