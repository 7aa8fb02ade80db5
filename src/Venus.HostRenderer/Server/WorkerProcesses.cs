using System.Diagnostics;
using System.Globalization;
using Venus.Transport.Vtest.Server;

namespace Venus.HostRenderer.Server;

/// <summary>
/// Process isolation, as virglrenderer's render server does it: every vtest client (or render-server
/// context) is served by a worker process of its own, so a guest that makes the driver crash takes down its worker only;
/// the server and the others go on. A spare worker is started ahead (and warmed up), so a client
/// does not wait for a process to start: the server passes it the connection. The spare that replaces
/// a taken one starts when that client hangs up or <see cref="s_spareDelayMs"/> later, whichever
/// comes first, so that its start-up does not compete with the client that just arrived.
/// A guest must not multiply host processes: at most <see cref="MaxWorkers"/> workers serve clients
/// at once (one more is refused with a log line), and the server watches every handed-off
/// connection (<see cref="HangUpWatch"/>): a worker still running <see cref="HangUpGrace"/> after its
/// client hung up (a worker still warming up, or tearing down a busy device) is killed. Everything a
/// worker holds is its own process's, so the kernel frees it.
/// </summary>
internal sealed class WorkerProcesses
{
    /// <summary>Workers serving clients at once unless --max-workers / VENUS_HOST_MAX_WORKERS says otherwise.</summary>
    public const int DefaultMaxWorkers = 32;

    /// <summary>How long a worker may outlive its client's hang-up (its own teardown) before it is killed.</summary>
    public static readonly TimeSpan HangUpGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>With --record the worker must close its recording file itself: a longer grace.</summary>
    public static readonly TimeSpan RecordingHangUpGrace = TimeSpan.FromSeconds(10);

    sealed class Worker(Process process, int clientId)
    {
        public readonly Process Process = process;
        public int ClientId = clientId;
        public bool Killed;
    }

    readonly string? _record;
    readonly Action<string> _log;
    readonly bool _render;
    readonly string _what;
    readonly Dictionary<Process, Worker> _running = new();
    readonly object _lock = new();
    readonly HangUpWatch _watch;
    (Process Process, int Channel)? _spare;
    bool _stopping;

    public int MaxWorkers { get; }

