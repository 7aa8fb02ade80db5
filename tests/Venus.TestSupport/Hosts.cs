using System.Globalization;

namespace Venus.TestSupport;

/// <summary>Which vtest host renderer serves a venus guest (Mesa's or ours).</summary>
public enum HostKind
{
    /// <summary>virglrenderer 1.1.0's <c>virgl_test_server --venus</c> on lavapipe (eng/peers.sh serve): the reference.</summary>
    VirglRenderer,

    /// <summary>Our own renderer, <c>venus-host</c> (eng/host.sh serve).</summary>
    VenusHost,
}

/// <summary>
/// How to start a host. Both scripts share one contract: <c>bash SCRIPT serve SOCKET</c>, SOCKET a
/// path inside the peers chroot; the script prints the server's pid once the socket exists, and the
/// server logs to the chroot path of SOCKET + ".log".
/// </summary>
public sealed record HostLauncher(HostKind Kind, string DisplayName, string Script)
{
    public static readonly HostLauncher VirglRenderer =
        new(HostKind.VirglRenderer, "virglrenderer 1.1.0 (virgl_test_server --venus)", "eng/peers.sh");

    /// <summary>eng/host.sh, or the script named by VENUS_INTEROP_HOST_SCRIPT (same contract; e.g. a wrapper under /tmp).</summary>
    public static readonly HostLauncher VenusHost =
        new(HostKind.VenusHost, "venus-host",
            Environment.GetEnvironmentVariable("VENUS_INTEROP_HOST_SCRIPT") is { Length: > 0 } script ? script : "eng/host.sh");

    public static HostLauncher For(HostKind kind) => kind switch
    {
        HostKind.VirglRenderer => VirglRenderer,
        HostKind.VenusHost => VenusHost,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    // eng/host.sh publishes venus-host (NativeAOT) before it starts it when the sources changed:
    // several minutes on a loaded 2-core machine.
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(600);

    /// <summary>
    /// Starts the host on a fresh socket (chroot /tmp/<paramref name="socketPrefix"/>-KIND-PID-RANDOM.sock),
    /// passing <paramref name="options"/> after <c>serve SOCKET</c>; throws <see cref="HostUnavailableException"/>
    /// with the reason.
    /// </summary>
    public RunningHost Start(string repoRoot, string peersRoot, IReadOnlyList<string>? options = null,
        string socketPrefix = "venus-interop")
    {
        string script = Path.Combine(repoRoot, Script); // an absolute Script stays as it is
        if (!File.Exists(script))
            throw new HostUnavailableException(
                $"{Script} missing: {DisplayName} cannot be started (expected `bash {Script} serve SOCKET` to start it " +
                "inside the peers chroot and print its pid)");

        string name = $"{socketPrefix}-{Kind.ToString().ToLowerInvariant()}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}.sock";
        string chrootSocket = "/tmp/" + name;
        string[] arguments = [script, "serve", chrootSocket, .. options ?? []];
        RunResult serve = ProcessRun.Run("bash", arguments, StartTimeout, repoRoot);
        string logPath = peersRoot + chrootSocket + ".log";
        string lastLine = serve.Stdout.Trim().Split('\n')[^1].Trim();
        if (!serve.Succeeded || !int.TryParse(lastLine, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            string log = File.Exists(logPath) ? RunResult.Tail(File.ReadAllText(logPath), 40) : "(no server log)";
            // A server may have started without the script reporting it: stop what serves our unique socket.
            foreach (int stray in ProcessTree.FindByCommandLine(chrootSocket))
                ProcessTree.Stop(stray, TimeSpan.FromSeconds(3));
            throw new HostUnavailableException(
                $"`bash {Script} serve {chrootSocket}{string.Concat((options ?? []).Select(o => " " + o))}` did not start {DisplayName}: {serve}\n--- server log ---\n{log}");
        }
        return new RunningHost(this, pid, chrootSocket, peersRoot + chrootSocket, logPath);
    }
}

public sealed class HostUnavailableException(string message) : Exception(message);

/// <summary>A started host; Dispose stops it and its children and removes its socket and log.</summary>
public sealed class RunningHost(HostLauncher launcher, int pid, string chrootSocketPath, string socketPath, string logPath)
    : IDisposable
{
    public HostLauncher Launcher { get; } = launcher;
    public HostKind Kind => Launcher.Kind;
    public int Pid { get; } = pid;

    /// <summary>The socket as processes inside the chroot see it (VTEST_SOCKET_NAME).</summary>
    public string ChrootSocketPath { get; } = chrootSocketPath;

    /// <summary>The socket from outside the chroot.</summary>
    public string SocketPath { get; } = socketPath;

    public string LogPath { get; } = logPath;

    public bool IsAlive => ProcessTree.IsAlive(Pid);

    public string ReadLog()
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(stream).ReadToEnd();
        }
        catch (IOException e)
        {
            return $"(no server log: {e.Message})";
        }
    }

    public string LogTail(int lines = 40) => RunResult.Tail(ReadLog(), lines);

    public override string ToString() => $"{Launcher.DisplayName} pid {Pid} on {ChrootSocketPath}";

    /// <summary>Set VENUS_INTEROP_KEEP_LOGS=1 to keep the server logs (chroot /tmp/venus-interop-*.sock.log).</summary>
    public static bool KeepLogs => Environment.GetEnvironmentVariable("VENUS_INTEROP_KEEP_LOGS") is "1" or "true";

    public void Dispose()
    {
        ProcessTree.Stop(Pid, TimeSpan.FromSeconds(3));
        foreach (string path in KeepLogs ? [SocketPath] : new[] { SocketPath, LogPath })
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
