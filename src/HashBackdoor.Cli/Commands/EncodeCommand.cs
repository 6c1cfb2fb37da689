using System.CommandLine;
using HashBackdoor.Experiments;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd encode</c>: codes of one split as .npy (FAISS binary layout).</summary>
internal static class EncodeCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelDir();
        var split = new Option<string>("--split") { Description = "query, database or train", DefaultValueFactory = _ => "database" };
        var device = CommonOptions.Device();
        var outFile = CommonOptions.Out("Output .npy file (uint8 [N, K/8])");
        var cmd = new Command("encode", "Encode one split of the run's protocol to binary codes") { model, split, device, outFile };
        cmd.SetAction(p =>
        {
            SpectreProgress.Run(progress => EncodePipeline.Run(p.GetValue(model)!, p.GetValue(split)!, p.GetValue(outFile)!, p.GetValue(device)!, progress));
            return 0;
        });
        return cmd;
    }
}
