using Venus.Native;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// What the ICD builds on libc (the calls themselves are <see cref="Libc"/>'s): clocks, ring-page
/// population, and the fd calls external memory and sync fds need (ExternalMemory.cs, ExternalSync.cs).
/// </summary>
internal static unsafe class Posix
{
    public const int ClockMonotonic = Libc.CLOCK_MONOTONIC, ClockMonotonicRaw = Libc.CLOCK_MONOTONIC_RAW;

    private const int MadvPopulateWrite = 23; // Linux 5.14

    /// <summary>A new fd of the same open file, or -1 (libxcb closes the fd it sends).</summary>
    public static int Dup(int fd) => Libc.Dup(fd);

    /// <summary>Closes an fd the ICD owns.</summary>
    public static int Close(int fd) => Libc.Close(fd);

    /// <summary>
    /// Faults in the pages of a writable shared mapping in one call (madvise MADV_POPULATE_WRITE), so
    /// that first writes to them later do not take a page fault each. Best effort: false where the
    /// kernel or the mapping (a device's pages) does not allow it; nothing else changes then.
    /// </summary>
    public static bool PopulateWrite(void* address, nuint length)
    {
        const nuint page = 4096;
        nuint start = (nuint)address & ~(page - 1);
        nuint end = ((nuint)address + length + page - 1) & ~(page - 1);
        return Libc.Madvise((void*)start, end - start, MadvPopulateWrite) == 0;
    }

    /// <summary>clock_gettime(2) of <paramref name="clock"/> in nanoseconds.</summary>
    public static ulong ClockNanoseconds(int clock)
    {
        Libc.Timespec t;
        if (Libc.ClockGetTime(clock, &t) != 0)
            throw new InvalidOperationException($"clock_gettime({clock}) failed");
        return (ulong)t.tv_sec * 1_000_000_000UL + (ulong)t.tv_nsec;
    }

    /// <summary>A new close-on-exec fd of the same open file, or -1.</summary>
    public static int DupCloexec(int fd) => fd < 0 ? -1 : Libc.Fcntl(fd, Libc.F_DUPFD_CLOEXEC, 0);

    /// <summary>
    /// The open file's identity (st_dev, st_ino): the same for every fd of one memfd or dma-buf, so an fd
    /// the app passes back is recognised whatever its number.
    /// </summary>
    public static bool FileIdentity(int fd, out (ulong Device, ulong Inode) identity)
    {
        byte* stat = stackalloc byte[Libc.StatBufferSize];
        if (fd < 0 || Libc.Fstat(fd, stat) != 0)
        {
            identity = default;
            return false;
        }
        identity = (Libc.StatDev(stat), Libc.StatIno(stat));
        return true;
    }

    /// <summary>Whether a sync_file fd has signalled (poll with no wait); null when it is not a pollable fd.</summary>
    public static bool? SyncFileSignalled(int fd)
    {
        var p = new Libc.PollFd { fd = fd, events = Libc.POLLIN };
        int n = Libc.Poll(&p, 1, 0);
        if (n < 0)
            return null;
        if (n == 0)
            return false;
        if ((p.revents & Libc.POLLIN) != 0)
            return true;
        return null; // POLLERR, POLLNVAL: not a sync file
    }

    /// <summary>
    /// Waits until a sync_file fd signals (poll for POLLIN, as sync_wait does); false when poll fails
    /// (not a pollable fd) or reports an error on it.
    /// </summary>
    public static bool WaitSyncFile(int fd, out string why)
    {
        var p = new Libc.PollFd { fd = fd, events = Libc.POLLIN };
        while (true)
        {
            p.revents = 0;
            int n = Libc.Poll(&p, 1, -1);
            if (n < 0)
            {
                int errno = Libc.LastError;
                if (errno == Libc.EINTR)
                    continue;
                why = $"poll of fd {fd} failed (errno {errno})";
                return false;
            }
            if (n == 0)
                continue;
            if ((p.revents & Libc.POLLIN) != 0)
            {
                why = "";
                return true;
            }
            why = $"poll of fd {fd} answered revents 0x{p.revents:x} (not a sync file?)";
            return false;
        }
    }
}
