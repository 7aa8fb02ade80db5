using System.Runtime.InteropServices;

namespace Venus.GuestIcd.Runtime;

/// <summary>The fd calls external memory and sync fds need (Runtime/ExternalMemory.cs, ExternalSync.cs).</summary>
internal static unsafe partial class Posix
{
    private const int FDupFdCloexec = 1030;   // F_DUPFD_CLOEXEC
    private const short PollIn = 0x1;
    private const int EIntr = 4;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStat(int fd, byte* stat);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int fd;
        public short events;
        public short revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int PollFds(PollFd* fds, nuint count, int timeoutMs);

    /// <summary>A new close-on-exec fd of the same open file, or -1.</summary>
    public static int DupCloexec(int fd) => fd < 0 ? -1 : Fcntl(fd, FDupFdCloexec, 0);

    /// <summary>
    /// The open file's identity (st_dev, st_ino): the same for every fd of one memfd or dma-buf, so an fd
    /// the app passes back is recognised whatever its number. st_dev and st_ino are the first two 64-bit
    /// fields of struct stat on x86_64 and on aarch64.
    /// </summary>
    public static bool FileIdentity(int fd, out (ulong Device, ulong Inode) identity)
    {
        byte* stat = stackalloc byte[256];
        if (fd < 0 || FStat(fd, stat) != 0)
        {
            identity = default;
            return false;
        }
        identity = (*(ulong*)stat, *(ulong*)(stat + 8));
        return true;
    }

    /// <summary>Whether a sync_file fd has signalled (poll with no wait); null when it is not a pollable fd.</summary>
    public static bool? SyncFileSignalled(int fd)
    {
        var p = new PollFd { fd = fd, events = PollIn };
        int n = PollFds(&p, 1, 0);
        if (n < 0)
            return null;
        if (n == 0)
            return false;
        if ((p.revents & PollIn) != 0)
            return true;
        return null; // POLLERR, POLLNVAL: not a sync file
    }

    /// <summary>
    /// Waits until a sync_file fd signals (poll for POLLIN, as sync_wait does); false when poll fails
    /// (not a pollable fd) or reports an error on it.
    /// </summary>
    public static bool WaitSyncFile(int fd, out string why)
    {
        var p = new PollFd { fd = fd, events = PollIn };
        while (true)
        {
            p.revents = 0;
            int n = PollFds(&p, 1, -1);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EIntr)
                    continue;
                why = $"poll of fd {fd} failed (errno {errno})";
                return false;
            }
            if (n == 0)
                continue;
            if ((p.revents & PollIn) != 0)
            {
                why = "";
                return true;
            }
            why = $"poll of fd {fd} answered revents 0x{p.revents:x} (not a sync file?)";
            return false;
        }
    }
}
