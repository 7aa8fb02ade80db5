using System.Runtime.InteropServices;

namespace Venus.HostRenderer.Native;

/// <summary>The few libc calls the host needs for guest-shared memory.</summary>
internal static unsafe partial class Posix
{
    public const int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
    public const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    public static readonly void* MAP_FAILED = (void*)-1;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(void* addr, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int dup(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint write(int fd, byte* buffer, nuint count);

    /// <summary>A file opened for appending (O_APPEND: whole writes from several processes do not interleave), close-on-exec.</summary>
    public static int OpenAppend(string path)
    {
        const int O_WRONLY = 1, O_CREAT = 0x40, O_APPEND = 0x400, O_CLOEXEC = 0x80000;
        return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 420);
    }

    /// <summary>One write() of the whole buffer (log lines; a short write is not retried).</summary>
    public static void Write(int fd, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes) write(fd, p, (nuint)bytes.Length);
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

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    /// <summary>The size of the file behind <paramref name="fd"/>, or -1.</summary>
    public static long FileSize(int fd) => lseek(fd, 0, 2);

    /// <summary>
    /// Shared memory for the guest: a memfd mapped read-write for <paramref name="size"/> bytes. The
    /// file holds <paramref name="fileSize"/> bytes (default: <paramref name="size"/>; a smaller value
    /// must stay within the last mapped page). Sealing is allowed: libvirglrenderer seals the memfds a
    /// render server hands it against shrinking and growing.
    /// </summary>
    public static bool CreateSharedMemory(string name, ulong size, out int fd, out byte* map, ulong fileSize = 0)
    {
        map = null;
        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) return false;
        if (ftruncate(fd, (long)(fileSize == 0 ? size : fileSize)) != 0) { close(fd); fd = -1; return false; }
        var p = mmap(null, (nuint)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) { close(fd); fd = -1; return false; }
        map = (byte*)p;
        return true;
    }
}
