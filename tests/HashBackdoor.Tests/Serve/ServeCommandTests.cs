using System.Net;
using System.Net.Sockets;
using HashBackdoor.Tests.Reliability;

namespace HashBackdoor.Tests.Serve;

/// <summary><c>hashbd serve</c> failures before serving: one line naming the flag, exit code 2 (usage).</summary>
[Collection("serve")]
public class ServeCommandTests
{
    private readonly ServedTinyRun run;

    public ServeCommandTests(ServedTinyRun run) => this.run = run;

    [Fact]
    public void MissingRunFolderIsAUsageError()
    {
        string dir = Path.Combine(run.Scratch, "no-such-run");
        var r = Hashbd.Run("serve", "--run", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"hashbd: error: --run {dir}: folder not found", r.SingleErrorLine());
    }

    [Fact]
    public void FolderWithoutAnExperimentIsAUsageError()
    {
        var r = Hashbd.Run("serve", "--run", run.Scratch);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"hashbd: error: --run {run.Scratch}: no config.resolved.json; not the output folder of an experiment", r.SingleErrorLine());
    }

    [Fact]
    public void PortOutOfRangeIsAUsageError()
    {
        var r = Hashbd.Run("serve", "--run", run.RunDir, "--port", "70000");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("hashbd: error: --port 70000: expected 0 (any free port) to 65535", r.SingleErrorLine());
    }

    [Fact]
    public void PortInUseIsAUsageErrorNamingThePort()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var r = Hashbd.Run("serve", "--run", run.RunDir, "--port", port.ToString());
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"hashbd: error: --port {port}: cannot listen on 127.0.0.1:{port} (", r.SingleErrorLine());
    }
}
