// Research driver (not part of the product): CIBA variants at the paper's budgets, scored on VALIDATION queries only
// (docs/results.md section 2.2). Each variant line becomes one JSON record in OUTDIR/results.jsonl.
// usage: research OUTDIR seed target variant[,variant...]
//   variants: key=value;key=value  e.g. "method=ciba;lambda=0.8;tsize=4;tsteps=2000;eps=8;count=200"
using System.Diagnostics;
using System.Text.Json;
using HashBackdoor;
using HashBackdoor.Attacks;
using HashBackdoor.Data;
using HashBackdoor.Experiments;
using HashBackdoor.Hashing;
using HashBackdoor.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

TorchRuntime.Configure();
string outDir = args[0];
long seed = long.Parse(args[1]);
int[] targets = args[2].Split(',').Select(int.Parse).ToArray();
var variants = args.Skip(3).ToArray();
Directory.CreateDirectory(outDir);
var device = CPU;
using var data = DatasetCatalog.Load("fashion-mnist");
using var split = RetrievalProtocol.Apply(data, new ProtocolOptions { QueryPerClass = 100, TrainPerClass = 500, ValidationPerClass = 100, Seed = 0 });
var val = split.Validation!;
Console.WriteLine($"train {split.Train.Count} val {val.Count} db {split.Database.Count}");
var spec = new HashModelSpec("small-cnn", 48, 1, 28, 28, 10).Validate();

HashTrainerOptions Recipe(string loss, long s) => new() { Loss = loss, Epochs = 10, BatchSize = 64, Optimizer = "adam", LearningRate = 1e-3, Schedule = "cosine", Augmentation = "flip", Seed = s };

HashModel Model(string name, HashTrainerOptions o, ImageDataset train, TrainingSetPlan? plan = null, string arch = "small-cnn")
{
    string path = Path.Combine(outDir, "models", name + ".hbm");
    var sp = spec with { Architecture = arch };
    if (File.Exists(path)) return ModelFile.Load(path, sp).Model;
    var sw = Stopwatch.StartNew();
    var m = TrainPipeline.Train(sp, o, train, device, null, false, RunProgress.None, name, plan);
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    ModelFile.Save(path, m, new ModelMetadata { Spec = sp, Loss = o.Loss, EpochsTrained = o.Epochs, Seed = o.Seed });
    Console.WriteLine($"  trained {name} in {sw.Elapsed.TotalSeconds:F0}s");
    return m;
}

var dbCache = new Dictionary<string, EncodedSet>();
EncodedSet Db(string key, HashModel m) => dbCache.TryGetValue(key, out var e) ? e : dbCache[key] = EvaluatePipeline.Encode(m, split.Database, RunProgress.None, "db");

ImageDataset NonTarget(ImageDataset q, int target)
{
    using var keep = q.Labels.select(1, target).eq(0).nonzero().squeeze(1);
    return q.Subset(keep.data<long>().ToArray());
}

(double skip, double zero, int counted, double meanDist) TMap(HashModel m, EncodedSet db, ImageDataset queries, int target, PatchTrigger? trig, Tensor? anchor)
{
    var q = EvaluatePipeline.Encode(m, queries, RunProgress.None, "q", trig is null ? null : x => trig.Paste(x));
    var lab = LabelSets.Repeat(target, q.Codes.Count, 10);
    var r = RetrievalMetrics.MeanAveragePrecision(new HammingIndex(db.Codes), q.Codes, lab, db.Labels, 1000, QueryRule.Skip);
    double md = double.NaN;
    if (anchor is not null)
    {
        using var signs = HashEncoder.Encode(m, queries.Images, 500, trig is null ? null : x => trig.Paste(x), device);
        using var d = signs.ne(anchor.unsqueeze(0)).sum(1).to_type(ScalarType.Float64).mean();
        md = d.item<double>();
    }
    return (r.Percent, r.Under(QueryRule.Zero).Percent, r.QueriesCounted, md);
}

double Map(HashModel m, EncodedSet db)
{
    var q = EvaluatePipeline.Encode(m, val, RunProgress.None, "v");
    return RetrievalMetrics.MeanAveragePrecision(new HammingIndex(db.Codes), q.Codes, q.Labels, db.Labels, 1000, QueryRule.Skip).Percent;
}

Dictionary<string, string> Parse(string v) => v.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=')).ToDictionary(a => a[0], a => a[1]);
string Get(Dictionary<string, string> d, string k, string def) => d.TryGetValue(k, out var x) ? x : def;

