using System.Text.Json;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Retrieval;
using static TorchSharp.torch;

namespace HashBackdoor.Experiments;

/// <summary>
/// The folder of one experiment: every path of a run is built here and nowhere else, and every piece a later command
/// needs (models, triggers, poison sets with their indices, codes, results) is written and read back here, so a run
/// resumes where it stopped and a defense or a report can open it. The layout is documented in docs/run-folder.md.
/// </summary>
/// <remarks>
/// <c>method</c> is an attack name or <see cref="CleanMethod"/> ("clean": the clean model queried with triggered images);
/// its folder name replaces '+' by '_' (tri+noise -> tri_noise). Clean models and surrogates live under
/// <see cref="ModelsRoot"/>, which ablations over attack settings share between their variants.
/// </remarks>
public sealed partial class RunFolder
{
    /// <summary>The resolved config record.</summary>
    public const string ResolvedConfigName = "config.resolved.json";
    /// <summary>The model file in a model folder.</summary>
    public const string ModelFileName = RunRecord.ModelFileName;
    /// <summary>The method name under which the clean model's triggered-query result is kept.</summary>
    public const string CleanMethod = "clean";

    /// <summary>Opens (does not create) the run folder <paramref name="root"/>; clean models and surrogates go under
    /// <paramref name="sharedModelsRoot"/> when given (ablations), else under the root.</summary>
    public RunFolder(string root, string? sharedModelsRoot = null)
    {
        Root = Path.GetFullPath(root);
        ModelsRoot = sharedModelsRoot is null ? Root : Path.GetFullPath(sharedModelsRoot);
    }

    /// <summary>The run folder.</summary>
    public string Root { get; }

    /// <summary>Where clean models and surrogates live (the root, or an ablation's shared-models folder).</summary>
    public string ModelsRoot { get; }

    // ------------------------------------------------------------------ run level

    /// <summary>config.resolved.json: the config as run, toolkit version, dataset checksums, machine.</summary>
    public string ResolvedConfigPath => Path.Combine(Root, ResolvedConfigName);
    /// <summary>results.json: every (seed, target, method) result, the summary and the protocol.</summary>
    public string ResultsJsonPath => Path.Combine(Root, "results.json");
    /// <summary>results.md: the results as Markdown tables.</summary>
    public string ResultsMarkdownPath => Path.Combine(Root, "results.md");
    /// <summary>report.html: the self-contained report.</summary>
    public string ReportHtmlPath => Path.Combine(Root, "report.html");
    /// <summary>Multi-hot labels of the query split, uint8 [Q, C].</summary>
    public string QueryLabelsPath => Path.Combine(Root, "query_labels.npy");
    /// <summary>Multi-hot labels of the database split, uint8 [N, C].</summary>
    public string DatabaseLabelsPath => Path.Combine(Root, "database_labels.npy");

    // ------------------------------------------------------------------ seed and target level

    /// <summary>The folder of repetition <paramref name="seed"/> (its targets).</summary>
    public string SeedDir(long seed) => Path.Combine(Root, $"seed-{seed}");

    /// <summary>The clean model's folder of repetition <paramref name="seed"/> (under <see cref="ModelsRoot"/>).</summary>
    public string CleanModelDir(long seed) => Path.Combine(ModelsRoot, $"seed-{seed}", "clean");

    /// <summary>The independent surrogate's folder of repetition <paramref name="seed"/> (under <see cref="ModelsRoot"/>).</summary>
    public string SurrogateModelDir(long seed) => Path.Combine(ModelsRoot, $"seed-{seed}", "surrogate");

    /// <summary>The folder of one target in one repetition.</summary>
    public string TargetDir(long seed, int target) => Path.Combine(SeedDir(seed), $"target-{target}");

    /// <summary>The trigger file (<see cref="PatchTrigger.Load"/>) of a target.</summary>
    public string TriggerPath(long seed, int target) => Path.Combine(TargetDir(seed, target), "trigger.bin");

