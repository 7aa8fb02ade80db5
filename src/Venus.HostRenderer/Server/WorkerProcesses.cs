using System.Diagnostics;
using System.Globalization;
using Venus.Transport.Vtest.Server;

namespace Venus.HostRenderer.Server;

/// <summary>
/// Process isolation, as virglrenderer's render server does it: every vtest client is served by a
/// worker process of its own (<c>venus-host worker --fd N</c>) that inherits the connection. A
/// guest that makes the driver crash takes down its worker only; the server and the other clients
/// go on.
/// </summary>
internal sealed class WorkerProcesses
{
    readonly string? _record;
    readonly Action<string> _log;
    readonly Dictionary<int, Process> _running = new();
    readonly object _lock = new();

    public WorkerProcesses(string? record, Action<string> log)
    {
        _record = record;
        _log = log;
    }

    /// <summary>Starts the worker for one accepted connection; owns <paramref name="fd"/>.</summary>
    public void Start(int fd, int clientId)
    {
        int inherited = -1;
        try
        {
            inherited = VtestConnection.DuplicateForChild(fd);
            var psi = new ProcessStartInfo { UseShellExecute = false };
            string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
            string dll = typeof(Program).Assembly.Location;
            psi.FileName = self;
            if (Path.GetFileNameWithoutExtension(self) == "dotnet" && dll.Length > 0) psi.ArgumentList.Add(dll);
            psi.ArgumentList.Add("worker");
            psi.ArgumentList.Add("--fd");
            psi.ArgumentList.Add(inherited.ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add("--client-id");
            psi.ArgumentList.Add(clientId.ToString(CultureInfo.InvariantCulture));
            if (_record != null) { psi.ArgumentList.Add("--record"); psi.ArgumentList.Add(_record); }
            var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
            p.Exited += (_, _) => Ended(clientId, p);
            lock (_lock)
            {
                p.Start();
                _running[clientId] = p;
            }
        }
        catch (Exception e)
        {
            _log($"vtest client {clientId} refused: could not start its worker: {e.Message}");
        }
        finally
        {
            // The worker has its own copy now; the server keeps none.
            if (inherited >= 0) VtestConnection.Close(inherited);
            VtestConnection.Close(fd);
        }
    }

    void Ended(int clientId, Process p)
    {
        int code = p.ExitCode;
        lock (_lock) _running.Remove(clientId);
        if (code != 0)
            _log($"venus-host: worker of vtest client {clientId} ended with {(code > 128 ? $"signal {code - 128}" : $"exit code {code}")}; the other clients go on");
        p.Dispose();
    }

    public void StopAll()
    {
        Process[] all;
        lock (_lock) all = _running.Values.ToArray();
        foreach (var p in all)
        {
            try { p.Kill(); p.WaitForExit(5000); } catch (Exception) { /* already gone */ }
        }
    }
}
