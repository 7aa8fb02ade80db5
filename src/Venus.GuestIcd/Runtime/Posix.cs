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

    public const int ClockMonotonic = 1, ClockMonotonicRaw = 4;

    /// <summary>clock_gettime(2) of <paramref name="clock"/> in nanoseconds.</summary>
    public static ulong ClockNanoseconds(int clock)
    {
        TimeSpec t;
        if (ClockGetTime(clock, &t) != 0)
            throw new InvalidOperationException($"clock_gettime({clock}) failed");
        return (ulong)t.tv_sec * 1_000_000_000UL + (ulong)t.tv_nsec;
    }
}
