using Venus.Native;

namespace Venus.HostRenderer.Native;

/// <summary>
/// What the host builds on libc (the calls themselves are <see cref="Libc"/>'s): guest-shared
/// memory, the log file, thread priorities and sync_file waits.
/// </summary>
internal static unsafe class Posix
{
    /// <summary>A file opened for appending (O_APPEND: whole writes from several processes do not interleave), close-on-exec.</summary>
    public static int OpenAppend(string path) =>
        Libc.Open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_APPEND | Libc.O_CLOEXEC, 420);

    /// <summary>One write() of the whole buffer (log lines; a short write is not retried).</summary>
    public static void Write(int fd, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes) Libc.Write(fd, p, (nuint)bytes.Length);
    }

    /// <summary>The calling thread's id (gettid).</summary>
    public static int CurrentThreadId() => Libc.GetTid();

    /// <summary>Sets the nice value of thread <paramref name="tid"/> (Linux nice values are per thread; raising a priority needs the right to: false without it).</summary>
    public static bool NiceThread(int tid, int nice) => Libc.SetPriority(Libc.PRIO_PROCESS, (uint)tid, nice) == 0;

    /// <summary>The size of the file behind <paramref name="fd"/>, or -1.</summary>
    public static long FileSize(int fd) => Libc.Lseek(fd, 0, Libc.SEEK_END);

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
        fixed (byte* n = utf8) fd = Libc.MemfdCreate(n, Libc.MFD_CLOEXEC | Libc.MFD_ALLOW_SEALING);
        if (fd < 0) return false;
        if (Libc.Ftruncate(fd, (long)(fileSize == 0 ? size : fileSize)) != 0) { Libc.Close(fd); fd = -1; return false; }
        var p = Libc.Mmap(null, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (p == Libc.MAP_FAILED) { Libc.Close(fd); fd = -1; return false; }
        map = (byte*)p;
        return true;
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a sync_file to signal (POLLIN); false on timeout or error.</summary>
    public static bool WaitSyncFile(int fd, int timeoutMs)
    {
        var p = new Libc.PollFd { fd = fd, events = Libc.POLLIN };
        long deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            p.revents = 0;
            int left = (int)Math.Max(0, deadline - Environment.TickCount64);
            int n = Libc.Poll(&p, 1, left);
            if (n > 0) return (p.revents & Libc.POLLIN) != 0;
            if (n == 0) return false;
            if (Libc.LastError != Libc.EINTR || left == 0) return false;
        }
    }
}
