using HashBackdoor.Browser;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace HashBackdoor.Tests.Serve;

/// <summary>
/// <c>hashbd serve</c> over a tiny experiment run: the page in headless Chromium (loads, shows the ranking the
/// reference computes, and pasting the trigger changes the retrieved images of the backdoored model), the JSON API
/// against the reference ranking, and refusals: path traversal in every spelling, bad parameters and other methods
/// get a 4xx with a one-line JSON error, never a stack trace or a file from outside the run folder.
/// </summary>
[Collection("serve")]
public class RunBrowserServerTests
{
    private readonly ServedTinyRun run;

    public RunBrowserServerTests(ServedTinyRun run) => this.run = run;

    private Uri Url => run.Server.Url;

    /// <summary>The first query of a non-target class whose top-k under <paramref name="model"/> changes when the
    /// trigger is pasted (reference computation).</summary>
    private int QueryWhoseTopChanges(string model, int k)
    {
        int[] labels = run.Split.Query.Labels.argmax(1).to_type(TorchSharp.torch.ScalarType.Int32).data<int>().ToArray();
        for (int q = 0; q < labels.Length; q++)
        {
            if (labels[q] == 0) continue;
            if (!run.ReferenceTop(model, q, false, k).Index.SequenceEqual(run.ReferenceTop(model, q, true, k).Index)) return q;
        }
        return -1;
    }

    private static long[] Indices(JsonNode? v) => v!.AsArray().Select(n => long.Parse(n!.GetValue<string>())).ToArray();

    [Fact]
    public void PageLoadsAndPastingTheTriggerChangesTheBackdooredModelsResults()
    {
        const int k = 10;
        int q = QueryWhoseTopChanges("ciba", k);
        Assert.True(q >= 0, "the trigger changes no non-target query's top-10 under the ciba victim");
        var plain = run.ReferenceTop("ciba", q, false, k);
        var triggered = run.ReferenceTop("ciba", q, true, k);
        var cleanTriggered = run.ReferenceTop("clean", q, true, k);

        using var chromium = HeadlessChromium.Start();
        chromium.Navigate(new Uri(Url, $"?seed=0&target=0&model=ciba&query={q}&trigger=0&k={k}").ToString());
        chromium.WaitFor("document.body && document.body.dataset.state === 'ready'");
        Assert.Equal("CIBA experiment 'tiny' on synthetic/q4-t8", chromium.Evaluate("document.getElementById('title').textContent")!.GetValue<string>());
        Assert.False(chromium.Evaluate("document.getElementById('trigger').checked")!.GetValue<bool>());
        const string items = "Array.from(document.querySelectorAll('#results li'))";
        Assert.Equal(plain.Index, Indices(chromium.Evaluate($"{items}.map(li => li.dataset.index)")));
        Assert.Equal(plain.Distance.Select(d => (long)d), Indices(chromium.Evaluate($"{items}.map(li => li.dataset.distance)")));
        // Every thumbnail is a decoded image, not a broken link.
        Assert.True(chromium.Evaluate($"{items}.every(li => li.querySelector('img').complete && li.querySelector('img').naturalWidth > 0)")!.GetValue<bool>());

        // Tick "paste the trigger" as a user would: the view is fetched again and the ranking is the triggered one.
        chromium.Evaluate("document.getElementById('trigger').click()");
        chromium.WaitFor("document.body.dataset.state === 'ready' && document.body.dataset.view.includes('trigger=1')");
        long[] shown = Indices(chromium.Evaluate($"{items}.map(li => li.dataset.index)"));
        Assert.Equal(triggered.Index, shown);
        Assert.NotEqual(plain.Index, shown);
        Assert.EndsWith("+ trigger", chromium.Evaluate("document.getElementById('queryCaption').textContent")!.GetValue<string>());
        Assert.Contains("trigger=1", chromium.Evaluate("location.search")!.GetValue<string>());

        // Another model from the list: the clean model with the same triggered query.
        chromium.Evaluate("(() => { const s = document.getElementById('model'); s.value = 'clean'; s.dispatchEvent(new Event('change')); })()");
        chromium.WaitFor("document.body.dataset.state === 'ready' && document.body.dataset.view.includes('model=clean')");
        Assert.Equal(cleanTriggered.Index, Indices(chromium.Evaluate($"{items}.map(li => li.dataset.index)")));

        // The run's tables and charts: report.html in the frame below.
        chromium.WaitFor("document.getElementById('report').contentDocument && document.getElementById('report').contentDocument.querySelector('table.results')");
        Assert.True(chromium.Evaluate("document.getElementById('report').contentDocument.querySelectorAll('img').length")!.GetValue<int>() >= 2);
    }

