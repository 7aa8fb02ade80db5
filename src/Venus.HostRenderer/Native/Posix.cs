using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Venus.HostRenderer.Native;

/// <summary>
/// What the host needs from libc beyond single calls: guest-shared memory, the log file, thread
/// priorities and sync_file waits. libc calls go through Tmds.LibC (<see cref="LibC"/>); only
/// those it lacks (gettid, setpriority) are imported here.
/// </summary>
internal static unsafe partial class Posix
{
    /// <summary>A file opened for appending (O_APPEND: whole writes from several processes do not interleave), close-on-exec.</summary>
    public static int OpenAppend(string path)
    {
        byte[] name = [.. System.Text.Encoding.UTF8.GetBytes(path), 0];
        fixed (byte* p = name)
            return LibC.open(p, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_APPEND | LibC.O_CLOEXEC, 420);
    }

    /// <summary>One write() of the whole buffer (log lines; a short write is not retried).</summary>
    public static void Write(int fd, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes) LibC.write(fd, p, bytes.Length);
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int gettid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, uint who, int priority);

    /// <summary>Sets the nice value of thread <paramref name="tid"/> (Linux nice values are per thread; raising a priority needs the right to: false without it).</summary>
    public static bool NiceThread(int tid, int nice)
    {
        const int PRIO_PROCESS = 0;
        return setpriority(PRIO_PROCESS, (uint)tid, nice) == 0;
    }

    /// <summary>The size of the file behind <paramref name="fd"/>, or -1.</summary>
    public static long FileSize(int fd) => LibC.lseek(fd, 0, LibC.SEEK_END);

    /// <summary>
    /// Shared memory for the guest: a memfd mapped read-write for <paramref name="size"/> bytes. The
    /// file holds <paramref name="fileSize"/> bytes (default: <paramref name="size"/>; a smaller value
    /// must stay within the last mapped page). Sealing is allowed: libvirglrenderer seals the memfds a
    /// render server hands it against shrinking and growing.
    /// </summary>
    public static bool CreateSharedMemory(string name, ulong size, out int fd, out byte* map, ulong fileSize = 0)
    {
        map = null;
        byte[] utf8 = [.. System.Text.Encoding.UTF8.GetBytes(name), 0];
        fixed (byte* n = utf8) fd = LibC.memfd_create(n, LibC.MFD_CLOEXEC | LibC.MFD_ALLOW_SEALING);
        if (fd < 0) return false;
        if (LibC.ftruncate(fd, (long)(fileSize == 0 ? size : fileSize)) != 0) { LibC.close(fd); fd = -1; return false; }
        var p = LibC.mmap(null, (size_t)size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
        if (p == LibC.MAP_FAILED) { LibC.close(fd); fd = -1; return false; }
        map = (byte*)p;
        return true;
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a sync_file to signal (POLLIN); false on timeout or error.</summary>
    public static bool WaitSyncFile(int fd, int timeoutMs)
    {
        var p = new pollfd { fd = fd, events = LibC.POLLIN };
        long deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            p.revents = 0;
            int left = (int)Math.Max(0, deadline - Environment.TickCount64);
            int n = LibC.poll(&p, 1, left);
            if (n > 0) return (p.revents & LibC.POLLIN) != 0;
            if (n == 0) return false;
            if (LibC.errno != LibC.EINTR || left == 0) return false;
        }
    }
}
