using System.Runtime.InteropServices;

namespace Venus.Transport.Vtest.Interop;

/// <summary>
/// The few libc calls the vtest transport needs. All structs are blittable and laid out for
/// x86-64 Linux glibc, so no call marshals or allocates. Errors: read
/// <see cref="Marshal.GetLastPInvokeError"/> right after a call that returned -1.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;

    /// <summary>A peer that went away gives EPIPE instead of SIGPIPE.</summary>
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_CTRUNC = 0x8;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;

    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_SHARED = 0x01;
    public static readonly void* MAP_FAILED = (void*)-1;

    public const short POLLIN = 0x001;
    public const short POLLERR = 0x008;
    public const short POLLHUP = 0x010;
    public const short POLLNVAL = 0x020;
    public const short POLLRDHUP = 0x2000;
    public const int MSG_PEEK = 0x2;
    public const int MSG_DONTWAIT = 0x40;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EPIPE = 32;
    public const int ECONNRESET = 104;
    public const int ECONNREFUSED = 111;

    /// <summary><c>struct sockaddr_un</c>: sa_family_t (u16) + 108-byte path.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockaddrUn
    {
        public const int PathCapacity = 108;
        public ushort sun_family;
        public fixed byte sun_path[PathCapacity];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* iov_base;
        public nuint iov_len;
    }

    /// <summary><c>struct msghdr</c> (glibc x86-64: size_t lengths, int flags; 56 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* msg_name;
        public uint msg_namelen;
        public IoVec* msg_iov;
        public nuint msg_iovlen;
        public void* msg_control;
        public nuint msg_controllen;
        public int msg_flags;
    }

    /// <summary><c>struct cmsghdr</c>; the data follows at <see cref="CmsgDataOffset"/>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct CmsgHdr
    {
        public nuint cmsg_len;
        public int cmsg_level;
        public int cmsg_type;
    }

    /// <summary>CMSG_ALIGN(sizeof(struct cmsghdr)) on x86-64.</summary>
    public const int CmsgDataOffset = 16;

    /// <summary>CMSG_LEN(sizeof(int)).</summary>
    public const int CmsgLenOneFd = CmsgDataOffset + sizeof(int);

    /// <summary>CMSG_SPACE(sizeof(int)): the control buffer for one passed fd.</summary>
    public const int CmsgSpaceOneFd = CmsgDataOffset + 8;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int fd;
        public short events;
        public short revents;
    }

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Library, EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, SockaddrUn* addr, uint addrlen);

    public const int SHUT_RDWR = 2;

    [LibraryImport(Library, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport(Library, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, void* buf, nuint len, int flags);

    [LibraryImport(Library, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, void* buf, nuint len, int flags);

    [LibraryImport(Library, EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MsgHdr* msg, int flags);

    /// <summary>
    /// sendmsg of <paramref name="length"/> data bytes with one fd as SCM_RIGHTS, retried on EINTR.
    /// Returns the bytes sent, or -1 with errno in <see cref="LastError"/>.
    /// </summary>
    public static nint SendWithFd(int socket, void* data, nuint length, int fd)
    {
        ulong* control = stackalloc ulong[CmsgSpaceOneFd / sizeof(ulong)];
        new Span<byte>(control, CmsgSpaceOneFd).Clear();
        var cmsg = (CmsgHdr*)control;
        cmsg->cmsg_len = CmsgLenOneFd;
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        *(int*)((byte*)control + CmsgDataOffset) = fd;
        IoVec iov = new() { iov_base = data, iov_len = length };
        MsgHdr message = new() { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = CmsgSpaceOneFd };
        nint sent;
        do sent = SendMsg(socket, &message, MSG_NOSIGNAL);
        while (sent < 0 && LastError == EINTR);
        return sent;
    }

    /// <summary>
    /// recvmsg of up to <paramref name="length"/> data bytes and at most one SCM_RIGHTS fd
    /// (close-on-exec), retried on EINTR. Returns the bytes received (0 = closed) or -1 with errno
    /// in <paramref name="errno"/>; <paramref name="fd"/> is -1 when none came, and
    /// <paramref name="truncated"/> says the sender passed more control data than one fd.
    /// </summary>
    public static nint ReceiveWithFd(int socket, void* data, nuint length, out int fd, out bool truncated, out int errno)
    {
        ulong* control = stackalloc ulong[CmsgSpaceOneFd / sizeof(ulong)];
        new Span<byte>(control, CmsgSpaceOneFd).Clear();
        IoVec iov = new() { iov_base = data, iov_len = length };
        MsgHdr message = new() { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = CmsgSpaceOneFd };
        nint received;
        errno = 0;
        do
        {
            received = RecvMsg(socket, &message, MSG_CMSG_CLOEXEC);
            errno = received < 0 ? LastError : 0;
        } while (received < 0 && errno == EINTR);
        var cmsg = (CmsgHdr*)control;
        fd = received > 0 && message.msg_controllen >= (nuint)CmsgLenOneFd && cmsg->cmsg_level == SOL_SOCKET
             && cmsg->cmsg_type == SCM_RIGHTS && cmsg->cmsg_len >= (nuint)CmsgLenOneFd
            ? *(int*)((byte*)control + CmsgDataOffset)
            : -1;
        truncated = (message.msg_flags & MSG_CTRUNC) != 0;
        return received;
    }

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    public static partial int SocketPair(int domain, int type, int protocol, int* sv);

    [LibraryImport(Library, EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    public static partial void* Mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport(Library, EntryPoint = "lseek", SetLastError = true)]
    public static partial long Lseek(int fd, long offset, int whence);

    public const int SEEK_SET = 0, SEEK_END = 2;

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(void* addr, nuint length);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buf, nuint count);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buf, nuint count);

    // ---- server side (VtestServer) and shared memory (VtestSharedMemory) ----

    public const int SO_SNDTIMEO = 21;
    public const int EADDRINUSE = 98;
    public const int ECONNABORTED = 103;

    public const int F_DUPFD = 0;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const uint MFD_CLOEXEC = 0x1;

    /// <summary>File type bits of <c>st_mode</c>.</summary>
    public const uint S_IFMT = 0xF000;
    public const uint S_IFSOCK = 0xC000;

    /// <summary><c>struct timeval</c> (LP64: two longs).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TimeVal
    {
        public long tv_sec;
        public long tv_usec;
    }

    [LibraryImport(Library, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockaddrUn* addr, uint addrlen);

    [LibraryImport(Library, EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport(Library, EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, void* addr, void* addrlen, int flags);

    [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int optname, void* optval, uint optlen);

    [LibraryImport(Library, EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int fd, int level, int optname, void* optval, uint* optlen);

    [LibraryImport(Library, EntryPoint = "unlink", SetLastError = true)]
    public static partial int Unlink(byte* path);

    [LibraryImport(Library, EntryPoint = "memfd_create", SetLastError = true)]
    public static partial int MemfdCreate(byte* name, uint flags);

    [LibraryImport(Library, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    /// <summary><c>fcntl(fd, cmd, int arg)</c>; used for F_DUPFD and F_DUPFD_CLOEXEC only.</summary>
    [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int cmd, int arg);

    /// <summary>
    /// <c>lstat</c> (exported by glibc since 2.33) into a caller-provided <c>struct stat</c>
    /// buffer of at least <see cref="StatBufferSize"/> bytes; see <see cref="StatMode"/>/<see cref="StatIno"/>.
    /// </summary>
    [LibraryImport(Library, EntryPoint = "lstat", SetLastError = true)]
    public static partial int Lstat(byte* path, void* statbuf);

    /// <summary>Larger than <c>struct stat</c> on every LP64 Linux ABI (x86-64: 144, aarch64: 128).</summary>
    public const int StatBufferSize = 256;

    /// <summary><c>st_mode</c> from an <see cref="Lstat"/> buffer (x86-64 and aarch64 layouts).</summary>
    public static uint StatMode(byte* statbuf) =>
        RuntimeInformation.ProcessArchitecture == Architecture.X64 ? *(uint*)(statbuf + 24) : *(uint*)(statbuf + 16);

    /// <summary><c>st_ino</c> (offset 8 on both x86-64 and aarch64).</summary>
    public static ulong StatIno(byte* statbuf) => *(ulong*)(statbuf + 8);

    /// <summary><c>st_dev</c> (offset 0).</summary>
    public static ulong StatDev(byte* statbuf) => *(ulong*)statbuf;

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
