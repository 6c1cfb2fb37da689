using System.Text.Json;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Experiments.Reports;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>
/// Read-only access to a finished experiment run folder for <c>hashbd serve</c>: rebuilds the run's protocol split
/// from its recorded config (dataset checksums checked), and answers "top-k of query q under the clean model or a
/// victim, with or without the trigger" with thumbnails, labels and Hamming distances. Database codes are computed once
/// per model, on first use, and kept. Nothing is written to the run folder.
/// </summary>
/// <remarks>
/// Requests name a seed, a target class and a model ("clean" or an attack method of the config) by value; the files
/// behind them come only from <see cref="RunBrowserFiles"/>. Torch work and the caches are serialised by one lock, so
/// the instance may be called from several threads.
/// </remarks>
public sealed class RunBrowser : IDisposable
{
    /// <summary>Largest k a request may ask for.</summary>
    public const int MaxTopK = 100;

    /// <summary>Displayed size (longest side, CSS pixels) thumbnails are enlarged towards by an integer factor.</summary>
    private const int ThumbSide = 84;

    private readonly object gate = new();
    private readonly ExperimentConfig config;
    private readonly ProtocolSplit split;
    private readonly HashModelSpec spec;
    private readonly Device device;
    private readonly int[][] queryLabels;
    private readonly int[][] databaseLabels;
    private readonly int thumbScale;
    private readonly Dictionary<string, (HashModel Model, HammingIndex Index)> models = new();
    private readonly Dictionary<string, PatchTrigger> triggers = new();
    private bool disposed;

    private RunBrowser(RunBrowserFiles files, ExperimentConfig config, ProtocolSplit split, Device device)
    {
        Files = files;
        this.config = config;
        this.split = split;
        this.device = device;
        spec = new HashModelSpec(config.Model.Architecture, config.Model.Bits, split.Train.Channels, split.Train.Height, split.Train.Width, split.Train.NumClasses).Validate();
        queryLabels = LabelLists(split.Query);
        databaseLabels = LabelLists(split.Database);
        thumbScale = Math.Max(1, ThumbSide / Math.Max(split.Train.Height, split.Train.Width));
    }

    /// <summary>The run folder's files.</summary>
    public RunBrowserFiles Files { get; }

    /// <summary>Number of query images of the protocol.</summary>
    public int QueryCount => split.Query.Count;

    /// <summary>Opens the run folder <paramref name="runDir"/>: reads config.resolved.json, loads the dataset it names,
    /// checks the recorded checksums and rebuilds the protocol split. Models are loaded later, when first asked for.</summary>
    /// <exception cref="UsageException">The folder is missing or holds no experiment (names <c>runDir</c>).</exception>
    /// <exception cref="DataException">The dataset changed since the run.</exception>
    public static RunBrowser Open(string runDir, string device = "cpu")
    {
        var files = new RunBrowserFiles(runDir);
        if (!Directory.Exists(files.Root)) throw new UsageException($"runDir {runDir}: folder not found");
        string configPath = files.Existing(files.ResolvedConfig)
            ?? throw new UsageException($"runDir {runDir}: no {ExperimentRunner.ResolvedConfigName}; not the output folder of an experiment");
        var resolved = ExperimentConfig.LoadResolved(configPath);
        var config = resolved.Config.Validate();
        var dev = TorchRuntime.ParseDevice(device);
        TorchRuntime.Configure();
        ProtocolSplit split;
        using (var data = DatasetCatalog.Load(config.Dataset))
        {
            foreach (var (file, sum) in resolved.DatasetChecksums ?? new Dictionary<string, string>())
                if (data.Checksums.TryGetValue(file, out var now) && now != sum)
                    throw new DataException(file, $"dataset file changed since the run (SHA-256 {now[..12]}..., recorded {sum[..12]}...)");
            split = RetrievalProtocol.Apply(data, config.Protocol);
        }
        try
        {
            return new RunBrowser(files, config, split, dev);
        }
        catch
        {
            split.Dispose();
            throw;
        }
    }

