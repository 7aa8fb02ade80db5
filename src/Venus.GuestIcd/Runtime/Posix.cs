using System.Runtime.InteropServices;

namespace Venus.GuestIcd.Runtime;

internal static unsafe partial class Posix
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long tv_sec;
        public long tv_nsec;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, TimeSpec* time);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    public static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);

    public const int ClockMonotonic = 1, ClockMonotonicRaw = 4;

    private const int MadvPopulateWrite = 23; // Linux 5.14

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
        return Madvise((void*)start, end - start, MadvPopulateWrite) == 0;
    }

    /// <summary>clock_gettime(2) of <paramref name="clock"/> in nanoseconds.</summary>
    public static ulong ClockNanoseconds(int clock)
    {
        TimeSpec t;
        if (ClockGetTime(clock, &t) != 0)
            throw new InvalidOperationException($"clock_gettime({clock}) failed");
        return (ulong)t.tv_sec * 1_000_000_000UL + (ulong)t.tv_nsec;
    }
}
