namespace Venus.Layout.Tests;

/// <summary>
/// The Debian trixie chroot of <c>eng/peers.sh</c> (gcc 14, libvulkan-dev with the 1.4.309 headers,
/// the same registry the generator read). Any failure to provide it throws with the reason: the
/// layout tests fail, they never skip.
/// </summary>
public sealed class PeersChroot
{
    private static readonly TimeSpan GccTimeout = TimeSpan.FromSeconds(120);

    private PeersChroot(string root) => Root = root;

    /// <summary>The chroot's folder on this machine (normally /var/cache/venus-peers).</summary>
    public string Root { get; }

    /// <summary>Runs <c>eng/peers.sh ensure</c> (building the chroot if needed) and checks that it has gcc.</summary>
    public static PeersChroot Ensure()
    {
        string root = PeersEnvironment.EnsureChroot(PeersEnvironment.FindRepoRoot());
        foreach (string needed in new[] { "usr/bin/gcc", "usr/include/vulkan/vulkan.h", "usr/include/vulkan/vulkan_core.h" })
        {
            if (!File.Exists(Path.Combine(root, needed)))
                throw new InvalidOperationException(
                    $"the peers chroot at {root} lacks /{needed} (needs packages gcc, libc6-dev, libvulkan-dev; remove it and run eng/peers.sh ensure)");
        }
        return new PeersChroot(root);
    }

    /// <summary>
    /// Places <paramref name="files"/> in a fresh folder under the chroot's /tmp, runs
    /// <paramref name="command"/> there with <c>sh -c</c> inside the chroot (the folder's chroot path
    /// is in <c>$W</c>) and removes the folder.
    /// </summary>
    public ProcessResult RunInScratch(IReadOnlyDictionary<string, string> files, string command)
    {
        string name = $"venus-layout-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        string hostDir = Path.Combine(Root, "tmp", name);
        Directory.CreateDirectory(hostDir);
        try
        {
            foreach ((string file, string text) in files)
                File.WriteAllText(Path.Combine(hostDir, file), text);
            return ProcessRunner.Run("chroot", [Root, "sh", "-c", $"W=/tmp/{name}; cd \"$W\" && {command}"], GccTimeout);
        }
        finally
        {
            try { Directory.Delete(hostDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary><c>gcc -E -P</c> of <c>#include &lt;vulkan/vulkan.h&gt;</c>: exactly the declarations the probe sees.</summary>
    public string PreprocessVulkanHeader()
    {
        ProcessResult r = RunInScratch(new Dictionary<string, string> { ["h.c"] = "#include <vulkan/vulkan.h>\n" },
            "gcc -std=c11 -E -P h.c");
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"gcc -E of <vulkan/vulkan.h> in the peers chroot failed: {r}");
        return r.Stdout;
    }

    /// <summary>Compiles <paramref name="source"/> with gcc in the chroot, runs it there and returns its stdout.</summary>
    public string CompileAndRun(string source)
    {
        ProcessResult r = RunInScratch(new Dictionary<string, string> { ["probe.c"] = source },
            "gcc -std=c11 -O0 -Wall -o probe probe.c && ./probe");
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"compiling or running the layout probe in the peers chroot failed: {Truncate(r.ToString(), 20000)}");
        return r.Stdout;
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + $"\n... ({s.Length - max} more characters)";
}