    /// <summary>The run as a page needs it: classes, seeds, targets, models and triggers on disk, query labels and
    /// results.json's rows.</summary>
    public RunBrowserSummary Summary()
    {
        var models = new[] { "clean" }.Concat(config.Methods).ToArray();
        var available = new List<string>();
        var triggerKeys = new List<string>();
        foreach (long seed in config.Seeds)
            foreach (int target in config.Targets)
            {
                if (Files.Existing(Files.Trigger(seed, target)) is not null) triggerKeys.Add($"{seed}/{target}");
                foreach (string m in models)
                    if (Files.Existing(ModelPath(seed, target, m)) is not null) available.Add($"{seed}/{target}/{m}");
            }
        return new RunBrowserSummary
        {
            Title = $"CIBA experiment '{config.Name}' on {split.Name}",
            Protocol = split.Name,
            ClassNames = split.ClassNames,
            Seeds = config.Seeds,
            Targets = config.Targets,
            Models = models,
            Available = available,
            Triggers = triggerKeys,
            Bits = spec.Bits,
            DatabaseCount = split.Database.Count,
            QueryLabels = queryLabels,
            HasReport = Files.Existing(Files.Report) is not null,
            Runs = ReadRuns(),
            ToolkitVersion = ToolkitInfo.Version,
        };
    }

    /// <summary>The bytes of the run's report.html, or null when the run has none.</summary>
    public byte[]? ReportHtml() => Files.Existing(Files.Report) is { } path ? File.ReadAllBytes(path) : null;

