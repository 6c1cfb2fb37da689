using HashBackdoor.Browser;
using System.CommandLine;
using HashBackdoor.Experiments;

namespace HashBackdoor.Cli.Commands;

/// <summary><c>hashbd serve</c>: a local web page over a finished experiment run folder (loopback only).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Experiment run folder (written by hashbd experiment --out)", Required = true };
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (0: any free port)", DefaultValueFactory = _ => 0 };
        var device = CommonOptions.Device();
        var cmd = new Command("serve", "Browse a finished run in a web page on 127.0.0.1: queries, trigger on/off, clean or victim model, top-k retrieval, the report") { run, port, device };
        cmd.SetAction(p =>
        {
            using var browser = RunBrowser.Open(p.GetValue(run)!, p.GetValue(device)!);
            var server = RunBrowserServer.StartAsync(browser, p.GetValue(port)).GetAwaiter().GetResult();
            try
            {
                Console.WriteLine($"serving {browser.Files.Root} at {server.Url} (read-only; Ctrl+C to stop)");
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(CliRunner.Cancel, server.Stopping);
                stop.Token.WaitHandle.WaitOne();
            }
            finally
            {
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            return 0;
        });
        return cmd;
    }
}
