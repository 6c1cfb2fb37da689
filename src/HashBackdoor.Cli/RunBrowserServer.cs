using HashBackdoor.Browser;
using System.Globalization;
using System.Net;
using System.Text.Json;
using HashBackdoor.Experiments;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HashBackdoor.Cli;

/// <summary>
/// HTTP plumbing of <c>hashbd serve</c> (Kestrel, loopback only): five GET routes over a <see cref="RunBrowser"/> and
/// nothing else. <c>/</c> the page, <c>/app.js</c> its script, <c>/api/run</c> the run summary, <c>/api/search</c>
/// one retrieval view, <c>/report</c> the run's report.html. No route takes a file name, so no request can name a file
/// (inside the run folder or outside it); any other path is 404, another method 405. Bad parameters are 400, absent
/// models or triggers 404, each with a one-line JSON <c>{"error": ...}</c> and never a stack trace.
/// </summary>
public sealed class RunBrowserServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>Page and script: only this server's own script, inline styles, data: images, the report in a frame.</summary>
    private const string PagePolicy = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

    /// <summary>report.html has no script and only inline styles and data: images.</summary>
    private const string ReportPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

    private readonly WebApplication app;

    private RunBrowserServer(WebApplication app, Uri url)
    {
        this.app = app;
        Url = url;
    }

    /// <summary>The address the page is served at, e.g. http://127.0.0.1:5123/.</summary>
    public Uri Url { get; }

    /// <summary>Completes when the server is asked to stop.</summary>
    public CancellationToken Stopping => app.Lifetime.ApplicationStopping;

    /// <summary>Starts serving <paramref name="browser"/> on 127.0.0.1:<paramref name="port"/> (0: a free port chosen
    /// by the system). Failures to bind are a <see cref="UsageException"/> naming --port.</summary>
    public static async Task<RunBrowserServer> StartAsync(RunBrowser browser, int port, TextWriter? errors = null)
    {
        if (port is < 0 or > 65535) throw new UsageException($"--port {port}: expected 0 (any free port) to 65535");
        errors ??= Console.Error;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.UseKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            var h = context.Response.Headers;
            h.XContentTypeOptions = "nosniff";
            h.CacheControl = "no-store";
            h["Referrer-Policy"] = "no-referrer";
            h.ContentSecurityPolicy = PagePolicy;
            if (!HttpMethods.IsGet(context.Request.Method))
            {
                await Error(context, StatusCodes.Status405MethodNotAllowed, $"{context.Request.Method}: only GET is served");
                return;
            }
            try
            {
                await next(context);
            }
            catch (RunBrowserRequestException e)
            {
                await Error(context, e.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest, e.Message);
            }
            catch (HashBackdoorException e)
            {
                // A damaged model or trigger file: the server's problem, reported in one line.
                errors.WriteLine($"hashbd serve: {e.Message.ReplaceLineEndings(" ")}");
                await Error(context, StatusCodes.Status500InternalServerError, e.Message.ReplaceLineEndings(" "));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors.WriteLine($"hashbd serve: {context.Request.Path}: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
                await Error(context, StatusCodes.Status500InternalServerError, "internal error (see the server's console)");
            }
        });

        app.MapGet("/", () => Results.Text(RunBrowserPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/app.js", () => Results.Text(RunBrowserPage.Script, "text/javascript; charset=utf-8"));
        app.MapGet("/api/run", () => JsonResult(browser.Summary()));
        app.MapGet("/api/search", (HttpContext c) =>
        {
            var q = c.Request.Query;
            var view = browser.Search(Long(q, "seed"), Int(q, "target"), Text(q, "model"), Int(q, "query"), Flag(q, "trigger"),
                q.ContainsKey("k") ? Int(q, "k") : 10);
            return JsonResult(view);
        });
        app.MapGet("/report", (HttpContext c) =>
        {
            var bytes = browser.ReportHtml() ?? throw new RunBrowserRequestException("the run has no report.html", notFound: true);
            c.Response.Headers.ContentSecurityPolicy = ReportPolicy;
            return Results.Bytes(bytes, "text/html; charset=utf-8");
        });
        app.MapFallback((HttpContext c) => Error(c, StatusCodes.Status404NotFound, "not found"));

        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new UsageException($"--port {port}: cannot listen on 127.0.0.1:{port} ({e.Message.ReplaceLineEndings(" ")})", e);
        }
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunBrowserServer(app, new Uri(new Uri(address), "/"));
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private static IResult JsonResult<T>(T value) => Results.Text(JsonSerializer.Serialize(value, Json), "application/json; charset=utf-8");

    private static Task Error(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted) return Task.CompletedTask;
        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json; charset=utf-8";
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(new { error = message }, Json);
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body).AsTask();
    }

    private static string Text(IQueryCollection q, string name)
    {
        var values = q[name];
        if (values.Count == 0 || string.IsNullOrEmpty(values[0])) throw new RunBrowserRequestException($"{name}: missing parameter");
        if (values.Count > 1) throw new RunBrowserRequestException($"{name}: given more than once");
        return values[0]!;
    }

    private static long Long(IQueryCollection q, string name)
    {
        string s = Text(q, name);
        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? v
            : throw new RunBrowserRequestException($"{name} {Shorten(s)}: not an integer");
    }

    private static int Int(IQueryCollection q, string name)
    {
        string s = Text(q, name);
        return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v
            : throw new RunBrowserRequestException($"{name} {Shorten(s)}: not an integer");
    }

    private static bool Flag(IQueryCollection q, string name) => Text(q, name) switch
    {
        "1" or "true" => true,
        "0" or "false" => false,
        var s => throw new RunBrowserRequestException($"{name} {Shorten(s)}: expected 0 or 1"),
    };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