    [Fact]
    public async Task ApiSearchReturnsTheReferenceRankingForEveryModelAndTriggerState()
    {
        using var http = new HttpClient();
        var summary = JsonNode.Parse(await http.GetStringAsync(new Uri(Url, "api/run")))!;
        Assert.Equal(new[] { "clean", "tri", "ciba" }, summary["models"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(new[] { "0/0/clean", "0/0/tri", "0/0/ciba" }, summary["available"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(12, summary["queryLabels"]!.AsArray().Count);
        Assert.Equal(60, summary["databaseCount"]!.GetValue<int>());
        Assert.Equal(3, summary["runs"]!.AsArray().Count);

        int[] dbLabels = run.Split.Database.Labels.argmax(1).to_type(TorchSharp.torch.ScalarType.Int32).data<int>().ToArray();
        foreach (string model in new[] { "clean", "tri", "ciba" })
            foreach (bool trigger in new[] { false, true })
                foreach (int q in new[] { 0, 7 })
                {
                    var view = JsonNode.Parse(await http.GetStringAsync(new Uri(Url, $"api/search?seed=0&target=0&model={model}&query={q}&trigger={(trigger ? 1 : 0)}&k=15")))!;
                    var reference = run.ReferenceTop(model, q, trigger, 15);
                    var results = view["results"]!.AsArray();
                    Assert.Equal(reference.Index, results.Select(r => r!["index"]!.GetValue<long>()));
                    Assert.Equal(reference.Distance, results.Select(r => r!["distance"]!.GetValue<int>()));
                    Assert.Equal(Enumerable.Range(1, 15), results.Select(r => r!["rank"]!.GetValue<int>()));
                    foreach (var r in results)
                    {
                        int label = dbLabels[r!["index"]!.GetValue<long>()];
                        Assert.Equal(new[] { label }, r["labels"]!.AsArray().Select(n => n!.GetValue<int>()));
                        Assert.Equal(label == 0, r["isTarget"]!.GetValue<bool>());
                        Assert.StartsWith("data:image/png;base64,iVBORw0KGgo", r["image"]!.GetValue<string>());
                    }
                    Assert.Equal(results.Count(r => r!["isTarget"]!.GetValue<bool>()), view["targetCount"]!.GetValue<int>());
                    Assert.Equal(trigger, view["triggered"]!.GetValue<bool>());
                }
    }

    [Fact]
    public async Task ReportIsTheRunsReportHtmlByteForByte()
    {
        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri(Url, "report"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(run.RunDir, "report.html")), await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>Sends one request line as written (no client-side normalisation of "..") and returns status and body.</summary>
    private (int Status, string Body) Raw(string target, string method = "GET")
    {
        using var tcp = new TcpClient();
        tcp.Connect(IPAddress.Loopback, Url.Port);
        using var stream = tcp.GetStream();
        stream.Write(Encoding.ASCII.GetBytes($"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        string text = Encoding.UTF8.GetString(ms.ToArray());
        int status = int.Parse(text.Split(' ', 3)[1]);
        int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (status, body < 0 ? "" : text[(body + 4)..]);
    }

    [Theory]
    [InlineData("/../secret.txt")]
    [InlineData("/../../../../../../etc/passwd")]
    [InlineData("/report/../../secret.txt")]
    [InlineData("/app.js/../../secret.txt")]
    [InlineData("/%2e%2e/secret.txt")]
    [InlineData("/%2e%2e%2fsecret.txt")]
    [InlineData("/..%2f..%2fsecret.txt")]
    [InlineData("/..\\secret.txt")]
    [InlineData("//etc/passwd")]
    [InlineData("/secret.txt")]
    [InlineData("/config.resolved.json")]
    [InlineData("/seed-0/clean/model.hbm")]
    [InlineData("/report.html")]
    [InlineData("/api/../../secret.txt")]
    public void PathsOutsideTheRoutesAreRefusedAndRevealNoFile(string target)
    {
        var (status, body) = Raw(target);
        Assert.InRange(status, 400, 499);
        Assert.DoesNotContain(ServedTinyRun.SecretToken, body);
        Assert.DoesNotContain("root:", body);
        Assert.DoesNotContain("   at ", body);
    }

    [Fact]
    public async Task TraversalThroughHttpClientAndParametersIsRefused()
    {
        using var http = new HttpClient();
        // HttpClient normalises "../" away; the encoded forms reach the server as written.
        foreach (string path in new[] { "../secret.txt", "%2e%2e/secret.txt", "report%2f..%2f..%2fsecret.txt", "..%5csecret.txt" })
        {
            var r = await http.GetAsync(new Uri(Url + path));
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.DoesNotContain(ServedTinyRun.SecretToken, await r.Content.ReadAsStringAsync());
        }
        // A file name given as a parameter is a model name like any other: refused, nothing read.
        var m = await http.GetAsync(new Uri(Url, "api/search?seed=0&target=0&model=..%2F..%2Fsecret.txt&query=0&trigger=0"));
        Assert.Equal(HttpStatusCode.BadRequest, m.StatusCode);
        Assert.DoesNotContain(ServedTinyRun.SecretToken, await m.Content.ReadAsStringAsync());
        // Extra parameters on /report change nothing: still the run's report.
        var rep = await http.GetAsync(new Uri(Url, "report?file=../secret.txt&path=%2e%2e%2fsecret.txt"));
        Assert.Equal(HttpStatusCode.OK, rep.StatusCode);
        Assert.DoesNotContain(ServedTinyRun.SecretToken, await rep.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("api/search", 400, "seed: missing parameter")]
    [InlineData("api/search?seed=0&target=0&model=ciba&query=0", 400, "trigger: missing parameter")]
    [InlineData("api/search?seed=abc&target=0&model=ciba&query=0&trigger=0", 400, "seed abc: not an integer")]
    [InlineData("api/search?seed=7&target=0&model=ciba&query=0&trigger=0", 400, "seed 7: not a seed of this run (0)")]
    [InlineData("api/search?seed=0&target=2&model=ciba&query=0&trigger=0", 400, "target 2: not a target of this run (0)")]
    [InlineData("api/search?seed=0&target=0&model=badnets&query=0&trigger=0", 400, "model badnets: expected clean or one of tri, ciba")]
    [InlineData("api/search?seed=0&target=0&model=ciba&query=12&trigger=0", 400, "query 12: expected 0 to 11")]
    [InlineData("api/search?seed=0&target=0&model=ciba&query=-1&trigger=0", 400, "query -1: expected 0 to 11")]
    [InlineData("api/search?seed=0&target=0&model=ciba&query=0&trigger=yes", 400, "trigger yes: expected 0 or 1")]
    [InlineData("api/search?seed=0&target=0&model=ciba&query=0&trigger=0&k=0", 400, "k 0: expected 1 to 100")]
    [InlineData("api/search?seed=0&target=0&model=ciba&query=0&trigger=0&k=101", 400, "k 101: expected 1 to 100")]
    [InlineData("api/search?seed=0&target=0&model=ciba&query=99999999999&trigger=0", 400, "query 99999999999: not an integer")]
    [InlineData("api/search?seed=0&seed=0&target=0&model=ciba&query=0&trigger=0", 400, "seed: given more than once")]
    [InlineData("nothing/here", 404, "not found")]
    public async Task BadRequestsGetA4xxWithOneLineJsonError(string path, int status, string error)
    {
        using var http = new HttpClient();
        var r = await http.GetAsync(new Uri(Url, path));
        Assert.Equal(status, (int)r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType!.MediaType);
        string body = await r.Content.ReadAsStringAsync();
        Assert.Equal(error, JsonNode.Parse(body)!["error"]!.GetValue<string>());
        Assert.DoesNotContain('\n', body);
    }

    [Theory]
    [InlineData("POST", "/")]
    [InlineData("PUT", "/report")]
    [InlineData("DELETE", "/api/run")]
    [InlineData("HEAD", "/")]
    public void OtherMethodsThanGetAre405(string method, string target)
    {
        var (status, body) = Raw(target, method);
        Assert.Equal(405, status);
        if (method == "HEAD") Assert.Equal("", body); // a response to HEAD has no body
        else Assert.Equal($"{method}: only GET is served", JsonNode.Parse(body)!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ServerListensOnLoopbackOnlyAndSendsProtectiveHeaders()
    {
        Assert.Equal("127.0.0.1", Url.Host);
        using var http = new HttpClient();
        var page = await http.GetAsync(Url);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("<script src=\"app.js\"></script>", await page.Content.ReadAsStringAsync());
        // Not reachable on another address of this machine.
        var other = Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (other is not null)
        {
            using var tcp = new TcpClient();
            Assert.ThrowsAny<SocketException>(() => tcp.Connect(other, Url.Port));
        }
    }
}