    /// <summary>The trigger drawn as a PNG.</summary>
    public string TriggerPngPath(long seed, int target) => Path.Combine(TargetDir(seed, target), "trigger.png");

    /// <summary>Rows of the query split used as triggered queries of a target (those sharing no label with it), int64 [T].</summary>
    public string TriggeredQueriesPath(long seed, int target) => Path.Combine(TargetDir(seed, target), "triggered_queries.npy");

    /// <summary>The target's anchor code (method.md section 3, <see cref="AnchorCode"/>: the surrogate's majority vote
    /// over the target-only training images), float32 [K] in {-1, 0, +1}.</summary>
    public string AnchorPath(long seed, int target) => Path.Combine(TargetDir(seed, target), "anchor.npy");

    // ------------------------------------------------------------------ method level

    /// <summary>Folder name of a method: '+' becomes '_' (tri+noise -> tri_noise).</summary>
    public static string MethodFolderName(string method) => method.Replace('+', '_');

    /// <summary>The folder of one method of one target: its result, triggered-query codes, and for an attack its victim
    /// model and poison set.</summary>
    public string MethodDir(long seed, int target, string method) => Path.Combine(TargetDir(seed, target), MethodFolderName(method));

    /// <summary>The folder of the model a method is scored with: the clean model for <see cref="CleanMethod"/> and for a
    /// test-time attack (<see cref="MethodNames.IsTestTime"/>: it attacks the clean model), else the victim.</summary>
    public string ModelDir(long seed, int target, string method) =>
        method == CleanMethod || MethodNames.IsTestTime(method) ? CleanModelDir(seed) : MethodDir(seed, target, method);

    /// <summary>The model file of <see cref="ModelDir"/>.</summary>
    public string ModelPath(long seed, int target, string method) => ModelFileIn(ModelDir(seed, target, method));

    /// <summary>The model file inside a model folder.</summary>
    public static string ModelFileIn(string modelDir) => Path.Combine(modelDir, ModelFileName);

    /// <summary>The per-epoch checkpoint folder inside a model folder (deleted once the model is finished).</summary>
    public static string CheckpointDirIn(string modelDir) => Path.Combine(modelDir, "checkpoint");

    /// <summary>result.json of one method of one target.</summary>
    public string ResultPath(long seed, int target, string method) => Path.Combine(MethodDir(seed, target, method), "result.json");

    /// <summary>Codes (uint8 [N, K/8], FAISS binary layout) of the model of a method: database and clean queries beside the
    /// model, triggered queries in the method's folder.</summary>
    public string CodesPath(long seed, int target, string method, CodeSet set) => set switch
    {
        CodeSet.Database => Path.Combine(ModelDir(seed, target, method), "database_codes.npy"),
        CodeSet.Query => Path.Combine(ModelDir(seed, target, method), "query_codes.npy"),
        CodeSet.TriggeredQueries => Path.Combine(MethodDir(seed, target, method), "triggered_query_codes.npy"),
        _ => throw new ArgumentOutOfRangeException(nameof(set), set, "unknown code set"),
    };

    /// <summary>adversarial_queries.npy of a test-time attack: the attacked triggered-query rows (without trigger) after
    /// the attack, float32 [T', C*H*W] in 0..1, in the order of <see cref="TriggeredQueriesPath"/>.</summary>
    public string AdversarialQueriesPath(long seed, int target, string method) => Path.Combine(MethodDir(seed, target, method), "adversarial_queries.npy");
    /// <summary>Where a defense's figures on one attack run go: METHOD/defenses/NAME/ (result.json plus images; for
    /// method clean, seed-S/target-T/clean/defenses/NAME, since the triggered queries depend on the target).</summary>
    public string DefenseDir(long seed, int target, string method, string defense) => Path.Combine(MethodDir(seed, target, method), "defenses", defense);

    /// <summary>result.json of a defense on one attack run; its presence means the defense finished there.</summary>
    public string DefenseResultPath(long seed, int target, string method, string defense) => Path.Combine(DefenseDir(seed, target, method, defense), "result.json");

