using System.Runtime.InteropServices;

namespace Venus.HostRenderer.Native;

/// <summary>The few libc calls the host needs for guest-shared memory.</summary>
internal static unsafe partial class Posix
{
    public const int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
    public const uint MFD_CLOEXEC = 1;
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

    /// <summary>Shared memory for the guest: a memfd of <paramref name="size"/> bytes, mapped read-write.</summary>
    public static bool CreateSharedMemory(string name, ulong size, out int fd, out byte* map)
    {
        map = null;
        fd = memfd_create(name, MFD_CLOEXEC);
        if (fd < 0) return false;
        if (ftruncate(fd, (long)size) != 0) { close(fd); fd = -1; return false; }
        var p = mmap(null, (nuint)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) { close(fd); fd = -1; return false; }
        map = (byte*)p;
        return true;
    }
}
