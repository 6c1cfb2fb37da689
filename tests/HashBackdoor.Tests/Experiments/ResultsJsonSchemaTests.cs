using System.Text.Json;
using System.Text.Json.Nodes;
using HashBackdoor.Attacks;
using HashBackdoor.Experiments;
using HashBackdoor.Experiments.Statistics;

namespace HashBackdoor.Tests.Experiments;

/// <summary>results.json: one casing (camelCase) and a schema version; the files of older runs (schema 1, PascalCase
/// inside comparisons, triggerEffect, perturbation, poisoned) still read.</summary>
public sealed class ResultsJsonSchemaTests
{
    /// <summary>A results.json as runs before schema 2 wrote it (cut down from docs/results/default/results.json).</summary>
    private const string SchemaOne = """
    {
      "protocol": { "dataset": "Fashion-MNIST", "R": 1000 },
      "runs": [
        {
          "target": 8, "targetName": "Bag", "seed": 0, "method": "ciba", "mAP": 83.729, "tMAP": 84.8925,
          "tMAPQueriesCounted": 820, "tMAPQueriesTotal": 900, "tMAPOtherRule": 77.3465, "seconds": 62.2, "tMAPUntriggered": 0.6857,
          "triggerEffect": { "Bits": 48, "Images": 100, "DistanceBefore": 23.5, "DistanceAfter": 4.25 },
          "perturbation": { "Images": 200, "LInf": 0.03137257695198059, "MeanL2": 0.6420596870963168, "MeanPsnr": 32.80287214994644, "MeanSsim": 0.9536843197364866, "Identical": 0 },
          "poisoned": { "Images": 200, "LInf": 1, "MeanL2": 2.8174905696643595, "MeanPsnr": null, "MeanSsim": 0.9523277488406511, "Identical": 3 }
        }
      ],
      "summary": [ { "method": "ciba", "mAP": 83.729, "mAPStd": 0, "tMAP": 84.8925, "tMAPStd": 0, "runs": 1 } ],
      "comparisons": [
        { "Method": "ciba", "Against": "clean", "Metric": "tMAP", "Blocks": 3, "MeanDifference": 65.0285, "Lower": 53.950700000000005,
          "Upper": 83.6165, "Wins": 3, "PValue": 0.25, "ExactP": true, "Significant": false, "Verdict": "no significant difference" }
      ]
    }
    """;

    [Fact]
    public void AnOlderResultsFileStillReads()
    {
        var r = JsonSerializer.Deserialize<ExperimentResults>(SchemaOne, ExperimentResults.Json)!;
        Assert.Equal(1, r.SchemaVersion);
        var run = Assert.Single(r.Runs);
        Assert.Equal((8, "Bag", "ciba", 83.729, 84.8925, 820, 900), (run.Target, run.TargetName, run.Method, run.Map, run.TMap, run.TMapQueriesCounted, run.TMapQueriesTotal));
        Assert.Equal(new TriggerEffect { Bits = 48, Images = 100, DistanceBefore = 23.5, DistanceAfter = 4.25 }, run.TriggerEffect);
        Assert.Equal(new Perceptibility { Images = 200, LInf = 0.03137257695198059, MeanL2 = 0.6420596870963168, MeanPsnr = 32.80287214994644, MeanSsim = 0.9536843197364866 }, run.Perturbation);
        Assert.Equal((200, 1.0, (double?)null, 3), (run.Poisoned!.Images, run.Poisoned.LInf, run.Poisoned.MeanPsnr, run.Poisoned.Identical));
        var c = Assert.Single(r.Comparisons);
        Assert.Equal(("ciba", "clean", "tMAP", 3, 65.0285, 53.950700000000005, 83.6165, 3, 0.25, true),
            (c.Method, c.Against, c.Metric, c.Blocks, c.MeanDifference, c.Lower, c.Upper, c.Wins, c.PValue, c.ExactP));
        Assert.Equal("no significant difference", c.Verdict);
        Assert.Equal(1000, ((JsonElement)r.Protocol["R"]!).GetInt32());
    }

    [Fact]
    public void ResultsAreWrittenInCamelCaseWithTheSchemaVersion()
    {
        var old = JsonSerializer.Deserialize<ExperimentResults>(SchemaOne, ExperimentResults.Json)!;
        string json = JsonSerializer.Serialize(old with { SchemaVersion = ExperimentResults.CurrentSchemaVersion }, ExperimentResults.Json);
        var root = JsonNode.Parse(json)!.AsObject();
        Assert.Equal("schemaVersion", root.First().Key);
        Assert.Equal(2, root["schemaVersion"]!.GetValue<int>());
        var keys = new List<string>();
        void Walk(JsonNode? n, bool dictionary)
        {
            if (n is JsonObject o)
                foreach (var (k, v) in o) { if (!dictionary) keys.Add(k); Walk(v, k == "protocol"); }
            else if (n is JsonArray a)
                foreach (var v in a) Walk(v, false);
        }
        Walk(root, false);
        Assert.Contains("distanceAfter", keys);
        Assert.Contains("meanDifference", keys);
        Assert.Contains("lInf", keys);
        Assert.All(keys, k => Assert.True(char.IsLower(k[0]), $"key '{k}' is not camelCase"));
        // Round trip: the new file reads back to the same content.
        var again = JsonSerializer.Deserialize<ExperimentResults>(json, ExperimentResults.Json)!;
        Assert.Equal(json, JsonSerializer.Serialize(again, ExperimentResults.Json));
    }
}