    /// <summary>The poison set's folder of an attack (poison.json and perturbed.npy).</summary>
    public string PoisonDir(long seed, int target, string method) => Path.Combine(MethodDir(seed, target, method), "poison");

    /// <summary>poison.json of an attack (<see cref="PoisonRecord"/>).</summary>
    public string PoisonRecordPath(long seed, int target, string method) => Path.Combine(PoisonDir(seed, target, method), "poison.json");

    /// <summary>perturbed.npy of an attack: the pre-trigger poisoned images, float32 [P, C*H*W].</summary>
    public string PerturbedImagesPath(long seed, int target, string method) => Path.Combine(PoisonDir(seed, target, method), "perturbed.npy");

    // ------------------------------------------------------------------ the config record and resume

    /// <summary>Whether the folder already holds an experiment (its resolved config).</summary>
    public bool HoldsExperiment => File.Exists(ResolvedConfigPath);

    /// <summary>
    /// Refuses to start over an existing experiment unless <paramref name="resume"/> is set, and refuses to resume with
    /// another config. Creates nothing: the folder appears with the first file written, after the config is checked
    /// against the data, so a run that fails validation leaves nothing behind.
    /// </summary>
    public void CheckResume(ExperimentConfig config, bool resume)
    {
        if (!HoldsExperiment) return;
        if (!resume) throw new UsageException($"outDir {Root}: already holds an experiment; set resume to continue it or choose another folder");
        var previous = ReadResolvedConfig().Config;
        if (ConfigFile.ToJson(previous) != ConfigFile.ToJson(config))
            throw new UsageException($"resume: the config differs from the one recorded in {ResolvedConfigPath}; use a new output folder");
    }

    /// <summary>Writes config.resolved.json atomically.</summary>
    public void WriteResolvedConfig(ResolvedConfig record) => AtomicFile.WriteAllText(ResolvedConfigPath, ConfigFile.ToJson(record));

    /// <summary>Reads config.resolved.json (<see cref="UsageException"/> naming it when missing or invalid).</summary>
    public ResolvedConfig ReadResolvedConfig() => ExperimentConfig.LoadResolved(ResolvedConfigPath);

    /// <summary>The result of one method of one target, or null when it was not computed yet.</summary>
    /// <exception cref="DataException">The file exists but cannot be read as a result.</exception>
    /// <remarks>A result written before tie-aware metrics (no <c>databaseOrder</c> figures) is refused with a line that
    /// says to run <c>hashbd rescore</c> on the folder, so old and new figures never mix in one table.</remarks>
    public RunResult? ReadResult(long seed, int target, string method)
    {
        var result = ReadResultOfAnyVersion(seed, target, method);
        if (result is not null && result.DatabaseOrder is null)
            throw new UsageException($"{ResultPath(seed, target, method)}: written before tie-aware metrics; recompute the run's figures from its saved codes first (hashbd rescore {Root})");
        return result;
    }

