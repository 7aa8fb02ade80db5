using System.Globalization;
using System.Runtime.InteropServices;

namespace Venus.TestSupport;

/// <summary>
/// Stops a process we started together with its descendants (virgl_test_server forks
/// virgl_render_server, which forks per context), by pid only, checking each pid's start time so a
/// reused pid is never signalled.
/// </summary>
public static partial class ProcessTree
{
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;

    private readonly record struct Proc(int Pid, int ParentPid, ulong StartTime, bool Zombie);

    public static bool IsAlive(int pid) => Read(pid) is { Zombie: false };

    /// <summary>SIGTERM to the whole tree, up to <paramref name="grace"/> to exit, then SIGKILL to what is left.</summary>
    public static void Stop(int rootPid, TimeSpan grace)
    {
        if (Read(rootPid) is not { } root)
            return;
        List<Proc> tree = [root, .. Descendants(root.Pid)];
        foreach (Proc p in tree)
            Signal(p, SIGTERM);
        long deadline = Environment.TickCount64 + (long)grace.TotalMilliseconds;
        while (tree.Any(StillAlive) && Environment.TickCount64 < deadline)
            Thread.Sleep(20);
        // Children may have been forked meanwhile.
        foreach (Proc p in tree.Where(StillAlive).ToList())
            tree.AddRange(Descendants(p.Pid));
        foreach (Proc p in tree)
            Signal(p, SIGKILL);
    }

    /// <summary>
    /// SIGKILL to the process and all its descendants at once (collected first, so a parent's death
    /// cannot hide its children), then again to anything forked meanwhile. Returns the pids signalled.
    /// </summary>
    public static IReadOnlyList<int> KillTree(int rootPid)
    {
        if (Read(rootPid) is not { } root)
            return [];
        List<Proc> tree = [root, .. Descendants(root.Pid)];
        foreach (Proc p in tree)
            Signal(p, SIGKILL);
        foreach (Proc p in tree.ToList())
            foreach (Proc late in Descendants(p.Pid))
            {
                Signal(late, SIGKILL);
                tree.Add(late);
            }
        return tree.Select(p => p.Pid).Distinct().ToList();
    }

    /// <summary>The live (non-zombie) processes among <paramref name="pids"/>.</summary>
    public static IReadOnlyList<int> Alive(IEnumerable<int> pids) => pids.Where(IsAlive).ToList();

    /// <summary>The live descendants of <paramref name="pid"/> (children, grandchildren, ...).</summary>
    public static IReadOnlyList<int> DescendantsOf(int pid) =>
        Descendants(pid).Where(p => !p.Zombie).Select(p => p.Pid).ToList();

    /// <summary>Live processes whose command line contains <paramref name="fragment"/> (a unique path of ours).</summary>
    public static IReadOnlyList<int> FindByCommandLine(string fragment)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ||
                pid == Environment.ProcessId)
                continue;
            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(fragment, StringComparison.Ordinal) && IsAlive(pid))
                    found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    private static bool StillAlive(Proc p) => Read(p.Pid) is { Zombie: false } now && now.StartTime == p.StartTime;

    private static void Signal(Proc p, int signal)
    {
        if (StillAlive(p))
            _ = Kill(p.Pid, signal);
    }

    private static List<Proc> Descendants(int pid)
    {
        var all = new List<Proc>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int p) &&
                Read(p) is { } proc)
                all.Add(proc);
        }
        var result = new List<Proc>();
        var frontier = new Queue<int>([pid]);
        while (frontier.Count > 0)
        {
            int parent = frontier.Dequeue();
            foreach (Proc child in all.Where(c => c.ParentPid == parent))
            {
                result.Add(child);
                frontier.Enqueue(child.Pid);
            }
        }
        return result;
    }

    private static Proc? Read(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            // Fields after "(comm)": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
            // cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime ...
            string[] f = stat[(close + 2)..].Split(' ');
            return new Proc(pid, int.Parse(f[1], CultureInfo.InvariantCulture),
                ulong.Parse(f[19], CultureInfo.InvariantCulture), f[0] == "Z");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static int Kill(int pid, int signal) => Venus.Native.Libc.Kill(pid, signal);
}
