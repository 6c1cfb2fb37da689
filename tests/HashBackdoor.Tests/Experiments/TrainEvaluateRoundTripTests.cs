using System.Numerics;
using System.Text.Json;
using HashBackdoor.Retrieval;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Experiments;

/// <summary>A run folder trained through <c>hashbd train</c> in-process (tiny synthetic data, 1 epoch, 16 bits, seed 0).</summary>
public sealed class CliTrainedRunFixture : IDisposable
{
    public ScratchDir Dir { get; } = new();

    public CliTrainedRunFixture()
    {
        RunDir = Dir["run-seed0"];
        var r = Hashbd.Run(Tiny.TrainArgs(RunDir, epochs: 1, seed: 0));
        if (r.ExitCode != 0) throw new InvalidOperationException($"hashbd train failed ({r.ExitCode}): {r.Err}");
    }

    public string RunDir { get; }

    public void Dispose() => Dir.Dispose();
}

/// <summary>
/// <c>hashbd train</c> then <c>hashbd evaluate</c> in-process: metrics.json carries the protocol next to mAP, its mAP
/// equals an independent recomputation from the exported .npy files (method.md section 7), and both commands are
/// deterministic (same seed, same codes bit for bit).
/// </summary>
[Collection("torch-training")]
public class TrainEvaluateRoundTripTests : IClassFixture<CliTrainedRunFixture>, IDisposable
{
    private readonly CliTrainedRunFixture fixture;
    private readonly ScratchDir tmp = new();

    public TrainEvaluateRoundTripTests(CliTrainedRunFixture fixture) => this.fixture = fixture;

    public void Dispose() => tmp.Dispose();

    private static string Evaluate(string runDir, string outDir, int r, string rule = "skip")
    {
        var res = Hashbd.Run("evaluate", "--model", runDir, "--out", outDir, "--topk", r.ToString(), "--query-rule", rule);
        Assert.True(res.ExitCode == 0, $"evaluate failed ({res.ExitCode}): {res.Err}");
        return outDir;
    }