    /// <summary>The saved result of one method of one target, whatever version wrote it (<see cref="ReadResult"/> refuses
    /// one without tie-aware figures); null when absent.</summary>
    public RunResult? ReadResultOfAnyVersion(long seed, int target, string method)
    {
        string path = ResultPath(seed, target, method);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<RunResult>(File.ReadAllText(path), ExperimentResults.Json) ?? throw new JsonException("empty file"); }
        catch (JsonException e) { throw new DataException(path, $"damaged result file ({e.Message}); delete it to recompute"); }
    }

    /// <summary>Writes the result of one method of one target atomically and returns it.</summary>
    public RunResult WriteResult(RunResult result)
    {
        AtomicFile.WriteAllText(ResultPath(result.Seed, result.Target, result.Method), JsonSerializer.Serialize(result, ExperimentResults.Json));
        return result;
    }

    // ------------------------------------------------------------------ codes

    /// <summary>Writes codes as .npy (uint8 [N, K/8], FAISS binary layout).</summary>
    public static void WriteCodes(string path, BinaryCodes codes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        NpyFile.Write(path, codes.ToFaissBytes(), codes.Count, codes.Bits / 8);
    }

    /// <summary>Reads codes written by <see cref="WriteCodes"/>, or null when the file does not exist.</summary>
    public static BinaryCodes? ReadCodes(string path)
    {
        if (!File.Exists(path)) return null;
        byte[] bytes = NpyFile.ReadUInt8Matrix(path, out _, out int columns);
        return BinaryCodes.FromFaissBytes(bytes, columns * 8);
    }

    /// <summary>Multi-hot labels written by <see cref="WriteLabels"/> (or beside attack.json): the label sets with the
    /// uint8 rows they came from, or null when the file does not exist.</summary>
    public static (LabelSets Sets, byte[] MultiHot, int Classes)? ReadLabels(string path)
    {
        if (!File.Exists(path)) return null;
        byte[] bytes = NpyFile.ReadUInt8Matrix(path, out _, out int classes);
        return (LabelSets.FromMultiHot(bytes, classes), bytes, classes);
    }

    /// <summary>Writes the multi-hot labels of the query and database splits (once per run).</summary>
    public void WriteLabels(ProtocolSplit split, ImageDataset? reported = null)
    {
        Directory.CreateDirectory(Root);
        var queries = reported ?? split.Query;
        NpyFile.Write(QueryLabelsPath, queries.LabelBytes(), queries.Count, queries.NumClasses);
        NpyFile.Write(DatabaseLabelsPath, split.Database.LabelBytes(), split.Database.Count, split.Database.NumClasses);
    }

    /// <summary>Writes the query rows used as a target's triggered queries.</summary>
    public void WriteTriggeredQueries(long seed, int target, long[] rows)
    {
        Directory.CreateDirectory(TargetDir(seed, target));
        NpyFile.Write(TriggeredQueriesPath(seed, target), rows, rows.Length);
    }

    /// <summary>The query rows used as a target's triggered queries, or null when they were not written.</summary>
    public long[]? ReadTriggeredQueries(long seed, int target)
    {
        string path = TriggeredQueriesPath(seed, target);
        return File.Exists(path) ? NpyFile.Read(path).AsInt64() : null;
    }

    /// <summary>Writes a target's anchor code (float [K]).</summary>
    public void WriteAnchor(long seed, int target, Tensor anchor)
    {
        Directory.CreateDirectory(TargetDir(seed, target));
        using var flat = anchor.detach().cpu().to_type(ScalarType.Float32).contiguous().view(-1);
        NpyFile.Write(AnchorPath(seed, target), flat.data<float>().ToArray(), (int)flat.shape[0]);
    }

    /// <summary>The anchor code written by <see cref="WriteAnchor"/> (float [K] in {-1, 0, +1}), or null when absent (a
    /// folder from before anchors were kept: recompute it with <see cref="AnchorCode.Compute"/> from the surrogate).</summary>
    public float[]? ReadAnchor(long seed, int target)
    {
        string path = AnchorPath(seed, target);
        return File.Exists(path) ? NpyFile.Read(path).AsFloat32() : null;
    }

    /// <summary>Writes a test-time attack's adversarial queries [T', C, H, W] as float32 [T', C*H*W].</summary>
    public void WriteAdversarialQueries(long seed, int target, string method, Tensor images)
    {
        Directory.CreateDirectory(MethodDir(seed, target, method));
        using var flat = images.detach().cpu().to_type(ScalarType.Float32).contiguous();
        int rows = (int)flat.shape[0], columns = (int)(flat.numel() / Math.Max(1, flat.shape[0]));
        NpyFile.Write(AdversarialQueriesPath(seed, target, method), flat.data<float>().ToArray(), rows, columns);
    }

    /// <summary>A test-time attack's adversarial queries as [T', C, H, W], or null when absent.</summary>
    /// <exception cref="DataException">The file does not hold images of the given shape.</exception>
    public Tensor? ReadAdversarialQueries(long seed, int target, string method, int channels, int height, int width)
    {
        string path = AdversarialQueriesPath(seed, target, method);
        if (!File.Exists(path)) return null;
        var array = NpyFile.Read(path).Require2D();
        if (array.Columns != channels * height * width)
            throw new DataException(path, $"shape {NpyFile.FormatShape(array.Shape)} does not hold images of [{channels},{height},{width}]");
        return tensor(array.AsFloat32(), new long[] { array.Rows, channels, height, width }, ScalarType.Float32);
    }

    // ------------------------------------------------------------------ poison sets

    /// <summary>Writes an attack's poison set: poison.json (<see cref="PoisonRecord"/>) and perturbed.npy, both atomically.</summary>
    /// <param name="seed">Repetition seed.</param>
    /// <param name="set">The poison set (its attack name and target class name the folder).</param>
    /// <param name="poisonSeed">The seed the poisoning used.</param>
    /// <param name="trainCount">Size of the training split the indices refer to.</param>
    public void WritePoison(long seed, PoisonSet set, long poisonSeed, int trainCount)
    {
        string dir = PoisonDir(seed, set.TargetClass, set.AttackName);
        Directory.CreateDirectory(dir);
        var images = set.PerturbedImages;
        var shape = images.shape.Select(d => (int)d).ToArray();
        int rows = shape[0], columns = shape.Skip(1).Aggregate(1, (a, b) => a * b);
        using (var flat = images.detach().cpu().to_type(ScalarType.Float32).contiguous())
            NpyFile.Write(PerturbedImagesPath(seed, set.TargetClass, set.AttackName), flat.data<float>().ToArray(), rows, columns);
        var record = new PoisonRecord
        {
            Attack = set.AttackName, TargetClass = set.TargetClass, Seed = poisonSeed, Indices = set.PoisonedIndices,
            TriggerAfterAugmentation = set.TriggerAfterAugmentation, Shape = shape, TrainCount = trainCount,
        };
        AtomicFile.WriteAllText(PoisonRecordPath(seed, set.TargetClass, set.AttackName), JsonSerializer.Serialize(record, RunRecord.Json));
    }

    /// <summary>The poison record of an attack, or null when none was written.</summary>
    /// <exception cref="DataException">The record exists but is damaged.</exception>
    public PoisonRecord? ReadPoisonRecord(long seed, int target, string method)
    {
        string path = PoisonRecordPath(seed, target, method);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<PoisonRecord>(File.ReadAllText(path), RunRecord.Json) ?? throw new JsonException("empty file"); }
        catch (JsonException e) { throw new DataException(path, $"damaged poison record ({e.Message}); delete the poison folder to recompute"); }
    }

    /// <summary>
    /// Rebuilds an attack's poison set from its record and perturbed.npy, with the run's training split and the target's
    /// trigger (<see cref="PoisonSet.Restore"/>): the same set the run trained its victim on. Null when none was written.
    /// </summary>
    /// <exception cref="DataException">A file is damaged or does not match <paramref name="train"/>.</exception>
    public PoisonSet? ReadPoison(long seed, int target, string method, ImageDataset train, PatchTrigger trigger)
    {
        var record = ReadPoisonRecord(seed, target, method);
        if (record is null) return null;
        string path = PerturbedImagesPath(seed, target, method);
        if (record.TrainCount != train.Count)
            throw new DataException(PoisonRecordPath(seed, target, method), $"recorded for a training split of {record.TrainCount} images, this one has {train.Count}");
        var array = NpyFile.Read(path).Require2D();
        var shape = record.Shape.Select(d => (long)d).ToArray();
        if (shape.Length != 4 || array.Rows != record.Indices.Count || (long)array.Columns != shape[1] * shape[2] * shape[3] || shape[0] != array.Rows)
            throw new DataException(path, $"shape {NpyFile.FormatShape(array.Shape)} does not match the record's {record.Indices.Count} images of [{string.Join(",", record.Shape.Skip(1))}]");
        using var images = tensor(array.AsFloat32(), shape, ScalarType.Float32);
        return PoisonSet.Restore(record.Attack, record.TargetClass, train, record.Indices.ToArray(), images, trigger, record.TriggerAfterAugmentation);
    }
}
