using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Venus.Client;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Venus.Transport.Vtest;
using Xunit.Abstractions;

namespace Venus.Interop.Tests;

/// <summary>
/// One venus-host for <see cref="HostileGuestTests"/>, started by the first test that needs it. Right
/// after the start a well-behaved client (<see cref="HostileGuestTests.RunWellBehavedClient"/>) runs
/// and the server's open fd count and VmRSS are recorded as the baseline the other tests compare with.
/// </summary>
public sealed class HostileHostFixture : IDisposable
{
    private readonly Lock _gate = new();
    private RunningHost? _host;
    private Exception? _startFailure;

    public HostSample Baseline { get; private set; } = null!;

    /// <summary>What the well-behaved client saw when the baseline was taken.</summary>
    public string BaselineClient { get; private set; } = "";

    public TimeSpan StartWall { get; private set; }
    public TimeSpan BaselineClientWall { get; private set; }

    public RunningHost Host(InteropFixture fx)
    {
        lock (_gate)
        {
            if (_startFailure is not null)
                throw new InvalidOperationException("venus-host for the hostile-guest tests could not be started", _startFailure);
            if (_host is not null)
                return _host;
            try
            {
                var clock = Stopwatch.StartNew();
                _host = fx.StartHost(HostKind.VenusHost);
                StartWall = clock.Elapsed;
                clock.Restart();
                BaselineClient = HostileGuestTests.RunWellBehavedClient(_host, "baseline");
                BaselineClientWall = clock.Elapsed;
                Baseline = HostileGuestTests.SettledBaseline(_host.Pid);
                return _host;
            }
            catch (Exception e)
            {
                _startFailure = e;
                throw;
            }
        }
    }

    public void Dispose() => _host?.Dispose();
}