    /// <summary>
    /// Top-<paramref name="k"/> database images for query <paramref name="query"/> under <paramref name="model"/>
    /// ("clean": the clean model of <paramref name="seed"/>; an attack method: its victim for
    /// <paramref name="seed"/> and <paramref name="target"/>), the query optionally carrying the trigger of that seed and
    /// target.
    /// </summary>
    /// <exception cref="RunBrowserRequestException">A value outside the run's config or ranges, or a model or trigger
    /// the run has not written.</exception>
    public RetrievalView Search(long seed, int target, string model, int query, bool trigger, int k)
    {
        if (!config.Seeds.Contains(seed)) throw new RunBrowserRequestException($"seed {seed}: not a seed of this run ({string.Join(", ", config.Seeds)})");
        if (!config.Targets.Contains(target)) throw new RunBrowserRequestException($"target {target}: not a target of this run ({string.Join(", ", config.Targets)})");
        if (model != "clean" && !config.Methods.Contains(model))
            throw new RunBrowserRequestException($"model {Shorten(model)}: expected clean or one of {string.Join(", ", config.Methods)}");
        if (query < 0 || query >= split.Query.Count) throw new RunBrowserRequestException($"query {query}: expected 0 to {split.Query.Count - 1}");
        if (k < 1 || k > MaxTopK) throw new RunBrowserRequestException($"k {k}: expected 1 to {MaxTopK}");
        string modelPath = Files.Existing(ModelPath(seed, target, model))
            ?? throw new RunBrowserRequestException(model == "clean" ? $"seed {seed}: the run has no clean model" : $"seed {seed} target {target}: the run has no {model} victim", notFound: true);
        string? triggerPath = null;
        if (trigger)
            triggerPath = Files.Existing(Files.Trigger(seed, target))
                ?? throw new RunBrowserRequestException($"seed {seed} target {target}: the run has no trigger", notFound: true);

        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var (hashModel, index) = Model(modelPath);
            var patch = triggerPath is null ? null : Trigger(triggerPath);
            using var scope = NewDisposeScope();
            var x = split.Query.Images.narrow(0, query, 1);
            if (patch is not null) x = patch.Paste(x);
            var signs = HashEncoder.Encode(hashModel, x, 1, null, device);
            var code = CodeConversion.ToBinaryCodes(signs, out _);
            long[] found = index.Search(code, k, out int[] distances);
            var items = new List<RetrievedItem>(found.Length);
            for (int r = 0; r < found.Length; r++)
            {
                long j = found[r];
                var labels = databaseLabels[j];
                items.Add(new RetrievedItem
                {
                    Rank = r + 1, Index = j, Distance = distances[r], Labels = labels, IsTarget = labels.Contains(target),
                    Image = DataUri(ImagePng.FromTensor(split.Database.Images[j], thumbScale)),
                });
            }
            // The top-k cut usually falls inside a group of equally distant images: say how many, and the tie-aware
            // expected number of target images in the top k (the shown ones are the first of the group in database order).
            int[] all = index.Distances(code, 0);
            var total = new int[index.Bits + 1];
            var targets = new int[index.Bits + 1];
            for (int j = 0; j < all.Length; j++)
            {
                total[all[j]]++;
                if (databaseLabels[j].Contains(target)) targets[all[j]]++;
            }
            int cut = distances.Length == 0 ? 0 : distances[^1];
            return new RetrievalView
            {
                Seed = seed, Target = target, Model = model, Query = query, Triggered = trigger, QueryLabels = queryLabels[query],
                QueryImage = DataUri(ImagePng.FromTensor(x[0], 2 * thumbScale)), Results = items, TargetCount = items.Count(i => i.IsTarget),
                TiedAtCut = total[cut], TiedShown = distances.Count(d => d == cut),
                ExpectedTargetCount = Math.Round(TieAwareMetrics.ExpectedRelevantInTop(total, targets, found.Length), 2),
            };
        }
    }

    /// <summary>Frees the loaded models, triggers and the protocol split.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            foreach (var (m, _) in models.Values) m.Dispose();
            foreach (var t in triggers.Values) t.Dispose();
            split.Dispose();
        }
    }

    private string ModelPath(long seed, int target, string model) =>
        model == "clean" ? Files.CleanModel(seed) : Files.VictimModel(seed, target, model);

    /// <summary>The model at <paramref name="path"/> and the index of its database codes, loaded and encoded once.</summary>
    private (HashModel Model, HammingIndex Index) Model(string path)
    {
        if (models.TryGetValue(path, out var cached)) return cached;
        var (model, _) = ModelFile.Load(path, spec);
        try
        {
            model.to(device);
            var db = EvaluatePipeline.Encode(model, split.Database, RunProgress.None, "database");
            var entry = (model, new HammingIndex(db.Codes));
            models[path] = entry;
            return entry;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private PatchTrigger Trigger(string path)
    {
        if (triggers.TryGetValue(path, out var cached)) return cached;
        var t = PatchTrigger.Load(path);
        try
        {
            t.CheckFits(split.Query.Channels, split.Query.Height, split.Query.Width);
        }
        catch
        {
            t.Dispose();
            throw;
        }
        triggers[path] = t;
        return t;
    }

    private IReadOnlyList<RunResult> ReadRuns()
    {
        if (Files.Existing(Files.Results) is not { } path) return Array.Empty<RunResult>();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("runs", out var runs)) return Array.Empty<RunResult>();
            return runs.Deserialize<List<RunResult>>(ExperimentResults.Json) ?? new List<RunResult>();
        }
        catch (JsonException e)
        {
            throw new DataException(path, $"damaged results file ({e.Message})");
        }
    }

    /// <summary>Class indices of every row of a dataset's multi-hot labels.</summary>
    private static int[][] LabelLists(ImageDataset set)
    {
        using var scope = NewDisposeScope();
        // nonzero() lists (row, class) pairs in row-major order.
        long[] pairs = set.Labels.cpu().gt(0).nonzero().contiguous().data<long>().ToArray();
        var lists = new List<int>[set.Count];
        for (int i = 0; i < lists.Length; i++) lists[i] = new List<int>(1);
        for (int p = 0; p < pairs.Length; p += 2) lists[pairs[p]].Add((int)pairs[p + 1]);
        return lists.Select(l => l.ToArray()).ToArray();
    }

    private static string DataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
