using System.CommandLine;
using HashBackdoor.Experiments;
using HashBackdoor.Retrieval;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd evaluate</c>: retrieval metrics of a trained model on its protocol.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelDir();
        var topk = new Option<int>("--topk") { Description = "R of mAP@R", DefaultValueFactory = _ => 1000 };
        var rule = new Option<string>("--query-rule") { Description = "skip (reference: ignore queries with no relevant item in the top R) or zero (DeepHash-pytorch: count them as 0)", DefaultValueFactory = _ => "skip" };
        var device = CommonOptions.Device();
        var outDir = CommonOptions.Out("Folder for metrics.json and the .npy codes and labels");
        var cmd = new Command("evaluate", "Encode query and database, rank by Hamming distance, write metrics.json and codes") { model, topk, rule, device, outDir };
        cmd.SetAction(p =>
        {
            var options = new EvaluateOptions
            {
                TopK = p.GetValue(topk), Rule = ConfigEnumConverter.Parse<QueryRule>(p.GetValue(rule)!, "evaluation.queryRule"), Device = p.GetValue(device)!,
            };
            SpectreProgress.Run(progress => EvaluatePipeline.Run(p.GetValue(model)!, p.GetValue(outDir)!, options, progress));
            return 0;
        });
        return cmd;
    }
}