/// <summary>
/// The host process's open file descriptors (their targets), resident memory, threads and mappings
/// at one moment, plus its worker processes (venus-host serves each client in a worker process of its
/// own by default, with one spare started ahead): how many, their fds and their resident memory.
/// </summary>
public sealed record HostSample(IReadOnlyList<string> FdTargets, long VmRssKb, int Threads, int Mappings,
    int Workers, int WorkerFds, long WorkerRssKb)
{
    public int Fds => FdTargets.Count;

    /// <summary>
    /// Fds other than the assembly images the .NET runtime keeps open once it loaded them (2 per
    /// assembly, loaded lazily on first use and never closed: bounded, not a leak). Leaks would show here.
    /// An image shows as "... (deleted)" once eng/host.sh republished venus-host under the running host.
    /// </summary>
    public int ResourceFds => FdTargets.Count(t => !IsAssemblyImage(t));

    private static bool IsAssemblyImage(string target) =>
        target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".dll (deleted)", StringComparison.Ordinal);

    /// <summary>The host and its workers together.</summary>
    public long TotalRssKb => VmRssKb + WorkerRssKb;

    public static HostSample Take(int pid)
    {
        (IReadOnlyList<string> targets, long rss, int threads, int mappings) = Process(pid);
        int workers = 0, workerFds = 0;
        long workerRss = 0;
        foreach (int child in Descendants(pid))
        {
            try
            {
                (IReadOnlyList<string> t, long r, _, _) = Process(child);
                workers++;
                workerFds += t.Count;
                workerRss += Math.Max(0, r);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // ended meanwhile
            }
        }
        return new HostSample(targets, rss, threads, mappings, workers, workerFds, workerRss);
    }

    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int p))
                continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (f[0] != "Z")
                    parents[p] = int.Parse(f[1], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
            }
        }
        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.Count > 0)
        {
            int parent = frontier.Dequeue();
            foreach ((int child, int ppid) in parents)
            {
                if (ppid == parent)
                {
                    result.Add(child);
                    frontier.Enqueue(child);
                }
            }
        }
        return result;
    }

    private static (IReadOnlyList<string> Targets, long RssKb, int Threads, int Mappings) Process(int pid)
    {
        var targets = new List<string>();
        foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            try
            {
                targets.Add(new FileInfo(entry).LinkTarget ?? "?");
            }
            catch (IOException)
            {
                // closed meanwhile
            }
        }
        long rss = -1;
        int threads = -1;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                rss = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
        }
        int mappings = File.ReadLines($"/proc/{pid}/maps").Count();
        return (targets, rss, threads, mappings);
    }

    /// <summary>Fd counts by kind: socket, pipe, eventfd, memfd, dll (assemblies the runtime keeps open), so, file.</summary>
    public string FdKinds =>
        string.Join(", ", FdTargets.GroupBy(Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"));

    private static string Kind(string target) => target switch
    {
        _ when target.StartsWith("socket:", StringComparison.Ordinal) => "socket",
        _ when target.StartsWith("pipe:", StringComparison.Ordinal) => "pipe",
        _ when target.StartsWith("anon_inode:", StringComparison.Ordinal) => target["anon_inode:".Length..].Trim('[', ']'),
        _ when target.StartsWith("/memfd:", StringComparison.Ordinal) => "memfd",
        _ when IsAssemblyImage(target) => "dll",
        _ when target.Contains(".so", StringComparison.Ordinal) => "so",
        _ when target.StartsWith("/dev/", StringComparison.Ordinal) => target,
        _ => "file",
    };

    /// <summary>Fd targets opened (+) and closed (-) since <paramref name="earlier"/>, by kind (socket and pipe inode numbers dropped).</summary>
    public string DiffFrom(HostSample earlier)
    {
        static string Norm(string t) => t.StartsWith("socket:", StringComparison.Ordinal) ? "socket"
            : t.StartsWith("pipe:", StringComparison.Ordinal) ? "pipe" : t;
        var now = FdTargets.Select(Norm).GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var then = earlier.FdTargets.Select(Norm).GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var parts = new List<string>();
        foreach (string key in now.Keys.Union(then.Keys).Order(StringComparer.Ordinal))
        {
            int d = now.GetValueOrDefault(key) - then.GetValueOrDefault(key);
            if (d != 0)
                parts.Add($"{(d > 0 ? "+" : "")}{d} {(key.StartsWith('/') ? Path.GetFileName(key) : key)}");
        }
        return parts.Count == 0 ? "no fd change" : string.Join(", ", parts);
    }

    public override string ToString() =>
        $"{Fds} fds ({FdKinds}), VmRSS {VmRssKb / 1024.0:0.0} MiB, {Threads} threads, {Mappings} mappings; " +
        $"{Workers} worker process(es) with {WorkerFds} fds, VmRSS {WorkerRssKb / 1024.0:0.0} MiB";
}

/// <summary>
/// venus-host against hostile guests (fact sheet §9: a malformed or malicious stream makes its
/// context fatal and the server drops that client only). Every hostile client runs on its own vtest
/// connection; it must be dropped (its next vtest call fails with ConnectionClosed, or a raw socket
/// sees EOF/reset) and the log must say why: one "fatal" line for a context whose venus stream was
/// bad, a "dropped" line only for what the vtest layer already refuses (blob ids, framing). The
/// server must live on, keep serving well-behaved clients, and give back every fd (assembly images
/// the runtime loads lazily aside), its worker processes and (almost) all memory. Also: a Mesa guest
/// SIGKILLed in the middle of a run, and several Mesa guests at once. Wall times of every step go to
/// the test output; VENUS_INTEROP_HOSTILE_ROUNDS / VENUS_INTEROP_HOSTILE_SEEDS enlarge the run for a soak.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class HostileGuestTests(InteropFixture fx, HostileHostFixture hostFixture, ITestOutputHelper output)
    : IClassFixture<HostileHostFixture>
{
    /// <summary>How many times the whole set of hostile clients runs (VENUS_INTEROP_HOSTILE_ROUNDS overrides, e.g. for a soak run).</summary>
    private static readonly int Rounds =
        int.TryParse(Environment.GetEnvironmentVariable("VENUS_INTEROP_HOSTILE_ROUNDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int r) && r > 0 ? r : 20;

    private const int FdTolerance = 3;
    private const long RssToleranceKb = 64 * 1024;

    /// <summary>How long a dropped client may wait for the close, and the log for its line.</summary>
    private static readonly TimeSpan DropTimeout = TimeSpan.FromSeconds(10);

    /// <summary>N = 64 Mi (two 256 MiB buffers) runs ~1.2 s through Mesa's venus on venus-host (lavapipe).</summary>
    private const uint KilledRunN = 64u << 20;

    private const int KillAfterMs = 300;
    private const uint SmallN = 1u << 20;
    private const int ConcurrentClients = 4;

    /// <summary>4 Mi per guest: a few hundred ms each, so that the four really overlap.</summary>
    private const uint ConcurrentN = 4u << 20;
    private const int ClientTimeoutSeconds = 60;

    private static readonly Regex OkLine = new(@"^compute: N=(\d+) ok .*$", RegexOptions.Multiline);

    private RunningHost Host => hostFixture.Host(fx);

    // ---- 1. baseline ------------------------------------------------------------------------------

    [Fact]
    public void WellBehavedClientWorksAndBaselineIsRecorded()
    {
        RunningHost host = Host;
        output.WriteLine($"host: {host}");
        output.WriteLine($"step start venus-host: {hostFixture.StartWall.TotalMilliseconds:0} ms");
        output.WriteLine($"step baseline client: {hostFixture.BaselineClientWall.TotalMilliseconds:0} ms: {hostFixture.BaselineClient}");
        output.WriteLine($"baseline: {hostFixture.Baseline}");

        var clock = Stopwatch.StartNew();
        string again = RunWellBehavedClient(host, "baseline-again");
        output.WriteLine($"step well-behaved client again: {clock.ElapsedMilliseconds} ms: {again}");
        output.WriteLine($"now: {HostSample.Take(host.Pid)}");
        Assert.True(host.IsAlive);
        Assert.InRange(hostFixture.Baseline.Fds, 1, 10_000);
        Assert.True(hostFixture.Baseline.VmRssKb > 0);
    }

    /// <summary>
    /// vkEnumerateInstanceVersion, vkCreateInstance, vkEnumeratePhysicalDevices (count, then ids),
    /// vkDestroyInstance through <see cref="VtestVenusSession"/>; throws on any failure.
    /// Returns once the host has logged the client's disconnect (its context is torn down by then).
    /// </summary>
    internal static string RunWellBehavedClient(RunningHost host, string name)
    {
        string clientName = $"well-behaved-{name}-{Interlocked.Increment(ref s_wellBehaved)}";
        long logOffset = LogLength(host);
        uint version;
        ulong[] devices;
        using (VtestVenusSession s = VtestVenusSession.Open(host.SocketPath, clientName, 64 * 1024))
        {
            version = VenusProbe.EnumerateInstanceVersion(s);
            uint apiVersion = Math.Min(version & ~0xFFFu, VenusProbe.MaxApiVersion);
            ulong instance = VenusProbe.CreateInstance(s, apiVersion);
            devices = VenusProbe.EnumeratePhysicalDevices(s, instance);
            if (devices.Length == 0)
                throw new InvalidOperationException("vkEnumeratePhysicalDevices returned no device");
            VenusProbe.DestroyInstance(s, instance);
        }
        string ending = WaitForLine(host, new Regex($@"^vtest client \d+ '{Regex.Escape(clientName)}' (?!connected$).*$", RegexOptions.Multiline), logOffset)
            ?? throw new InvalidOperationException($"the host did not log the end of '{clientName}':\n{host.LogTail(20)}");
        if (!ending.EndsWith("' disconnected", StringComparison.Ordinal))
            throw new InvalidOperationException($"the well-behaved client did not end cleanly: {ending}");
        if (ReadLogFrom(host, logOffset).Contains($"-{clientName}: fatal", StringComparison.Ordinal))
            throw new InvalidOperationException($"the well-behaved client's context turned fatal:\n{host.LogTail(20)}");
        return $"instance version {version >> 22}.{(version >> 12) & 0x3ff}.{version & 0xfff}, {devices.Length} physical device(s)";
    }

    private static int s_wellBehaved;

    /// <summary>The log's length in bytes now: where the lines of what happens next start.</summary>
    private static long LogLength(RunningHost host)
    {
        try
        {
            return new FileInfo(host.LogPath).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The log from byte <paramref name="offset"/> on (the log grows by thousands of lines here; never re-read all of it).</summary>
    private static string ReadLogFrom(RunningHost host, long offset)
    {
        try
        {
            using var stream = new FileStream(host.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            return new StreamReader(stream).ReadToEnd();
        }
        catch (IOException e)
        {
            return $"(no server log: {e.Message})";
        }
    }

    /// <summary>The first match of <paramref name="line"/> in the log (after <paramref name="offset"/>), waiting up to the drop timeout.</summary>
    private static string? WaitForLine(RunningHost host, Regex line, long offset)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Match m = line.Match(ReadLogFrom(host, offset));
            if (m.Success)
                return m.Value.TrimEnd();
            if (clock.Elapsed > DropTimeout || !host.IsAlive)
                return null;
            Thread.Sleep(10);
        }
    }

    // ---- 2 + 3. hostile clients -------------------------------------------------------------------

    [Fact]
    public void HostileClientsAreDroppedAndTheHostSurvives()
    {
        RunningHost host = Host;
        output.WriteLine($"host: {host}");
        output.WriteLine($"baseline at host start: {hostFixture.Baseline}");
        // The other tests of this class may have run Mesa guests on this host before (lavapipe's JIT and
        // the host's heap grow with them), so the comparison is with a sample taken right before the
        // hostile clients, after one more well-behaved client.
        var baselineClock = Stopwatch.StartNew();
        string before = RunWellBehavedClient(host, "before-hostile");
        HostSample baseline = SettledBaseline(host.Pid);
        output.WriteLine($"step well-behaved client before the hostile ones: {baselineClock.ElapsedMilliseconds} ms: {before}");
        output.WriteLine($"baseline: {baseline}");

        IReadOnlyList<HostileCase> cases = HostileCases();
        var failures = new List<string>();
        var roundClock = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        int clients = 0;
        HostSample? afterFirstRound = null;
        for (int round = 1; round <= Rounds; round++)
        {
            roundClock.Restart();
            foreach (HostileCase c in cases)
            {
                string name = $"hostile-r{round:00}-{c.Name}";
                long logOffset = LogLength(host);
                var clock = Stopwatch.StartNew();
                HostileOutcome outcome;
                try
                {
                    outcome = c.Run(host.SocketPath, name);
                }
                catch (Exception e)
                {
                    outcome = new HostileOutcome(false, $"the case itself failed: {e.GetType().Name}: {e.Message}");
                }
                clients++;
                CaseLog log = WaitForEnding(host, c.NamedClient ? name : null, logOffset);
                string verdict = Judge(c, name, outcome, log);
                if (round == 1 || verdict.Length > 0)
                {
                    output.WriteLine($"[r{round:00}] {c.Name}: {clock.ElapsedMilliseconds} ms, host VmRSS now {HostSample.Take(host.Pid).VmRssKb / 1024.0:0.0} MiB; client saw: {outcome.Detail}");
                    output.WriteLine($"        log: {log.Ending ?? "(no ending line)"}");
                    foreach (string fatal in log.FatalLines)
                        output.WriteLine($"        log: {fatal}");
                }
                if (verdict.Length > 0)
                {
                    failures.Add($"[r{round:00}] {c.Name}: {verdict}");
                    output.WriteLine($"        FAILED: {verdict}");
                }
                if (!host.IsAlive)
                    Assert.Fail($"venus-host died during hostile case '{c.Name}' of round {round}:\n{string.Join('\n', failures)}\n--- host log ---\n{host.LogTail(60)}");
            }
            HostSample sample = HostSample.Take(host.Pid);
            output.WriteLine($"step round {round}: {cases.Count} hostile clients in {roundClock.ElapsedMilliseconds} ms; host now {sample}");
            if (round == 1)
                afterFirstRound = sample;
        }
        output.WriteLine($"step all hostile rounds: {clients} clients in {total.ElapsedMilliseconds} ms");

        var check = Stopwatch.StartNew();
        Assert.True(host.IsAlive, $"venus-host is not running after the hostile clients:\n{host.LogTail(60)}");
        string wellBehaved = RunWellBehavedClient(host, "after-hostile");
        output.WriteLine($"step well-behaved client after the hostile ones: {check.ElapsedMilliseconds} ms: {wellBehaved}");
        HostSample after = SettledSample(host.Pid, baseline);
        output.WriteLine($"baseline at start:   {hostFixture.Baseline}");
        output.WriteLine($"baseline:            {baseline}");
        output.WriteLine($"after round 1:       {afterFirstRound}");
        output.WriteLine($"after {Rounds} rounds:     {after}");
        output.WriteLine($"fd delta {after.Fds - baseline.Fds:+0;-0;0}, without assembly images {after.ResourceFds - baseline.ResourceFds:+0;-0;0} ({after.DiffFrom(baseline)}); " +
                         $"VmRSS delta {(after.VmRssKb - baseline.VmRssKb) / 1024.0:+0.0;-0.0;0} MiB " +
                         $"(rounds 2..{Rounds}: {(after.VmRssKb - afterFirstRound!.VmRssKb) / 1024.0:+0.0;-0.0;0} MiB); " +
                         $"workers {baseline.Workers} -> {after.Workers}; host + workers VmRSS {baseline.TotalRssKb / 1024.0:0.0} -> {after.TotalRssKb / 1024.0:0.0} MiB");

        Assert.True(failures.Count == 0, $"{failures.Count} hostile client(s) not handled as expected:\n{string.Join('\n', failures)}");
        Assert.True(Math.Abs(after.ResourceFds - baseline.ResourceFds) <= FdTolerance,
            $"fd count (without assembly images) {after.ResourceFds} is not back to the baseline {baseline.ResourceFds} ± {FdTolerance}: {after.DiffFrom(baseline)}\nbaseline {baseline}\nafter    {after}");
        Assert.True(after.Workers == baseline.Workers,
            $"{after.Workers} worker processes run after the hostile clients, {baseline.Workers} before (a worker outlived its client?):\nbaseline {baseline}\nafter    {after}");
        Assert.True(after.VmRssKb - baseline.VmRssKb <= RssToleranceKb,
            $"VmRSS grew by {(after.VmRssKb - baseline.VmRssKb) / 1024.0:0.0} MiB over {clients} hostile clients (limit {RssToleranceKb / 1024} MiB)");
    }

    /// <summary>
    /// An fd of a client that just ended may still be closing, and its worker exiting; sample until the
    /// fd count is within the tolerance and as many workers run as in <paramref name="reference"/>
    /// (or 5 s passed) so a slow teardown is not mistaken for a leak.
    /// </summary>
    private static HostSample SettledSample(int pid, HostSample reference)
    {
        HostSample sample = HostSample.Take(pid);
        var clock = Stopwatch.StartNew();
        while ((Math.Abs(sample.ResourceFds - reference.ResourceFds) > FdTolerance || sample.Workers != reference.Workers) &&
               clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(50);
            sample = HostSample.Take(pid);
        }
        return sample;
    }

    /// <summary>A sample once the host is idle: the same fd count and worker count twice in a row, 100 ms apart (at most 5 s).</summary>
    internal static HostSample SettledBaseline(int pid)
    {
        HostSample sample = HostSample.Take(pid);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(100);
            HostSample next = HostSample.Take(pid);
            bool stable = next.ResourceFds == sample.ResourceFds && next.Workers == sample.Workers;
            sample = next;
            if (stable)
                break;
        }
        return sample;
    }

    /// <summary>What the client saw: dropped (a VtestException, EOF or reset) or not, and the detail.</summary>
    private sealed record HostileOutcome(bool Dropped, string Detail);

    /// <summary>
    /// One kind of hostile client. <see cref="Stage"/> says where it is caught: Venus cases in the
    /// venus decoder (one "fatal" line for their context, then the drop), vtest cases already in the
    /// vtest layer (a "dropped" line only; no venus command ever ran, so no context turned fatal).
    /// </summary>
    private sealed record HostileCase(string Name, Stage Stage, bool NamedClient, string Expect, Func<string, string, HostileOutcome> Run);

    private enum Stage { Venus, Vtest }

    private sealed record CaseLog(string? Ending, List<string> FatalLines);

    /// <summary>Waits for the client's "vtest client N 'NAME' ..." ending line (or, for a client that never sent its name, the first '?' one after <paramref name="offset"/>).</summary>
    private static CaseLog WaitForEnding(RunningHost host, string? name, long offset)
    {
        Regex ending = name is null
            ? new Regex(@"^vtest client \d+ '\?' (dropped|disconnected).*$", RegexOptions.Multiline)
            : new Regex($@"^vtest client \d+ '{Regex.Escape(name)}' (?!connected$).*$", RegexOptions.Multiline);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string log = ReadLogFrom(host, offset);
            Match m = ending.Match(log);
            if (m.Success || clock.Elapsed > DropTimeout || !host.IsAlive)
            {
                List<string> fatal = name is null
                    ? []
                    : log.Split('\n').Where(l => l.Contains($"-{name}: fatal: ", StringComparison.Ordinal)).Select(l => l.TrimEnd()).ToList();
                return new CaseLog(m.Success ? m.Value.TrimEnd() : null, fatal);
            }
            Thread.Sleep(10);
        }
    }

    private static string Judge(HostileCase c, string name, HostileOutcome outcome, CaseLog log)
    {
        var problems = new List<string>();
        if (!outcome.Dropped)
            problems.Add($"the client was not dropped: {outcome.Detail}");
        if (log.Ending is null)
            problems.Add("no 'vtest client ... dropped' line in the log");
        else if (!log.Ending.Contains(" dropped: ", StringComparison.Ordinal))
            problems.Add($"the log does not say the client was dropped: {log.Ending}");
        if (c.Stage == Stage.Venus)
        {
            if (log.FatalLines.Count != 1)
                problems.Add($"expected exactly one 'fatal' line for context *-{name}, found {log.FatalLines.Count}");
            else if (!log.FatalLines[0].Contains(c.Expect, StringComparison.Ordinal))
                problems.Add($"the fatal line does not mention '{c.Expect}': {log.FatalLines[0]}");
        }
        else
        {
            if (log.FatalLines.Count != 0)
                problems.Add($"a vtest-level error made context *-{name} fatal: {string.Join(" | ", log.FatalLines)}");
            if (log.Ending is not null && !log.Ending.Contains(c.Expect, StringComparison.Ordinal))
                problems.Add($"the drop line does not mention '{c.Expect}': {log.Ending}");
        }
        return string.Join("; ", problems);
    }

    // ---- the hostile cases -------------------------------------------------------------------------

    private const ulong InstanceId = 0x100;
    private const ulong UnknownId = 0xdead_0001;

    private static IReadOnlyList<HostileCase> HostileCases()
    {
        var cases = new List<HostileCase>
        {
            // Truncated commands.
            StreamCase("truncated-header-only", "decode error", replyBlob: false, _ => Raw.Words(0, 1)), // vkCreateInstance, GENERATE_REPLY
            StreamCase("truncated-body-16", "decode error", replyBlob: true, x => x.WithReplyStream(Cut(Streams.CreateInstance(InstanceId), 16))),
            StreamCase("truncated-body-half", "decode error", replyBlob: true, x =>
            {
                byte[] full = Streams.CreateInstance(InstanceId);
                return x.WithReplyStream(Cut(full, full.Length / 2 & ~3));
            }),
            StreamCase("truncated-body-last-dword", "decode error", replyBlob: true, x =>
            {
                byte[] full = Streams.CreateInstance(InstanceId);
                return x.WithReplyStream(Cut(full, full.Length - 4));
            }),

            // Oversized counts: the host must not try to allocate what they claim.
            StreamCase("oversized-array-2^40", "vkEnumeratePhysicalDevices", replyBlob: true, x =>
            {
                x.CreateInstance(InstanceId);
                return x.WithReplyStream(new Raw().U32((uint)vkEnumeratePhysicalDevices.Type).U32(1).U64(InstanceId)
                    .U64(1).U32(1)           // pPhysicalDeviceCount = 1
                    .U64(1UL << 40)          // pPhysicalDevices: array size 2^40, no elements follow
                    .ToArray());
            }),
            StreamCase("oversized-array-matching-count", "vkEnumeratePhysicalDevices", replyBlob: true, x =>
            {
                x.CreateInstance(InstanceId);
                return x.WithReplyStream(new Raw().U32((uint)vkEnumeratePhysicalDevices.Type).U32(1).U64(InstanceId)
                    .U64(1).U32(uint.MaxValue) // count 2^32-1 ...
                    .U64(uint.MaxValue)        // ... and a matching array size: 32 GiB of ids that never come
                    .ToArray());
            }),
            StreamCase("oversized-string-2^40", "vkCreateInstance", replyBlob: true, x => x.WithReplyStream(new Raw()
                .U32((uint)vkCreateInstance.Type).U32(1)
                .U64(1).U32(1).U64(0).U32(0)     // pCreateInfo: sType INSTANCE_CREATE_INFO, pNext NULL, flags
                .U64(1).U32(0).U64(0)            // pApplicationInfo: sType APPLICATION_INFO, pNext NULL
                .U64(1UL << 40).U32(0x41414141)  // pApplicationName: a 2^40-byte string
                .U32(0).U32(0).U32(0).U32(0)
                .ToArray())),

            // Unknown command types.
            StreamCase("unknown-type-9999", "9999", replyBlob: false, _ => Raw.Words(9999, 0, 0, 0)),
            StreamCase("unknown-type-0xffffffff", "not supported", replyBlob: false, _ => Raw.Words(uint.MaxValue, 1, 0, 0)),

            // Type confusion: a VkInstance where a VkDevice / VkPhysicalDevice belongs.
            StreamCase("instance-as-device", "0x100", replyBlob: true, x =>
            {
                x.CreateInstance(InstanceId);
                return Streams.CreateBuffer(InstanceId, 0x200);
            }),
            StreamCase("instance-as-physical-device", "0x100", replyBlob: true, x =>
            {
                x.CreateInstance(InstanceId);
                return x.WithReplyStream(Streams.GetPhysicalDeviceMemoryProperties(InstanceId));
            }),

            // Unknown object ids.
            StreamCase("unknown-instance-id", "0xdead0001", replyBlob: true, x => x.WithReplyStream(Streams.EnumeratePhysicalDevices(UnknownId))),
            StreamCase("destroy-unknown-instance", "0xdead0001", replyBlob: false, _ => Streams.DestroyInstance(UnknownId)),
            StreamCase("create-with-id-0", "0 or already in use", replyBlob: true, x => x.WithReplyStream(Streams.CreateInstance(0))),

            // Reply streams that do not fit.
            StreamCase("reply-stream-offset-past-blob", "outside resource", replyBlob: true, x => Streams.Concat(
                Streams.SetReplyStream(x.Blob.ResourceId, 8192, 16), Streams.EnumerateInstanceVersion())),
            StreamCase("reply-stream-size-overflow", "outside resource", replyBlob: true, x => Streams.Concat(
                Streams.SetReplyStream(x.Blob.ResourceId, 16, ulong.MaxValue - 8), Streams.EnumerateInstanceVersion())),
            StreamCase("reply-stream-unknown-resource", "unknown resource", replyBlob: true, x => Streams.Concat(
                Streams.SetReplyStream(x.Blob.ResourceId + 1000, 0, 16), Streams.EnumerateInstanceVersion())),
            StreamCase("reply-without-stream", "none set", replyBlob: true, _ => Streams.EnumerateInstanceVersion()),
            StreamCase("reply-overflows-stream", "does not fit", replyBlob: true, x => Streams.Concat(
                Streams.SetReplyStream(x.Blob.ResourceId, 0, 4), Streams.EnumerateInstanceVersion())),

            // RESOURCE_CREATE_BLOB naming something that is no device memory.
            VtestCase("blob-id-nothing", "RESOURCE_CREATE_BLOB", (socket, name) => BlobCase(socket, name, 0x1234_5678, createInstance: false), namedClient: true),
            VtestCase("blob-id-instance", "RESOURCE_CREATE_BLOB", (socket, name) => BlobCase(socket, name, InstanceId, createInstance: true), namedClient: true),

            // Garbage vtest framing.
            VtestCase("framing-huge-create-renderer", "exceeds the limit", (socket, name) => RawCase(socket, s =>
                s.Send(Raw.Words(uint.MaxValue, (uint)VtestCommand.CreateRenderer, 0x41414141, 0x41414141)))),
            VtestCase("framing-huge-submit", "exceeds the limit", (socket, name) => RawCase(socket, s =>
            {
                RawHandshake(s, name);
                s.Send(Raw.Words(uint.MaxValue, (uint)VtestCommand.SubmitCmd2, 1, 1, 7, 0, 7, 0, 0));
            }), namedClient: true),
            VtestCase("framing-huge-sync-wait", "exceeds the limit", (socket, name) => RawCase(socket, s =>
            {
                RawHandshake(s, name);
                s.Send(Raw.Words(2 + 3 * (1u << 28), (uint)VtestCommand.SyncWait, 0, 0)); // 2^28 syncs
            }), namedClient: true),
            VtestCase("framing-sync-wait-not-whole-entries", "not 2 + 3", (socket, name) => RawCase(socket, s =>
            {
                RawHandshake(s, name);
                s.Send(Raw.Words(0x7fff_ffff, (uint)VtestCommand.SyncWait, 0, 0));
            }), namedClient: true),
            VtestCase("framing-wrong-fixed-length", "payload length", (socket, name) => RawCase(socket, s =>
            {
                RawHandshake(s, name);
                s.Send(Raw.Words(0x1000_0000, (uint)VtestCommand.ResourceUnref, 1));
            }), namedClient: true),
            VtestCase("framing-batch-past-payload", "past the payload", (socket, name) => RawCase(socket, s =>
            {
                RawHandshake(s, name);
                s.Send(Raw.Words(7, (uint)VtestCommand.SubmitCmd2, 1, 1, 7, 0x7fff_ffff, 7, 0, 0));
            }), namedClient: true),
        };

        // Random bytes: whole streams, and streams whose first dword is a real command type.
        foreach (int seed in new[] { 1, 2, 3, 4 })
        {
            cases.Add(StreamCase($"random-bytes-seed{seed}", "", replyBlob: true, _ => RandomBytes(seed, 512, typed: false)));
            cases.Add(StreamCase($"random-typed-seed{seed}", "", replyBlob: true, _ => RandomBytes(seed, 512, typed: true)));
        }
        // Random parameters behind a live VkInstance / VkPhysicalDevice as the first parameter of a
        // command that takes one: past the handle lookup, deep into the decoders (and whatever values
        // decode are handed to the driver).
        foreach (int seed in HandleFirstSeeds)
        foreach (bool small in new[] { false, true })
        {
            // "small": every dword 0, 1, 2, 4 or random, so pointers read as present, counts stay small
            // and more parameters decode: what reaches the driver is closer to valid.
            cases.Add(StreamCase($"random-{(small ? "small-" : "")}after-handle-seed{seed}", "", replyBlob: true, x =>
            {
                x.CreateInstance(InstanceId);
                x.EnumeratePhysicalDevice(InstanceId, PhysicalDeviceId);
                byte[] bytes = small ? SmallRandomDwords(seed, 512) : RandomBytes(seed, 512, typed: false);
                var random = new Random(seed);
                (VkCommandTypeEXT type, bool instanceFirst) = HandleFirstCommands[random.Next(HandleFirstCommands.Length)];
                BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)type);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)random.Next(0, 2));
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), instanceFirst ? InstanceId : PhysicalDeviceId);
                return x.WithReplyStream(bytes);
            }));
        }
        foreach (int seed in new[] { 1, 2, 3 })
            cases.Add(VtestCase($"framing-random-first-message-seed{seed}", "the first message must be CREATE_RENDERER",
                (socket, _) => RawCase(socket, s => s.Send(RandomBytes(seed, 64, typed: false)))));
        return cases;
    }

    private static HostileCase StreamCase(string name, string expect, bool replyBlob, Func<VenusCaseContext, byte[]> bad) =>
        new(name, Stage.Venus, NamedClient: true, expect, (socket, clientName) => RunStreamCase(socket, clientName, replyBlob, bad));

    /// <param name="namedClient">The client sent CREATE_RENDERER with its name (its log lines carry it).</param>
    private static HostileCase VtestCase(string name, string expect, Func<string, string, HostileOutcome> run, bool namedClient = false) =>
        new(name, Stage.Vtest, namedClient, expect, run);

    private static byte[] Cut(byte[] stream, int length) => stream[..length];

    private static readonly int[] HandleFirstSeeds =
        Environment.GetEnvironmentVariable("VENUS_INTEROP_HOSTILE_SEEDS") is { Length: > 0 } n && int.TryParse(n, out int count) && count > 0
            ? Enumerable.Range(1, count).ToArray()
            : [1, 2, 3, 4];

    private const ulong PhysicalDeviceId = 0x101;

    /// <summary>Commands whose first parameter is a VkInstance (true) or a VkPhysicalDevice (false).</summary>
    private static readonly (VkCommandTypeEXT Type, bool InstanceFirst)[] HandleFirstCommands =
    [
        (vkDestroyInstance.Type, true), (vkEnumeratePhysicalDevices.Type, true), (vkEnumeratePhysicalDeviceGroups.Type, true),
        (vkCreateDevice.Type, false), (vkEnumerateDeviceExtensionProperties.Type, false), (vkEnumerateDeviceLayerProperties.Type, false),
        (vkGetPhysicalDeviceExternalBufferProperties.Type, false), (vkGetPhysicalDeviceExternalFenceProperties.Type, false),
        (vkGetPhysicalDeviceExternalSemaphoreProperties.Type, false), (vkGetPhysicalDeviceFeatures.Type, false),
        (vkGetPhysicalDeviceFeatures2.Type, false), (vkGetPhysicalDeviceFormatProperties.Type, false),
        (vkGetPhysicalDeviceFormatProperties2.Type, false), (vkGetPhysicalDeviceImageFormatProperties.Type, false),
        (vkGetPhysicalDeviceImageFormatProperties2.Type, false), (vkGetPhysicalDeviceMemoryProperties.Type, false),
        (vkGetPhysicalDeviceMemoryProperties2.Type, false), (vkGetPhysicalDeviceProperties.Type, false),
        (vkGetPhysicalDeviceProperties2.Type, false), (vkGetPhysicalDeviceQueueFamilyProperties.Type, false),
        (vkGetPhysicalDeviceQueueFamilyProperties2.Type, false), (vkGetPhysicalDeviceSparseImageFormatProperties.Type, false),
        (vkGetPhysicalDeviceSparseImageFormatProperties2.Type, false), (vkGetPhysicalDeviceToolProperties.Type, false),
        (vkGetPhysicalDeviceMultisamplePropertiesEXT.Type, false), (vkGetPhysicalDeviceCalibrateableTimeDomainsKHR.Type, false),
    ];

    private static byte[] SmallRandomDwords(int seed, int length)
    {
        var random = new Random(seed * 7919);
        var bytes = new byte[length];
        uint[] choices = [0, 1, 1, 2, 4];
        for (int i = 0; i < length; i += 4)
        {
            int pick = random.Next(choices.Length + 1);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i), pick < choices.Length ? choices[pick] : (uint)random.Next());
        }
        return bytes;
    }

    private static byte[] RandomBytes(int seed, int length, bool typed)
    {
        var random = new Random(seed);
        var bytes = new byte[length];
        random.NextBytes(bytes);
        if (typed)
        {
            // A real command type (0..347) and a random reply flag; the parameters stay random.
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)random.Next(0, 348));
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)random.Next(0, 2));
        }
        return bytes;
    }

    /// <summary>A context with a 4096-byte reply blob (optional) on which well-formed set-up calls run before the hostile one.</summary>
    private sealed class VenusCaseContext(VtestClient client, VtestBlob? blob)
    {
        private uint _sync;
        private ulong _value;

        public VtestClient Client { get; } = client;
        public VtestBlob Blob => blob ?? throw new InvalidOperationException("this case has no reply blob");

        /// <summary><c>vkSetReplyCommandStreamMESA</c> over the whole blob, then <paramref name="command"/>.</summary>
        public byte[] WithReplyStream(byte[] command) =>
            Streams.Concat(Streams.SetReplyStream(Blob.ResourceId, 0, Blob.Size), command);

        /// <summary>Submits a well-formed stream and waits until the host has run it.</summary>
        public void RunGood(byte[] stream)
        {
            if (_sync == 0)
                _sync = Client.SyncCreate(0);
            ulong value = ++_value;
            Client.SubmitCommands(stream, 0, [(_sync, value)]);
            if (!Client.SyncWait(_sync, value, DropTimeout))
                throw new InvalidOperationException($"a well-formed set-up submission did not finish within {DropTimeout.TotalSeconds:0} s");
        }

        /// <summary>vkEnumeratePhysicalDevices(instance) naming one physical device <paramref name="id"/> (lavapipe has one).</summary>
        public void EnumeratePhysicalDevice(ulong instance, ulong id)
        {
            Blob.Span.Clear();
            RunGood(WithReplyStream(Streams.EnumeratePhysicalDevices(instance, id)));
            int result = BinaryPrimitives.ReadInt32LittleEndian(Blob.GetSpan(4, 4));
            if (result is not (0 or 5)) // VK_SUCCESS or VK_INCOMPLETE
                throw new InvalidOperationException($"set-up vkEnumeratePhysicalDevices(0x{instance:x}) replied VkResult {result}");
        }

        /// <summary>vkCreateInstance(id) with a reply, checked for VK_SUCCESS.</summary>
        public void CreateInstance(ulong id)
        {
            Blob.Span.Clear();
            RunGood(WithReplyStream(Streams.CreateInstance(id)));
            int type = BinaryPrimitives.ReadInt32LittleEndian(Blob.GetSpan(0, 4));
            int result = BinaryPrimitives.ReadInt32LittleEndian(Blob.GetSpan(4, 4));
            if (type != (int)vkCreateInstance.Type || result != 0)
                throw new InvalidOperationException($"set-up vkCreateInstance(0x{id:x}) replied type {type}, VkResult {result}");
        }
    }

    private static HostileOutcome RunStreamCase(string socket, string name, bool replyBlob, Func<VenusCaseContext, byte[]> bad)
    {
        using VtestClient client = VtestClient.Connect(socket, name);
        client.GetCapset();
        client.ContextInit();
        using VtestBlob? blob = replyBlob ? client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0) : null;
        var context = new VenusCaseContext(client, blob);
        byte[] stream = bad(context);
        try
        {
            client.SubmitCommands(stream);
        }
        catch (VtestException e)
        {
            return new HostileOutcome(true, $"{e.Kind} while submitting: {e.Message}");
        }
        return ExpectDropped(client, () => client.SyncCreate(0));
    }

    /// <summary>RESOURCE_CREATE_BLOB(HOST3D, MAPPABLE, 4096, <paramref name="blobId"/>): the reply must never come.</summary>
    private static HostileOutcome BlobCase(string socket, string name, ulong blobId, bool createInstance)
    {
        using VtestClient client = VtestClient.Connect(socket, name);
        client.GetCapset();
        client.ContextInit();
        if (createInstance)
        {
            using VtestBlob reply = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0);
            new VenusCaseContext(client, reply).CreateInstance(blobId);
        }
        return ExpectDropped(client, () =>
        {
            using VtestBlob blob = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, blobId);
            // Not reached when the host refuses; otherwise the next call shows whether it still serves us.
            client.SyncCreate(0);
        });
    }

    /// <summary>Runs the next vtest call; the server must close the connection instead of answering.</summary>
    private static HostileOutcome ExpectDropped(VtestClient client, Action nextCall)
    {
        Task<VtestException?> call = Task.Run(() =>
        {
            try
            {
                nextCall();
                return null;
            }
            catch (VtestException e)
            {
                return e;
            }
        });
        if (!call.Wait(DropTimeout))
        {
            client.Dispose(); // wakes the blocked recv
            call.Wait(TimeSpan.FromSeconds(5));
            return new HostileOutcome(false, $"the server neither answered nor closed the connection within {DropTimeout.TotalSeconds:0} s");
        }
        VtestException? e = call.Result;
        if (e is null)
            return new HostileOutcome(false, "the server answered the next vtest call");
        return e.Kind == VtestErrorKind.ConnectionClosed
            ? new HostileOutcome(true, $"{e.Kind}: {e.Message}")
            : new HostileOutcome(false, $"the next call failed, but not because the server closed the connection: {e.Kind}: {e.Message}");
    }

    /// <summary>A raw unix-socket client: sends what <paramref name="act"/> sends, then reads until the server closes.</summary>
    private static HostileOutcome RawCase(string socketPath, Action<Socket> act)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(socketPath));
        s.ReceiveTimeout = (int)DropTimeout.TotalMilliseconds;
        s.SendTimeout = (int)DropTimeout.TotalMilliseconds;
        int received = 0;
        try
        {
            act(s);
            var buffer = new byte[4096];
            while (true)
            {
                int n = s.Receive(buffer);
                if (n == 0)
                    return new HostileOutcome(true, $"end of stream after {received} unsolicited reply bytes");
                received += n;
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown
                                             or SocketError.ConnectionAborted)
        {
            return new HostileOutcome(true, $"{e.SocketErrorCode} after {received} reply bytes");
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return new HostileOutcome(false, $"the server did not close the connection within {DropTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>CREATE_RENDERER(name), PROTOCOL_VERSION(3) with its reply, CONTEXT_INIT(4), by hand.</summary>
    private static void RawHandshake(Socket s, string name)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        s.Send(Streams.Concat(Raw.Words((uint)nameBytes.Length, (uint)VtestCommand.CreateRenderer), nameBytes));
        s.Send(Raw.Words(1, (uint)VtestCommand.ProtocolVersion, 3));
        var reply = new byte[12];
        for (int done = 0; done < reply.Length;)
        {
            int n = s.Receive(reply, done, reply.Length - done, SocketFlags.None);
            if (n == 0)
                throw new InvalidOperationException("the server closed the connection during the handshake");
            done += n;
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(8)) != 3)
            throw new InvalidOperationException("the server did not agree to vtest protocol 3");
        s.Send(Raw.Words(1, (uint)VtestCommand.ContextInit, 4));
    }

    /// <summary>Hand-made little-endian streams.</summary>
    private sealed class Raw
    {
        private readonly List<byte> _bytes = [];

        public Raw U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            _bytes.AddRange(b);
            return this;
        }

        public Raw U64(ulong v) => U32((uint)v).U32((uint)(v >> 32));

        public byte[] ToArray() => [.. _bytes];

        public static byte[] Words(params uint[] words)
        {
            var raw = new Raw();
            foreach (uint w in words)
                raw.U32(w);
            return raw.ToArray();
        }
    }

    /// <summary>Well-formed commands from the generated encoders.</summary>
    private static unsafe class Streams
    {
        private const VkCommandFlagBitsEXT Reply = VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT;

        public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

        public static byte[] SetReplyStream(uint resourceId, ulong offset, ulong size)
        {
            var desc = new VkCommandStreamDescriptionMESA { resourceId = resourceId, offset = (nuint)offset, size = (nuint)size };
            var buffer = new byte[vkSetReplyCommandStreamMESA.Size(&desc)];
            var e = new VnEncoder(buffer);
            vkSetReplyCommandStreamMESA.Encode(ref e, 0, &desc);
            return e.Written.ToArray();
        }

        public static byte[] CreateInstance(ulong id)
        {
            fixed (byte* appName = "hostile\0"u8)
            {
                var app = new VkApplicationInfo
                {
                    sType = VkApplicationInfo.SType,
                    pApplicationName = appName,
                    applicationVersion = 1,
                    apiVersion = 1u << 22 | 1u << 12, // 1.1
                };
                var info = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, pApplicationInfo = &app };
                ulong instance = id;
                var buffer = new byte[vkCreateInstance.Size(&info, null, &instance)];
                var e = new VnEncoder(buffer);
                vkCreateInstance.Encode(ref e, Reply, &info, null, &instance);
                return e.Written.ToArray();
            }
        }

        public static byte[] CreateBuffer(ulong device, ulong bufferId)
        {
            var info = new VkBufferCreateInfo { sType = VkBufferCreateInfo.SType, size = 4096, usage = 0x20 /* STORAGE_BUFFER */ };
            ulong buffer = bufferId;
            var bytes = new byte[vkCreateBuffer.Size(device, &info, null, &buffer)];
            var e = new VnEncoder(bytes);
            vkCreateBuffer.Encode(ref e, 0, device, &info, null, &buffer);
            return e.Written.ToArray();
        }

        public static byte[] GetPhysicalDeviceMemoryProperties(ulong physicalDevice)
        {
            VkPhysicalDeviceMemoryProperties memory;
            var bytes = new byte[vkGetPhysicalDeviceMemoryProperties.Size(physicalDevice, &memory)];
            var e = new VnEncoder(bytes);
            vkGetPhysicalDeviceMemoryProperties.Encode(ref e, Reply, physicalDevice, &memory);
            return e.Written.ToArray();
        }

        public static byte[] EnumeratePhysicalDevices(ulong instance)
        {
            uint count = 0;
            var bytes = new byte[vkEnumeratePhysicalDevices.Size(instance, &count, null)];
            var e = new VnEncoder(bytes);
            vkEnumeratePhysicalDevices.Encode(ref e, Reply, instance, &count, null);
            return e.Written.ToArray();
        }

        public static byte[] EnumeratePhysicalDevices(ulong instance, ulong id)
        {
            uint count = 1;
            ulong device = id;
            var bytes = new byte[vkEnumeratePhysicalDevices.Size(instance, &count, &device)];
            var e = new VnEncoder(bytes);
            vkEnumeratePhysicalDevices.Encode(ref e, Reply, instance, &count, &device);
            return e.Written.ToArray();
        }

        public static byte[] EnumerateInstanceVersion()
        {
            uint version = 0;
            var bytes = new byte[vkEnumerateInstanceVersion.Size(&version)];
            var e = new VnEncoder(bytes);
            vkEnumerateInstanceVersion.Encode(ref e, Reply, &version);
            return e.Written.ToArray();
        }

        public static byte[] DestroyInstance(ulong instance)
        {
            var bytes = new byte[vkDestroyInstance.Size(instance, null)];
            var e = new VnEncoder(bytes);
            vkDestroyInstance.Encode(ref e, 0, instance, null);
            return e.Written.ToArray();
        }
    }

    // ---- 4. a Mesa guest killed mid-run -----------------------------------------------------------

    [Fact]
    public async Task MesaGuestKilledMidRunIsCleanedUp()
    {
        RunningHost host = Host;
        output.WriteLine($"host: {host}");
        output.WriteLine($"baseline: {hostFixture.Baseline}");

        // Warm up: the first Mesa guest loads code paths (rings, memory export) the probe baseline never used.
        GuestRun warm = RunCompute(host, SmallN, "warm-up");
        Assert.True(warm.Run.Succeeded && OkLine.IsMatch(warm.Run.Stdout), $"the warm-up compute run failed:\n{warm}");
        HostSample before = SettledBaseline(host.Pid);
        output.WriteLine($"before the kill: {before}");

        long logOffset = LogLength(host);
        var env = InteropFixture.GuestEnvironment(host);
        var arguments = new List<string> { fx.PeersRoot, "env" };
        arguments.AddRange(env.Select(kv => $"{kv.Key}={kv.Value}"));
        // No shell in between: the pid we kill is compute itself (chroot and env exec it).
        arguments.AddRange([fx.Clients.Executable("compute"), fx.Clients.Spirv("compute.comp"),
            KilledRunN.ToString(CultureInfo.InvariantCulture), ClientTimeoutSeconds.ToString(CultureInfo.InvariantCulture)]);
        var startInfo = new ProcessStartInfo("chroot")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
            startInfo.ArgumentList.Add(a);

        var clock = Stopwatch.StartNew();
        using var victim = Process.Start(startInfo)!;
        Task<string> stdout = victim.StandardOutput.ReadToEndAsync();
        Task<string> stderr = victim.StandardError.ReadToEndAsync();
        Thread.Sleep(KillAfterMs);
        string comm = File.Exists($"/proc/{victim.Id}/comm") ? File.ReadAllText($"/proc/{victim.Id}/comm").Trim() : "(gone)";
        bool runningAtKill = !victim.HasExited;
        victim.Kill(); // SIGKILL
        victim.WaitForExit(10_000);
        TimeSpan killedAt = clock.Elapsed;
        string killedOut = await stdout.WaitAsync(TimeSpan.FromSeconds(5));
        string killedErr = await stderr.WaitAsync(TimeSpan.FromSeconds(5));
        output.WriteLine($"step compute N={KilledRunN} killed (SIGKILL) after {killedAt.TotalMilliseconds:0} ms; process was '{comm}', " +
                         $"{(runningAtKill ? "still running" : "ALREADY EXITED")} at the kill; exit {(victim.HasExited ? victim.ExitCode.ToString(CultureInfo.InvariantCulture) : "?")}");
        output.WriteLine($"killed client stdout: {killedOut.Trim()}; stderr: {RunResult.Tail(killedErr, 5)}");
        Assert.True(runningAtKill, $"compute N={KilledRunN} finished before the kill at {KillAfterMs} ms; it must run longer:\n{killedOut}");
        Assert.Equal("compute", comm);
        Assert.DoesNotMatch(OkLine, killedOut);

        // The host notices the closed socket and tears the context down.
        var wait = Stopwatch.StartNew();
        var connected = new Regex(@"^vtest client (\d+) 'compute' connected$", RegexOptions.Multiline);
        string? ending = null;
        string id = "?";
        while (wait.Elapsed < DropTimeout)
        {
            string fresh = ReadLogFrom(host, logOffset);
            Match c = connected.Match(fresh);
            if (c.Success)
            {
                id = c.Groups[1].Value;
                Match end = Regex.Match(fresh, $@"^vtest client {id} 'compute' (?!connected$).*$", RegexOptions.Multiline);
                if (end.Success)
                {
                    ending = end.Value.TrimEnd();
                    break;
                }
            }
            Thread.Sleep(10);
        }
        output.WriteLine($"step host noticed the kill: {wait.ElapsedMilliseconds} ms after it: {ending ?? "(no line)"}");
        Assert.True(ending is not null, $"the log has no end line for the killed compute client {id}:\n{host.LogTail(30)}");
        // Either the host saw the end of the stream between messages ("disconnected"), or the kill
        // landed while it was writing a reply ("dropped: the client closed the connection while ...").
        Assert.Matches(@"' (disconnected|dropped: the client closed the connection)", ending);
        Assert.True(host.IsAlive, $"venus-host died after the guest was killed:\n{host.LogTail(30)}");
        Assert.DoesNotContain("fatal", ReadLogFrom(host, logOffset));

        GuestRun second = RunCompute(host, SmallN, "after the kill");
        Assert.True(second.Run.Succeeded && OkLine.IsMatch(second.Run.Stdout), $"a compute run after the killed one failed:\n{second}");

        HostSample after = SettledSample(host.Pid, before);
        output.WriteLine($"before: {before}");
        output.WriteLine($"after:  {after}");
        output.WriteLine($"fd delta {after.Fds - before.Fds:+0;-0;0} ({after.DiffFrom(before)}; vs probe baseline {after.Fds - hostFixture.Baseline.Fds:+0;-0;0}), " +
                         $"VmRSS delta {(after.VmRssKb - before.VmRssKb) / 1024.0:+0.0;-0.0;0} MiB, workers {before.Workers} -> {after.Workers}");
        Assert.True(Math.Abs(after.ResourceFds - before.ResourceFds) <= FdTolerance,
            $"fd count (without assembly images) {after.ResourceFds} is not back to {before.ResourceFds} ± {FdTolerance} after the killed guest: {after.DiffFrom(before)}\nbefore {before}\nafter  {after}");
        Assert.True(after.Workers == before.Workers, $"{after.Workers} worker processes run after the killed guest, {before.Workers} before:\nbefore {before}\nafter  {after}");
    }

    // ---- 5. many Mesa guests at once --------------------------------------------------------------

    [Fact]
    public void ConcurrentMesaGuestsAllPass()
    {
        RunningHost host = Host;
        output.WriteLine($"host: {host}");
        HostSample before = SettledBaseline(host.Pid);
        long logOffset = LogLength(host);

        // One thread per guest, released together (pool threads would be injected one by one).
        var runs = new GuestRun?[ConcurrentClients];
        var errors = new Exception?[ConcurrentClients];
        using var start = new Barrier(ConcurrentClients);
        var clock = Stopwatch.StartNew();
        Thread[] threads = Enumerable.Range(0, ConcurrentClients).Select(i => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                runs[i] = fx.RunGuest(host, ComputeCommand(ConcurrentN), TimeSpan.FromSeconds(ClientTimeoutSeconds + 30));
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        })).ToArray();
        foreach (Thread t in threads)
            t.Start();
        foreach (Thread t in threads)
            t.Join();
        output.WriteLine($"step {ConcurrentClients} concurrent compute runs N={ConcurrentN}: {clock.ElapsedMilliseconds} ms");
        for (int i = 0; i < ConcurrentClients; i++)
        {
            Assert.True(errors[i] is null, $"concurrent compute #{i + 1} could not run: {errors[i]}");
            GuestRun run = runs[i]!;
            output.WriteLine(VulkaninfoTests.Timing(HostKind.VenusHost, $"concurrent compute #{i + 1} N={ConcurrentN}", run.Run));
            output.WriteLine("  " + run.Run.Stdout.Trim());
        }
        for (int i = 0; i < ConcurrentClients; i++)
        {
            Assert.True(runs[i]!.Run.Succeeded, $"concurrent compute #{i + 1} failed:\n{runs[i]}");
            Assert.True(OkLine.IsMatch(runs[i]!.Run.Stdout), $"concurrent compute #{i + 1} printed no ok line:\n{runs[i]}");
        }
        Assert.True(host.IsAlive);

        // The log: every guest connected and disconnected, and how many were served at once.
        var endings = new Regex(@"^vtest client \d+ 'compute' (?!connected$)(.*)$", RegexOptions.Multiline);
        var wait = Stopwatch.StartNew();
        while (endings.Matches(ReadLogFrom(host, logOffset)).Count < ConcurrentClients && wait.Elapsed < DropTimeout)
            Thread.Sleep(10);
        string fresh = ReadLogFrom(host, logOffset);
        int open = 0, maxOpen = 0;
        foreach (string line in fresh.Split('\n'))
        {
            if (Regex.IsMatch(line, @"^vtest client \d+ 'compute' connected$"))
                maxOpen = Math.Max(maxOpen, ++open);
            else if (endings.IsMatch(line))
                open--;
        }
        List<string> ends = endings.Matches(fresh).Select(m => m.Value.TrimEnd()).ToList();
        output.WriteLine($"log: {ends.Count} compute clients ended ({string.Join("; ", ends.Select(e => e[(e.IndexOf("' ", StringComparison.Ordinal) + 2)..]))}); " +
                         $"at most {maxOpen} connected at once");
        Assert.Equal(ConcurrentClients, ends.Count);
        Assert.All(ends, e => Assert.EndsWith("' disconnected", e));
        Assert.DoesNotContain("fatal", fresh);
        Assert.True(maxOpen >= 2, $"the guests did not overlap (at most {maxOpen} connected at once):\n{fresh}");

        HostSample after = SettledSample(host.Pid, before);
        output.WriteLine($"before: {before}");
        output.WriteLine($"after:  {after}");
        output.WriteLine($"fd delta {after.Fds - before.Fds:+0;-0;0} ({after.DiffFrom(before)}), VmRSS delta {(after.VmRssKb - before.VmRssKb) / 1024.0:+0.0;-0.0;0} MiB");
        Assert.True(Math.Abs(after.ResourceFds - before.ResourceFds) <= FdTolerance,
            $"fd count (without assembly images) {after.ResourceFds} is not back to {before.ResourceFds} ± {FdTolerance} after the concurrent guests: {after.DiffFrom(before)}\nbefore {before}\nafter  {after}");
        Assert.True(after.Workers == before.Workers, $"{after.Workers} worker processes run after the concurrent guests, {before.Workers} before:\nbefore {before}\nafter  {after}");
    }

    private string ComputeCommand(uint n) =>
        $"{fx.Clients.Executable("compute")} {fx.Clients.Spirv("compute.comp")} {n} {ClientTimeoutSeconds}";

    private GuestRun RunCompute(RunningHost host, uint n, string what)
    {
        GuestRun run = fx.RunGuest(host, ComputeCommand(n), TimeSpan.FromSeconds(ClientTimeoutSeconds + 30));
        output.WriteLine(VulkaninfoTests.Timing(HostKind.VenusHost, $"compute N={n} ({what})", run.Run));
        output.WriteLine("  " + run.Run.Stdout.Trim());
        return run;
    }
}
