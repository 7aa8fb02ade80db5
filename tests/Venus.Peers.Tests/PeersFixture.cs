using System.Globalization;
using System.Runtime.InteropServices;

namespace Venus.Peers.Tests;

/// <summary>
/// The real peers (../shared/docs/peers.md): the trixie chroot built by <c>eng/peers.sh</c> and one
/// virglrenderer 1.1.0 <c>virgl_test_server --venus</c> on lavapipe, shared by the tests of
/// <see cref="PeersCollection"/>. Anything missing fails those tests with the reason; nothing is
/// skipped (the chroot needs root, and these tests run as root).
/// </summary>
public sealed partial class PeersFixture : IDisposable
{
    private static readonly TimeSpan ChrootBuildTimeout = TimeSpan.FromMinutes(10);

    public PeersFixture()
    {
        RepoRoot = FindRepoRoot();
        PeersRoot = EnsureChroot(RepoRoot);

        string name = $"venus-peers-tests-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}.sock";
        ChrootSocketPath = "/tmp/" + name;
        SocketPath = PeersRoot + ChrootSocketPath;

        ProcessResult serve = ProcessRunner.Run("bash", [Path.Combine(RepoRoot, "eng", "peers.sh"), "serve", ChrootSocketPath],
            TimeSpan.FromSeconds(60), RepoRoot);
        if (serve.ExitCode != 0 || !int.TryParse(serve.Stdout.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            throw new InvalidOperationException($"eng/peers.sh serve {ChrootSocketPath} failed to start virgl_test_server: {serve}");
        ServerPid = pid;
    }

    /// <summary>The folder holding Venus.sln.</summary>
    public string RepoRoot { get; }

    /// <summary>The chroot (default /var/cache/venus-peers).</summary>
    public string PeersRoot { get; }

    /// <summary>The server's socket as processes inside the chroot see it.</summary>
    public string ChrootSocketPath { get; }

    /// <summary>The server's socket from this (host) side.</summary>
    public string SocketPath { get; }

    public int ServerPid { get; }

    public string ServerLogPath => SocketPath + ".log";

    /// <summary>What the server has logged so far, for assertion messages.</summary>
    public string ReadServerLog()
    {
        try
        {
            using var stream = new FileStream(ServerLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(stream).ReadToEnd();
        }
        catch (IOException e)
        {
            return $"(no server log: {e.Message})";
        }
    }

    public bool IsServerAlive => IsAlive(ServerPid);

    /// <summary>
    /// Runs <paramref name="command"/> with <c>sh -c</c> inside the chroot, with the given
    /// environment added (e.g. VK_DRIVER_FILES, VN_DEBUG, VTEST_SOCKET_NAME for vulkaninfo).
    /// </summary>
    public ProcessResult RunInChroot(string command, IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var arguments = new List<string> { PeersRoot, "env" };
        if (environment is not null)
            foreach ((string key, string value) in environment)
                arguments.Add($"{key}={value}");
        arguments.AddRange(["sh", "-c", command]);
        return ProcessRunner.Run("chroot", arguments, timeout ?? TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        StopServer();
        foreach (string path in new[] { SocketPath, ServerLogPath })
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private void StopServer()
    {
        if (!IsAlive(ServerPid))
            return;
        Kill(ServerPid, SIGTERM);
        long deadline = Environment.TickCount64 + 3000;
        while (IsAlive(ServerPid) && Environment.TickCount64 < deadline)
            Thread.Sleep(20);
        if (IsAlive(ServerPid))
            Kill(ServerPid, SIGKILL);
    }

    /// <summary>Running and not a zombie (the server's parent shell has exited, so init reaps it).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string FindRepoRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "Venus.sln")))
                return dir;
        }
        throw new InvalidOperationException($"no Venus.sln above {AppContext.BaseDirectory}");
    }

    private static string EnsureChroot(string repoRoot)
    {
        string script = Path.Combine(repoRoot, "eng", "peers.sh");
        ProcessResult path = ProcessRunner.Run("bash", [script, "path"], TimeSpan.FromSeconds(10), repoRoot);
        if (path.ExitCode != 0)
            throw new InvalidOperationException($"eng/peers.sh path failed: {path}");
        string peers = path.Stdout.Trim();

        // peers.sh ensure restarts a debootstrap that is not finished; if another process is
        // building the chroot right now, wait for its ready marker instead of racing it.
        string ready = Path.Combine(peers, ".venus-peers-ready");
        long deadline = Environment.TickCount64 + (long)ChrootBuildTimeout.TotalMilliseconds;
        while (!File.Exists(ready) && Directory.Exists(peers + ".partial") && IsDebootstrapRunning())
        {
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException($"another debootstrap of {peers} did not finish within {ChrootBuildTimeout.TotalMinutes} minutes");
            Thread.Sleep(2000);
        }

        ProcessResult ensure = ProcessRunner.Run("bash", [script, "ensure"], ChrootBuildTimeout, repoRoot);
        if (ensure.ExitCode != 0)
            throw new InvalidOperationException($"eng/peers.sh ensure could not provide the peers chroot: {ensure}");
        string built = ensure.Stdout.Trim().Split('\n')[^1];
        if (!Directory.Exists(built))
            throw new InvalidOperationException($"eng/peers.sh ensure printed '{built}', which is not a folder");
        return built;
    }

    private static bool IsDebootstrapRunning()
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
                continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("debootstrap", StringComparison.Ordinal))
                    return true;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return false;
    }

    private const int SIGKILL = 9;
    private const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

[CollectionDefinition(Name)]
public sealed class PeersCollection : ICollectionFixture<PeersFixture>
{
    public const string Name = "Venus peers";
}
