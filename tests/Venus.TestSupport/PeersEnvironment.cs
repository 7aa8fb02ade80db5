namespace Venus.TestSupport;

/// <summary>
/// The repository root and the Debian trixie chroot of <c>eng/peers.sh</c>, as the test projects
/// that need the real peers find them. Every failure throws with the reason; nothing is skipped.
/// </summary>
public static class PeersEnvironment
{
    /// <summary>How long <c>eng/peers.sh ensure</c> (or another process's debootstrap) may take.</summary>
    public static readonly TimeSpan ChrootBuildTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The folder holding Venus.sln, searched upwards from the test assembly's folder.</summary>
    public static string FindRepoRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "Venus.sln")))
                return dir;
        }
        throw new InvalidOperationException($"no Venus.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// Runs <c>eng/peers.sh ensure</c> (building the chroot if needed) and returns the chroot's
    /// folder (normally /var/cache/venus-peers).
    /// </summary>
    public static string EnsureChroot(string repoRoot)
    {
        string script = Path.Combine(repoRoot, "eng", "peers.sh");
        ProcessResult path = ProcessRunner.Run("bash", [script, "path"], TimeSpan.FromSeconds(10), repoRoot);
        if (path.ExitCode != 0)
            throw new InvalidOperationException($"eng/peers.sh path failed: {path}");
        string peers = path.Stdout.Trim();

        // peers.sh ensure restarts a debootstrap that is not finished; if another process (a
        // parallel test run) is building the chroot right now, wait for it instead of racing it.
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
}