    private static JsonElement Metrics(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json"))).RootElement;

    /// <summary>mAP@R written out from method.md section 7 without the library: Hamming distance by popcount of the
    /// code bytes, ranking by (distance, database index), AP = sum_{r<=R} P@r rel_r / sum_{r<=R} rel_r; relevant =
    /// shares a label. Skip rule: mean over queries with a relevant item in the top R; zero rule: those count as 0.</summary>
    /// <param name="tieBreak">null: ties in database order (the reference convention); else a random order of the tied
    /// items drawn from this generator.</param>
    private static (double Map, int Counted) ReferenceMap(string dir, int r, bool skip, Random? tieBreak = null)
    {
        var q = NpyFile.Read(Path.Combine(dir, "query_codes.npy"));
        var db = NpyFile.Read(Path.Combine(dir, "database_codes.npy"));
        var ql = NpyFile.Read(Path.Combine(dir, "query_labels.npy"));
        var dl = NpyFile.Read(Path.Combine(dir, "database_labels.npy"));
        byte[] qc = q.AsBytes(), dc = db.AsBytes(), qlab = ql.AsBytes(), dlab = dl.AsBytes();
        int bytesPerCode = q.Columns, classes = ql.Columns, nq = q.Rows, nd = db.Rows;
        Assert.Equal(bytesPerCode, db.Columns);
        Assert.Equal(classes, dl.Columns);
        Assert.Equal(nq, ql.Rows);
        Assert.Equal(nd, dl.Rows);

        double sum = 0;
        int counted = 0;
        for (int i = 0; i < nq; i++)
        {
            var dist = new int[nd];
            for (int j = 0; j < nd; j++)
            {
                int d = 0;
                for (int b = 0; b < bytesPerCode; b++) d += BitOperations.PopCount((uint)(qc[i * bytesPerCode + b] ^ dc[j * bytesPerCode + b]));
                dist[j] = d;
            }
            var order = Enumerable.Range(0, nd).ToArray();
            var key = tieBreak is null ? order.ToArray() : order.Select(_ => tieBreak.Next()).ToArray();
            Array.Sort(order, (a, b) => dist[a] != dist[b] ? dist[a].CompareTo(dist[b]) : key[a] != key[b] ? key[a].CompareTo(key[b]) : a.CompareTo(b));
            int hits = 0;
            double precisionSum = 0;
            for (int k = 0; k < Math.Min(r, nd); k++)
            {
                int j = order[k];
                bool relevant = false;
                for (int c = 0; c < classes; c++) relevant |= qlab[i * classes + c] != 0 && dlab[j * classes + c] != 0;
                if (!relevant) continue;
                hits++;
                precisionSum += (double)hits / (k + 1);
            }
            if (hits > 0)
            {
                sum += precisionSum / hits;
                counted++;
            }
            else if (!skip) counted++;
        }
        return (counted == 0 ? 0 : sum / counted, counted);
    }

    /// <summary>metrics.json rounds percentages to 4 decimals: the reported value must equal the recomputed fraction
    /// times 100 within that rounding plus 1e-6 of a fraction (1e-4 percent).</summary>
    private static void AssertPercent(double expectedFraction, double reportedPercent) =>
        Assert.True(Math.Abs(expectedFraction * 100 - reportedPercent) <= 0.5e-4 + 1e-4,
            $"reported {reportedPercent} %, recomputed {expectedFraction * 100:F6} %");

    [Fact]
    public void TrainWritesRunFolderAndEvaluateWritesMetricsWithProtocol()
    {
        Assert.True(File.Exists(Path.Combine(fixture.RunDir, "model.hbm")));
        Assert.True(File.Exists(Path.Combine(fixture.RunDir, "run.json")));
        string dir = Evaluate(fixture.RunDir, tmp["eval"], 10);
        var m = Metrics(dir);
        foreach (var key in new[] { "mAP", "R", "queryRule", "protocol", "mAPOtherRule", "queriesCounted", "queriesTotal" })
            Assert.True(m.TryGetProperty(key, out _), $"metrics.json lacks {key}");
        Assert.Equal(10, m.GetProperty("R").GetInt32());
        Assert.Equal("skip", m.GetProperty("queryRule").GetString());
        Assert.InRange(m.GetProperty("mAP").GetDouble(), 0, 100);
        var p = m.GetProperty("protocol");
        Assert.Equal(Tiny.Dataset, p.GetProperty("dataset").GetString());
        Assert.Equal(12, p.GetProperty("query").GetInt32());
        Assert.Equal(24, p.GetProperty("train").GetInt32());
        Assert.Equal(60, p.GetProperty("database").GetInt32());
        Assert.Equal(16, p.GetProperty("bits").GetInt32());
        Assert.Equal(10, p.GetProperty("R").GetInt32());
        Assert.StartsWith("skip", p.GetProperty("queryRule").GetString());
        foreach (var f in new[] { "query_codes.npy", "database_codes.npy", "query_labels.npy", "database_labels.npy" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        // No temporary files of the atomic writes are left behind.
        Assert.DoesNotContain(Tiny.Files(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(10, "skip")]
    [InlineData(1, "skip")]
    [InlineData(1, "zero")]
    [InlineData(1000, "skip")]
    public void EvaluateMapEqualsIndependentRecomputation(int r, string rule)
    {
        string dir = Evaluate(fixture.RunDir, tmp["eval"], r, rule);
        var m = Metrics(dir);
        bool skip = rule == "skip";
        // Database order: exactly the reference code's convention.
        var (map, counted) = ReferenceMap(dir, r, skip);
        var (other, _) = ReferenceMap(dir, r, !skip);
        var order = m.GetProperty("databaseOrder");
        AssertPercent(map, order.GetProperty("mAP").GetDouble());
        AssertPercent(other, order.GetProperty("mAPOtherRule").GetDouble());
        Assert.Equal(counted, order.GetProperty("queriesCounted").GetInt32());
        // Tie-aware: the expectation over random orders of the tied items, estimated by 3,000 random tie-breaks
        // (skip rule: expected sum of APs over expected count, docs/tie-aware-metrics.md).
        var rng = new Random(7);
        double sumAp = 0, sumCounted = 0, sumOther = 0;
        const int Draws = 3000;
        for (int t = 0; t < Draws; t++)
        {
            var (a, c) = ReferenceMap(dir, r, skip, rng);
            sumAp += a * c;
            sumCounted += c;
            sumOther += ReferenceMap(dir, r, false, rng).Map;
        }
        double expectedMap = sumCounted == 0 ? 0 : sumAp / sumCounted;
        Assert.True(Math.Abs(expectedMap * 100 - m.GetProperty("mAP").GetDouble()) < 1.0,
            $"tie-aware mAP {m.GetProperty("mAP").GetDouble()} %, random tie-breaks {expectedMap * 100:F3} %");
        Assert.True(Math.Abs(sumCounted / Draws - m.GetProperty("queriesCounted").GetDouble()) < 0.1,
            $"tie-aware queries counted {m.GetProperty("queriesCounted").GetDouble()}, random tie-breaks {sumCounted / Draws:F3}");
        if (skip)
            Assert.True(Math.Abs(sumOther / Draws * 100 - m.GetProperty("mAPOtherRule").GetDouble()) < 1.0,
                $"tie-aware zero-rule mAP {m.GetProperty("mAPOtherRule").GetDouble()} %, random tie-breaks {sumOther / Draws * 100:F3} %");
        Assert.Equal(12, m.GetProperty("queriesTotal").GetInt32());
        // R larger than the database (60 images) is reduced to it; the protocol keeps the R asked for.
        Assert.Equal(Math.Min(r, 60), m.GetProperty("R").GetInt32());
        Assert.Equal(r, m.GetProperty("protocol").GetProperty("R").GetInt32());
        // Not one code for everything: distances differ, so the ranking (and its ties, broken by index) is exercised.
        byte[] db = NpyFile.Read(Path.Combine(dir, "database_codes.npy")).AsBytes();
        int distinct = db.Chunk(2).Select(c => (c[0] << 8) | c[1]).Distinct().Count();
        Assert.True(distinct >= 2, $"all 60 database codes are equal after one epoch: the test would not exercise the ranking");
    }

    [Fact]
    public void EvaluateTwiceGivesIdenticalMetricsAndCodes()
    {
        string a = Evaluate(fixture.RunDir, tmp["a"], 10), b = Evaluate(fixture.RunDir, tmp["b"], 10);
        Assert.Equal(Metrics(a).GetProperty("mAP").GetDouble(), Metrics(b).GetProperty("mAP").GetDouble());
        Assert.Equal(Metrics(a).GetProperty("prCurve").GetRawText(), Metrics(b).GetProperty("prCurve").GetRawText());
        foreach (var f in new[] { "query_codes.npy", "database_codes.npy", "query_labels.npy", "database_labels.npy" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f)));
    }

    [Fact]
    public void TrainTwiceWithSameSeedGivesBitwiseIdenticalCodesAndAnotherSeedDoesNot()
    {
        string again = tmp["run-seed0-again"], other = tmp["run-seed1"];
        Assert.Equal(0, Hashbd.Run(Tiny.TrainArgs(again, epochs: 1, seed: 0)).ExitCode);
        Assert.Equal(0, Hashbd.Run(Tiny.TrainArgs(other, epochs: 1, seed: 1)).ExitCode);
        string e0 = Evaluate(fixture.RunDir, tmp["e0"], 10), e0b = Evaluate(again, tmp["e0b"], 10), e1 = Evaluate(other, tmp["e1"], 10);
        foreach (var f in new[] { "query_codes.npy", "database_codes.npy" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(e0, f)), File.ReadAllBytes(Path.Combine(e0b, f)));
            Assert.NotEqual(File.ReadAllBytes(Path.Combine(e0, f)), File.ReadAllBytes(Path.Combine(e1, f)));
        }
        Assert.Equal(Metrics(e0).GetProperty("mAP").GetDouble(), Metrics(e0b).GetProperty("mAP").GetDouble());
    }
}
