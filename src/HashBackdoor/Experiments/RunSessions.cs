using System.Text.Json;
using System.Text.Json.Serialization;

namespace HashBackdoor.Experiments;

/// <summary>One process's work on a run folder: when it started and stopped, and on what machine.</summary>
internal sealed record RunSession
{
    [JsonPropertyName("startedUtc")] public DateTime StartedUtc { get; init; }
    [JsonPropertyName("endedUtc")] public DateTime EndedUtc { get; init; }
    /// <summary>Wall seconds of the session (<see cref="EndedUtc"/> - <see cref="StartedUtc"/>).</summary>
    [JsonPropertyName("wallSeconds")] public double WallSeconds { get; init; }
    /// <summary><see cref="RunRecord.DescribeMachine"/> of the session (CPU model and vector unit, cores, torch threads).</summary>
    [JsonPropertyName("machine")] public string Machine { get; init; } = "";
    /// <summary>What ran ("experiment", "shard 0/2").</summary>
    [JsonPropertyName("what")] public string What { get; init; } = "";
    /// <summary>How it ended: "finished", "failed" (an exception, Ctrl+C included), or "wrote the results" (the record
    /// taken when the session wrote results.json; it then finished).</summary>
    [JsonPropertyName("ended")] public string Ended { get; init; } = "";
}

/// <summary>
/// The sessions that worked on a run folder (first run, resumes, shards), one file each under RUN/sessions/, so that
/// results.json can give the wall time of the whole run and not only of the session that wrote it (issue 23: a resume
/// that only wrote the reports recorded 20 s for a 20-minute run). A session is recorded when it ends, normally or by an
/// exception (Ctrl+C included) and when it writes the results; a process killed outright (SIGKILL, power loss) leaves
/// only its last record, so its time after that is missing from the total.
/// </summary>
internal sealed class RunSessions : IDisposable
{
    /// <summary>Folder of the session records inside a run folder.</summary>
    public const string DirName = "sessions";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly string path;
    private readonly DateTime started = DateTime.UtcNow;
    private readonly string what;
    private readonly string machine = RunRecord.DescribeMachine();
    private bool finished;

    private RunSessions(string root, string what)
    {
        this.what = what;
        path = Path.Combine(root, DirName, $"{started:yyyyMMdd'T'HHmmss'.'fffffff}-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
    }

    /// <summary>Starts recording a session on the run folder <paramref name="root"/>.</summary>
    public static RunSessions Start(string root, string what) => new(root, what);

    /// <summary>Records the session so far (it is writing the results) and returns every session of the folder, this one
    /// included.</summary>
    public IReadOnlyList<RunSession> Checkpoint()
    {
        Write("wrote the results");
        return Read(Path.GetDirectoryName(Path.GetDirectoryName(path))!);
    }

    /// <summary>Marks the session as finished (recorded on <see cref="Dispose"/>); without it a disposed session ended by a failure.</summary>
    public void Finish() => finished = true;

    /// <summary>Records the session's end.</summary>
    public void Dispose()
    {
        // A run that failed before writing anything (a config refused against the data, say) leaves no trace: its
        // folder is removed by the lock if the run created it, which a session record would prevent.
        if (!finished && !HoldsRunOutputs(Path.GetDirectoryName(Path.GetDirectoryName(path))!)) return;
        try { Write(finished ? "finished" : "failed"); }
        catch (IOException) { } // a full or vanished disk must not hide the error that ended the session
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Whether <paramref name="root"/> holds anything besides the lock files and session records.</summary>
    private static bool HoldsRunOutputs(string root) =>
        Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root)
            .Select(Path.GetFileName).Any(n => n != DirName && !(n ?? "").StartsWith(".hashbd.lock", StringComparison.Ordinal));

    private void Write(string ended)
    {
        var now = DateTime.UtcNow;
        var session = new RunSession { StartedUtc = started, EndedUtc = now, WallSeconds = Math.Round((now - started).TotalSeconds, 1), Machine = machine, What = what, Ended = ended };
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(session, Json));
    }

    /// <summary>Every session recorded in the run folder <paramref name="root"/>, oldest first (damaged records skipped:
    /// they only describe timing).</summary>
    public static IReadOnlyList<RunSession> Read(string root)
    {
        string dir = Path.Combine(root, DirName);
        if (!Directory.Exists(dir)) return Array.Empty<RunSession>();
        var list = new List<RunSession>();
        foreach (var file in Directory.GetFiles(dir, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize<RunSession>(File.ReadAllText(file), Json) is { } s) list.Add(s);
            }
            catch (Exception e) when (e is JsonException or IOException) { }
        }
        return list.OrderBy(s => s.StartedUtc).ToList();
    }

    /// <summary>Wall seconds of the sessions together: the length of the union of their [start, end] intervals, so that
    /// sequential sessions (a run and its resumes) add up and concurrent ones (shards) count once.</summary>
    public static double UnionSeconds(IEnumerable<RunSession> sessions)
    {
        double total = 0;
        DateTime? start = null, end = null;
        foreach (var s in sessions.OrderBy(s => s.StartedUtc))
        {
            if (end is null || s.StartedUtc > end)
            {
                if (end is not null) total += (end.Value - start!.Value).TotalSeconds;
                (start, end) = (s.StartedUtc, s.EndedUtc);
            }
            else if (s.EndedUtc > end) end = s.EndedUtc;
        }
        if (end is not null) total += (end.Value - start!.Value).TotalSeconds;
        return total;
    }

    /// <summary>The protocol with the wall time of every session: <c>wallSeconds</c> the union over the sessions
    /// (<see cref="UnionSeconds"/>), <c>wallSecondsThisSession</c> the session writing the results, <c>sessions</c> each
    /// session's start, wall seconds, machine (CPU model and vector unit) and how it ended.</summary>
    public static Dictionary<string, object?> Describe(Dictionary<string, object?> protocol, IReadOnlyList<RunSession> sessions, double thisSession)
    {
        var copy = new Dictionary<string, object?>(protocol)
        {
            ["wallSeconds"] = Math.Round(sessions.Count == 0 ? thisSession : UnionSeconds(sessions), 0),
            ["wallSecondsRule"] = "union of the wall-clock intervals of every session that worked on the run folder (first run and resumes add up; concurrent shards count once); a session killed outright is counted up to its last record",
            ["wallSecondsThisSession"] = Math.Round(thisSession, 0),
            ["sessions"] = sessions.Select(s => new Dictionary<string, object?>
            {
                ["started"] = s.StartedUtc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
                ["wallSeconds"] = Math.Round(s.WallSeconds, 0), ["what"] = s.What, ["ended"] = s.Ended, ["machine"] = s.Machine,
            }).ToList(),
        };
        return copy;
    }
}
