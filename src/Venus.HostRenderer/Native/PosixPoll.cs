using System.Runtime.InteropServices;

namespace Venus.HostRenderer.Native;

internal static unsafe partial class Posix
{
    [StructLayout(LayoutKind.Sequential)]
    struct PollFd
    {
        public int fd;
        public short events;
        public short revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int PollFds(PollFd* fds, nuint count, int timeoutMs);

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a sync_file to signal (POLLIN); false on timeout or error.</summary>
    public static bool WaitSyncFile(int fd, int timeoutMs)
    {
        var p = new PollFd { fd = fd, events = 1 };
        long deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            p.revents = 0;
            int left = (int)Math.Max(0, deadline - Environment.TickCount64);
            int n = PollFds(&p, 1, left);
            if (n > 0) return (p.revents & 1) != 0;
            if (n == 0) return false;
            if (Marshal.GetLastPInvokeError() != 4 || left == 0) return false; // EINTR: again
        }
    }
}
