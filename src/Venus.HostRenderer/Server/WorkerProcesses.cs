using System.Diagnostics;
using System.Globalization;
using Venus.Transport.Vtest.Server;

namespace Venus.HostRenderer.Server;

/// <summary>
/// Process isolation, as virglrenderer's render server does it: every vtest client (or render-server
/// context) is served by a worker process of its own, so a guest that makes the driver crash takes down its worker only;
/// the server and the others go on. One spare worker is always started ahead (and warmed
/// up), so a client does not wait for a process to start: the server passes it the connection.
/// </summary>
internal sealed class WorkerProcesses
{
    readonly string? _record;
    readonly Action<string> _log;
    readonly bool _render;
    readonly string _what;
    readonly Dictionary<Process, int> _running = new();
    readonly object _lock = new();
    (Process Process, int Channel)? _spare;
    bool _stopping;

    /// <param name="render">Workers serve render-server context sockets (<c>worker --render</c>) instead of vtest connections.</param>
    public WorkerProcesses(string? record, Action<string> log, bool render = false)
    {
        _record = record;
        _log = log;
        _render = render;
        _what = render ? "render context" : "vtest client";
        lock (_lock) StartSpare();
    }

    ProcessStartInfo WorkerStart(params string[] args)
    {
        var psi = new ProcessStartInfo { UseShellExecute = false };
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        string dll = typeof(Program).Assembly.Location;
        psi.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet" && dll.Length > 0) psi.ArgumentList.Add(dll);
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
            _running[p] = 0;
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

    /// <summary>Hands one accepted connection (or context socket) to a worker; owns <paramref name="fd"/>.</summary>
    public void Start(int fd, int clientId) => Start(fd, clientId, null);

    public void Start(int fd, int clientId, string? name)
    {
        try
        {
            lock (_lock)
            {
                if (_spare is { } spare)
                {
                    _spare = null;
                    bool sent = VtestHandOffChannel.Send(spare.Channel, fd, clientId);
                    VtestConnection.Close(spare.Channel);
                    if (sent)
                    {
                        _running[spare.Process] = clientId;
                        if (_render) _log($"venus-host: {_what} {clientId} ({name}) → worker {spare.Process.Id}");
                        StartSpare();
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
                    _running[p] = clientId;
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

    void Ended(Process p)
    {
        int code = p.ExitCode;
        int clientId;
        lock (_lock)
        {
            _running.Remove(p, out clientId);
            if (_spare is { } s && s.Process == p)
            {
                VtestConnection.Close(s.Channel);
                _spare = null;
                if (!_stopping) _log($"venus-host: the spare worker ended with exit code {code}");
            }
        }
        bool stopping;
        lock (_lock) stopping = _stopping;
        if (code != 0 && clientId != 0 && !stopping)
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
        foreach (var p in all)
        {
            try { p.Kill(); p.WaitForExit(5000); } catch (Exception) { /* already gone */ }
        }
    }
}
