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

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(TimeSpec* request, TimeSpec* remaining);

    public static void SleepMicroseconds(uint us)
    {
        TimeSpec t = new() { tv_sec = us / 1_000_000, tv_nsec = (us % 1_000_000) * 1000L };
        NanoSleep(&t, null);
    }
}
