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
    public PeersFixture()
    {
        RepoRoot = PeersEnvironment.FindRepoRoot();
        PeersRoot = PeersEnvironment.EnsureChroot(RepoRoot);

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

    private const int SIGKILL = 9;
    private const int SIGTERM = 15;

    private static int Kill(int pid, int signal) => Venus.Native.Libc.Kill(pid, signal);
}

[CollectionDefinition(Name)]
public sealed class PeersCollection : ICollectionFixture<PeersFixture>
{
    public const string Name = "Venus peers";
}
