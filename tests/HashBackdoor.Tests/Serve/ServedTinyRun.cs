using HashBackdoor.Browser;
using HashBackdoor.Attacks;
using HashBackdoor.Cli;
using HashBackdoor.Data;
using HashBackdoor.Experiments;
using HashBackdoor.Hashing;
using HashBackdoor.Tests.Reliability;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Serve;

/// <summary>The serve tests share one tiny run and server (the experiment takes ~10 s).</summary>
[CollectionDefinition("serve")]
public sealed class ServeCollection : ICollectionFixture<ServedTinyRun> { }

/// <summary>
/// A tiny experiment run folder (<see cref="Tiny.Experiment"/>: 1 seed, target 0, tri and ciba victims) served by
/// <see cref="RunBrowserServer"/> on a free loopback port, with a secret file beside the run folder that no request may
/// reveal. Also computes reference rankings the plain way: sign codes compared element by element, sorted by
/// (distance, database index).
/// </summary>
public sealed class ServedTinyRun : IDisposable
{
    public const string SecretToken = "hbd-secret-7f3c2a91";

    private readonly ScratchDir tmp = new();

    public ServedTinyRun()
    {
        RunDir = tmp["run"];
        SecretFile = tmp["secret.txt"];
        File.WriteAllText(SecretFile, SecretToken);
        new ExperimentRunner(Tiny.Experiment, RunDir, RunProgress.None).Run(resume: false);
        Browser = RunBrowser.Open(RunDir);
        Server = RunBrowserServer.StartAsync(Browser, 0, TextWriter.Null).GetAwaiter().GetResult();
        Data = DatasetCatalog.Load(Tiny.Dataset);
        Split = RetrievalProtocol.Apply(Data, Tiny.Protocol);
    }

    public string RunDir { get; }
    public string SecretFile { get; }
    public RunBrowser Browser { get; }
    public RunBrowserServer Server { get; }
    public DatasetSplits Data { get; }
    public ProtocolSplit Split { get; }

    /// <summary>The scratch folder that holds the run folder and the secret file.</summary>
    public string Scratch => tmp.Path;

    /// <summary>Model file of "clean" or a victim of seed 0, target 0.</summary>
    public string ModelPath(string model) => model == "clean"
        ? Path.Combine(RunDir, "seed-0", "clean", "model.hbm")
        : Path.Combine(RunDir, "seed-0", "target-0", model, "model.hbm");

    /// <summary>The top-k database indices and distances of one query, computed without the packed codes or the index:
    /// Hamming distance = number of code positions whose signs differ; ties by database order.</summary>
    public (long[] Index, int[] Distance) ReferenceTop(string model, int query, bool trigger, int k)
    {
        using var scope = NewDisposeScope();
        var (net, _) = ModelFile.Load(ModelPath(model));
        using var _net = net;
        var x = Split.Query.Images.narrow(0, query, 1);
        if (trigger)
        {
            using var t = PatchTrigger.Load(Path.Combine(RunDir, "seed-0", "target-0", "trigger.bin"));
            x = t.Paste(x);
        }
        var db = HashEncoder.Encode(net, Split.Database.Images).gt(0);
        var q = HashEncoder.Encode(net, x).gt(0);
        int[] d = db.ne(q).sum(1).to_type(ScalarType.Int32).data<int>().ToArray();
        long[] order = Enumerable.Range(0, d.Length).OrderBy(j => d[j]).ThenBy(j => j).Take(k).Select(j => (long)j).ToArray();
        return (order, order.Select(j => d[j]).ToArray());
    }

    public void Dispose()
    {
        Server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Browser.Dispose();
        Split.Dispose();
        Data.Dispose();
        tmp.Dispose();
    }
}