    /// <param name="render">Workers serve render-server context sockets (<c>worker --render</c>) instead of vtest connections.</param>
    public WorkerProcesses(string? record, Action<string> log, bool render = false, int maxWorkers = DefaultMaxWorkers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWorkers, 1);
        _record = record;
        _log = log;
        _render = render;
        MaxWorkers = maxWorkers;
        _what = render ? "render context" : "vtest client";
        _watch = new HangUpWatch(token => HungUp((Worker)token), "venus-hangup-watch");
        lock (_lock) StartSpare();
    }

    /// <summary>
    /// Workers serving a client now (the spare not counted). A worker that has exited counts no more
    /// even before its Exited event has been handled (that can lag on a loaded machine, and a client
    /// that arrives right after another one left must not be refused for it).
    /// </summary>
    int Serving
    {
        get
        {
            int n = 0;
            foreach (var p in _running.Keys)
                if (!Exited(p) && !(_spare is { } s && s.Process == p)) n++;
            return n;
        }
    }

    /// <summary>
    /// Gone from /proc, or a zombie. Not <see cref="Process.HasExited"/>: under our lock that can wait
    /// for the runtime's child-reaping lock while the runtime, holding it, raises Exited into
    /// <see cref="Ended"/>, which waits for our lock (a deadlock CI met in the soak test).
    /// </summary>
    static bool Exited(Process p)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{p.Id}/stat");
            int close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] == 'Z';
        }
        catch (Exception) { return true; }
    }

    /// <summary>The client of <paramref name="w"/> is gone: give its worker the grace to end, then kill it.</summary>
    void HungUp(Worker w)
    {
        // The client that took the last spare is gone: the next spare warms up now, between clients.
        lock (_lock) if (_spare is null && !_stopping) StartSpare();
        TimeSpan grace = _record != null ? RecordingHangUpGrace : HangUpGrace;
        Task.Delay(grace).ContinueWith(_ =>
        {
            lock (_lock)
            {
                if (_stopping || !_running.ContainsKey(w.Process) || w.Killed) return;
                w.Killed = true;
                try { w.Process.Kill(); }
                catch (Exception) { return; /* it ended meanwhile */ }
            }
            _log($"venus-host: worker {w.Process.Id} of {_what} {w.ClientId} killed: still running {grace.TotalMilliseconds:0} ms after its client hung up");
        }, TaskScheduler.Default);
    }

    ProcessStartInfo WorkerStart(params string[] args)
    {
        var psi = new ProcessStartInfo { UseShellExecute = false };
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        // Under `dotnet venus-host.dll` the worker runs the same dll, which sits in the app's directory.
        string dll = Path.Combine(AppContext.BaseDirectory, typeof(Program).Assembly.GetName().Name + ".dll");
        psi.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("worker");
        if (_render) psi.ArgumentList.Add("--render");
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (_record != null) { psi.ArgumentList.Add("--record"); psi.ArgumentList.Add(_record); }
        return psi;
    }

    /// <summary>Called under the lock.</summary>
    void StartSpare()
    {
        if (_stopping) return;
        (int server, int worker) = (-1, -1);
        try
        {
            (server, worker) = VtestHandOffChannel.Create();
            var p = new Process { StartInfo = WorkerStart("--channel", worker.ToString(CultureInfo.InvariantCulture)), EnableRaisingEvents = true };
            p.Exited += (_, _) => Ended(p);
            p.Start();
            _running[p] = new Worker(p, 0);
            _spare = (p, server);
            server = -1;
        }
        catch (Exception e)
        {
            _log($"venus-host: could not start a spare worker: {e.Message}");
        }
        finally
        {
            if (worker >= 0) VtestConnection.Close(worker);
            if (server >= 0) VtestConnection.Close(server);
        }
    }

    /// <summary>
    /// How long after a spare is taken its replacement starts, unless the client that took it hangs up
    /// first (VENUS_HOST_SPARE_DELAY_MS; 0 starts it at once). A spare's start and warm-up cost about
    /// as much CPU as a short client: started at once they compete with the very client that just
    /// arrived (on two cores, with a VM's vCPU thread on one of them, that made each context 30-60 %
    /// slower than in thread mode); started after the client, they use the gap before the next one.
    /// </summary>
    static readonly int s_spareDelayMs =
        int.TryParse(Environment.GetEnvironmentVariable("VENUS_HOST_SPARE_DELAY_MS"), System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out int d) ? d : 1000;

    /// <summary>Called under the lock.</summary>
    void StartSpareLater()
    {
        if (s_spareDelayMs <= 0) { StartSpare(); return; }
        Task.Delay(s_spareDelayMs).ContinueWith(_ =>
        {
            lock (_lock) if (_spare is null) StartSpare();
        }, TaskScheduler.Default);
    }

    /// <summary>Hands one accepted connection (or context socket) to a worker; owns <paramref name="fd"/>.</summary>
    public void Start(int fd, int clientId) => Start(fd, clientId, null);

    public void Start(int fd, int clientId, string? name)
    {
        try
        {
            lock (_lock)
            {
                if (Serving >= MaxWorkers)
                {
                    _log($"venus-host: {_what} {clientId}{(name != null ? $" ({name})" : "")} refused: {MaxWorkers} workers serve clients already (--max-workers)");
                    return;
                }
                if (_spare is { } spare)
                {
                    _spare = null;
                    bool sent = VtestHandOffChannel.Send(spare.Channel, fd, clientId);
                    VtestConnection.Close(spare.Channel);
                    if (sent)
                    {
                        Watch(_running[spare.Process], clientId, fd);
                        if (_render) _log($"venus-host: {_what} {clientId} ({name}) → worker {spare.Process.Id}");
                        StartSpareLater();
                        return;
                    }
                }
                // No spare (it died, or none could start): a worker of its own for this client.
                int inherited = VtestConnection.DuplicateForChild(fd);
                try
                {
                    var p = new Process
                    {
                        StartInfo = WorkerStart("--fd", inherited.ToString(CultureInfo.InvariantCulture), "--client-id", clientId.ToString(CultureInfo.InvariantCulture)),
                        EnableRaisingEvents = true,
                    };
                    p.Exited += (_, _) => Ended(p);
                    p.Start();
                    Watch(_running[p] = new Worker(p, 0), clientId, fd);
                    if (_render) _log($"venus-host: {_what} {clientId} ({name}) → worker {p.Id} (no spare was ready)");
                    StartSpare();
                }
                finally
                {
                    VtestConnection.Close(inherited);
                }
            }
        }
        catch (Exception e)
        {
            _log($"venus-host: {_what} {clientId} refused: could not start its worker: {e.Message}");
        }
        finally
        {
            VtestConnection.Close(fd);
        }
    }

    /// <summary>Called under the lock.</summary>
    void Watch(Worker w, int clientId, int fd)
    {
        w.ClientId = clientId;
        try { _watch.Add(fd, w); }
        catch (Exception e) { _log($"venus-host: {_what} {clientId} is not watched for its hang-up: {e.Message}"); }
    }

    void Ended(Process p)
    {
        int code = p.ExitCode;
        int clientId = 0;
        bool killed = false;
        lock (_lock)
        {
            if (_running.Remove(p, out Worker? w))
            {
                clientId = w.ClientId;
                killed = w.Killed;
                _watch.Remove(w);
            }
            if (_spare is { } s && s.Process == p)
            {
                VtestConnection.Close(s.Channel);
                _spare = null;
                if (!_stopping) _log($"venus-host: the spare worker ended with exit code {code}");
            }
        }
        bool stopping;
        lock (_lock) stopping = _stopping;
        if (code != 0 && clientId != 0 && !stopping && !killed)
            _log($"venus-host: worker of {_what} {clientId} ended with {(code > 128 ? $"signal {code - 128}" : $"exit code {code}")}; the other {(_render ? "contexts" : "clients")} go on");
        p.Dispose();
    }

    public void StopAll()
    {
        Process[] all;
        lock (_lock)
        {
            _stopping = true;
            all = _running.Keys.ToArray();
            if (_spare is { } s) { VtestConnection.Close(s.Channel); _spare = null; }
        }
        _watch.Dispose();
        foreach (var p in all)
        {
            try { p.Kill(); p.WaitForExit(5000); } catch (Exception) { /* already gone */ }
        }
    }
}
