using System.Runtime.InteropServices;

namespace Venus.HostRenderer.Rings;

/// <summary>Sub-millisecond sleeps for the ring's back-off (Thread.Sleep has 1 ms granularity).</summary>
internal static unsafe partial class RingSleep
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(Timespec* request, Timespec* remaining);

    private static bool s_native = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    /// <summary>Sleep about <paramref name="microseconds"/> µs (one call; an interrupted sleep just ends early).</summary>
    public static void Microseconds(long microseconds)
    {
        if (microseconds <= 0)
            return;
        if (s_native)
        {
            try
            {
                var ts = new Timespec
                {
                    Seconds = (nint)(microseconds / 1_000_000),
                    Nanoseconds = (nint)(microseconds % 1_000_000 * 1000),
                };
                NanoSleep(&ts, null);
                return;
            }
            catch (EntryPointNotFoundException) { s_native = false; }
            catch (DllNotFoundException) { s_native = false; }
        }

        if (microseconds >= 1000)
            Thread.Sleep((int)Math.Min(microseconds / 1000, int.MaxValue));
        else
            Thread.Sleep(0);
    }
}