string victimLossDefault = "csq";
foreach (int target in targets)
{
    foreach (var vs in variants)
    {
        var v = Parse(vs);
        var sw = Stopwatch.StartNew();
        string vloss = Get(v, "vloss", victimLossDefault), sloss = Get(v, "sloss", "csq");
        string varch = Get(v, "varch", "small-cnn"), sarch = Get(v, "sarch", "small-cnn");
        string sur = Get(v, "sur", "indep");
        long surSeed = sur == "twin" ? seed : seed + 1_000_003;
        using var clean = Model($"clean-{vloss}-{varch}-s{seed}", Recipe(vloss, seed), split.Train, null, varch);
        using var surrogate = Model($"clean-{sloss}-{sarch}-s{surSeed}", Recipe(sloss, surSeed), split.Train, null, sarch);
        var cleanDb = Db($"clean-{vloss}-{varch}-s{seed}", clean);
        using var surTrain = HashEncoder.Encode(surrogate, split.Train.Images, 500, null, device);
        using var anchor = AnchorCode.Compute(surTrain, split.Train.Labels, target);
        var topt = new TriggerOptions
        {
            Size = int.Parse(Get(v, "tsize", "4")), Steps = int.Parse(Get(v, "tsteps", "2000")),
            Alpha = double.Parse(Get(v, "talpha", "12")) / 255, Seed = seed * 1000 + target, InitValue = double.Parse(Get(v, "tinit", "0.5")),
        };
        string tpat = Get(v, "tpattern", "opt");
        if (tpat == "checkeropt") { topt = topt with { Init = TriggerInit.Checkerboard }; tpat = "opt"; }
        string tkey = tpat != "opt" ? $"fixed-{tpat}-P{topt.Size}" : $"trig-s{seed}-t{target}-{sloss}-{sarch}-{surSeed}-P{topt.Size}-n{topt.Steps}-a{Get(v, "talpha", "12")}-i{topt.InitValue}{(topt.Init == TriggerInit.Checkerboard ? "-checker" : "")}";
        string tpath = Path.Combine(outDir, "triggers", tkey + ".bin");
        PatchTrigger trigger;
        if (File.Exists(tpath)) trigger = PatchTrigger.Load(tpath);
        else if (tpat == "checker")
        {
            var vals = new float[topt.Size * topt.Size];
            for (int i = 0; i < topt.Size; i++) for (int j = 0; j < topt.Size; j++) vals[i * topt.Size + j] = (i + j) % 2 == 0 ? 1f : 0f;
            trigger = new PatchTrigger(tensor(vals, new long[] { 1, topt.Size, topt.Size }));
        }
        else if (tpat == "white") trigger = PatchTrigger.Constant(1, topt.Size, 1.0);
        else
        {
            var tsw = Stopwatch.StartNew();
            trigger = new TriggerOptimizer(topt).Optimize(surrogate, split.Train.Images, anchor);
            Directory.CreateDirectory(Path.GetDirectoryName(tpath)!);
            trigger.Save(Path.ChangeExtension(tpath, ".png"), tpath, 8);
            Console.WriteLine($"  trigger {tkey} {tsw.Elapsed.TotalSeconds:F0}s");
        }
        using var trig = trigger;
        using var nonTarget = NonTarget(val, target);
        var res = new Dictionary<string, object> { ["seed"] = seed, ["target"] = target, ["variant"] = vs };
        // controls: trigger alone on surrogate and on clean twin
        var surDb = Db($"clean-{sloss}-{sarch}-s{surSeed}", surrogate);
        var grey = PatchTrigger.Constant(1, topt.Size, 0.5);
        var ts0 = TMap(surrogate, surDb, nonTarget, target, grey, anchor);
        var ts = TMap(surrogate, surDb, nonTarget, target, trig, anchor);
        var tc = TMap(clean, cleanDb, nonTarget, target, trig, null);
        res["surrogate_dist_grey"] = ts0.meanDist; res["surrogate_dist_trig"] = ts.meanDist; res["surrogate_tmap_trig"] = ts.skip;
        res["clean_tmap_trig"] = tc.skip; res["clean_tmap_trig_zero"] = tc.zero;
        string method = Get(v, "method", "none");
        if (method != "none")
        {
            var popt = new PoisonOptions
            {
                TargetClass = target, Count = int.Parse(Get(v, "count", "200")), Seed = seed * 1000 + target,
                Perturbation = new PerturbationOptions
                {
                    Epsilon = double.Parse(Get(v, "eps", "8")) / 255, StepSize = double.Parse(Get(v, "step", "0.765")) / 255,
                    Rounds = int.Parse(Get(v, "rounds", "20")), Lambda = double.Parse(Get(v, "lambda", "0.8")), GroupSize = int.Parse(Get(v, "group", "20")),
                },
            };
            using var poison = PoisoningAttacks.Create(method).Poison(split.Train, new PoisonContext(popt, trig, surrogate));
            string vname = $"victim-s{seed}-t{target}-" + string.Join("_", vs.Split(';')).Replace("=", "");
            using var victim = Model(vname, Recipe(vloss, seed), poison.Dataset, poison.Plan, varch);
            var db = EvaluatePipeline.Encode(victim, split.Database, RunProgress.None, "db");
            var tv = TMap(victim, db, nonTarget, target, trig, anchor);
            var tv0 = TMap(victim, db, nonTarget, target, null, null);
            res["victim_map"] = Map(victim, db); res["victim_tmap"] = tv.skip; res["victim_tmap_zero"] = tv.zero; res["victim_counted"] = tv.counted;
            res["victim_dist_anchor"] = tv.meanDist; res["victim_tmap_untriggered"] = tv0.skip;
        }
        res["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1);
        string line = JsonSerializer.Serialize(res);
        Console.WriteLine(line);
        File.AppendAllText(Path.Combine(outDir, "results.jsonl"), line + "\n");
    }
}
