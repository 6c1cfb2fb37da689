using HashBackdoor.Browser;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace HashBackdoor.Tests.Serve;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, installed by .ci/run) in headless mode, driven over the DevTools protocol
/// through one page's WebSocket: navigate, evaluate JavaScript, wait for a condition, take a screenshot. Nothing is
/// downloaded: the flags turn off every background connection, and the profile is a new empty folder.
/// </summary>
internal sealed class HeadlessChromium : IDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private readonly Process process;
    private readonly string profile;
    private readonly ClientWebSocket socket = new();
    private int nextId;

    private HeadlessChromium(Process process, string profile)
    {
        this.process = process;
        this.profile = profile;
    }

    /// <summary>Starts Chromium with an empty profile and connects to its first page. Fails (not skips) when Chromium
    /// is missing: CI installs it.</summary>
    public static HeadlessChromium Start(int width = 1280, int height = 900)
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: install Debian's chromium package (apt-get install -y chromium; .ci/run does)");
        string profile = Directory.CreateTempSubdirectory("hbd-chromium-").FullName;
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile}", $"--window-size={width},{height}", "about:blank",
        }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var chromium = new HeadlessChromium(process, profile);
        try
        {
            chromium.Connect();
            return chromium;
        }
        catch
        {
            chromium.Dispose();
            throw;
        }
    }

    private void Connect()
    {
        // Chromium writes the port it chose into the profile: "PORT\n/devtools/browser/ID".
        string portFile = Path.Combine(profile, "DevToolsActivePort");
        var sw = Stopwatch.StartNew();
        while (!File.Exists(portFile) || File.ReadAllLines(portFile).Length < 2)
        {
            if (process.HasExited) throw new InvalidOperationException($"chromium exited with code {process.ExitCode} before opening its DevTools port");
            if (sw.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("chromium did not open its DevTools port in 60 s");
            Thread.Sleep(100);
        }
        int port = int.Parse(File.ReadAllLines(portFile)[0]);
        using var http = new HttpClient();
        string? ws = null;
        while (ws is null)
        {
            var list = JsonNode.Parse(http.GetStringAsync($"http://127.0.0.1:{port}/json/list").GetAwaiter().GetResult())!.AsArray();
            ws = list.FirstOrDefault(t => t!["type"]!.GetValue<string>() == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
            if (ws is null)
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("chromium opened no page");
                Thread.Sleep(100);
            }
        }
        socket.ConnectAsync(new Uri(ws), CancellationToken.None).GetAwaiter().GetResult();
        Call("Page.enable");
        Call("Runtime.enable");
    }

    /// <summary>Sends one DevTools command and returns its result (events in between are skipped).</summary>
    public JsonNode Call(string method, JsonObject? parameters = null)
    {
        int id = ++nextId;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token).GetAwaiter().GetResult();
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var ms = new MemoryStream();
            WebSocketReceiveResult r;
            do
            {
                r = socket.ReceiveAsync(buffer, timeout.Token).GetAwaiter().GetResult();
                ms.Write(buffer, 0, r.Count);
            } while (!r.EndOfMessage);
            var reply = JsonNode.Parse(ms.ToArray())!;
            if (reply["id"]?.GetValue<int>() != id) continue;
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }
    }

    /// <summary>Opens <paramref name="url"/> in the page.</summary>
    public void Navigate(string url) => Call("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>Evaluates a JavaScript expression in the page (promises awaited) and returns its value as JSON.</summary>
    public JsonNode? Evaluate(string expression)
    {
        var result = Call("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is { } ex) throw new InvalidOperationException($"{expression}: {ex.ToJsonString()}");
        return result["result"]!["value"];
    }

    /// <summary>Polls <paramref name="condition"/> (a JavaScript expression) until it is true; fails after the timeout.</summary>
    public void WaitFor(string condition, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        while (true)
        {
            JsonNode? v = null;
            try { v = Evaluate($"Boolean({condition})"); }
            catch (InvalidOperationException) { } // the document may be between pages
            if (v?.GetValue<bool>() == true) return;
            if (sw.Elapsed > limit) throw new TimeoutException($"the page did not reach {condition} in {limit.TotalSeconds} s");
            Thread.Sleep(100);
        }
    }

    /// <summary>A PNG screenshot of the whole page.</summary>
    public byte[] Screenshot()
    {
        var result = Call("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    public void Dispose()
    {
        try { socket.Dispose(); } catch (Exception) { }
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        process.Dispose();
        try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
