using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace Venus.Native;

/// <summary>
/// The one libc/ioctl layer of the tree (Linux, LP64: x86-64 and aarch64 glibc). A call that
/// Tmds.LibC declares is an inlined forward to <see cref="LibC"/>; the rest are this file's own
/// <c>LibraryImport</c>s (ioctl, poll, nanosleep, clock_gettime, realpath, fstat, lstat, gettid,
/// setpriority), each declared once. Every signature is blittable, so no call marshals or allocates.
/// Errors: a call that sets errno (SetLastError) leaves it in <see cref="LastError"/>, read right
/// after a call that returned -1; nanosleep, clock_gettime, realpath, gettid and setpriority do not
/// keep it (nothing reads it).
/// </summary>
public static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int O_RDWR = 2;
    public const int O_WRONLY = 1;
    public const int O_CREAT = 0x40;
    public const int O_APPEND = 0x400;
    public const int O_CLOEXEC = 0x80000;

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

    public const uint MFD_CLOEXEC = 0x1;
    public const uint MFD_ALLOW_SEALING = 0x2;

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
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
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

    /// <summary><c>struct msghdr</c> (LP64 glibc: size_t lengths, int flags; 56 bytes; cast to Tmds.LibC's own in the forwards).</summary>
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

    /// <summary>CMSG_ALIGN(sizeof(struct cmsghdr)) on LP64.</summary>
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

    // ---- calls Tmds.LibC declares: inlined forwards ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Socket(int domain, int type, int protocol) => LibC.socket(domain, type, protocol);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Connect(int fd, SockaddrUn* addr, uint addrlen) => LibC.connect(fd, (sockaddr*)addr, addrlen);

    public const int SHUT_RDWR = 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Shutdown(int fd, int how) => LibC.shutdown(fd, how);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Send(int fd, void* buf, nuint len, int flags) => (nint)(long)LibC.send(fd, buf, (size_t)(ulong)len, flags);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Recv(int fd, void* buf, nuint len, int flags) => (nint)(long)LibC.recv(fd, buf, (size_t)(ulong)len, flags);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint SendMsg(int fd, MsgHdr* msg, int flags) => (nint)(long)LibC.sendmsg(fd, (msghdr*)msg, flags);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint RecvMsg(int fd, MsgHdr* msg, int flags) => (nint)(long)LibC.recvmsg(fd, (msghdr*)msg, flags);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SocketPair(int domain, int type, int protocol, int* sv) => LibC.socketpair(domain, type, protocol, sv);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* Mmap(void* addr, nuint length, int prot, int flags, int fd, long offset) => LibC.mmap(addr, (size_t)(ulong)length, prot, flags, fd, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Munmap(void* addr, nuint length) => LibC.munmap(addr, (size_t)(ulong)length);

    /// <summary>madvise(2); errno is not read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Madvise(void* addr, nuint length, int advice) => LibC.madvise(addr, (size_t)(ulong)length, advice);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Lseek(int fd, long offset, int whence) => LibC.lseek(fd, offset, whence);

    public const int SEEK_SET = 0, SEEK_END = 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Close(int fd) => LibC.close(fd);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dup(int fd) => LibC.dup(fd);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EventFd(uint initval, int flags) => LibC.eventfd(initval, flags);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Read(int fd, void* buf, nuint count) => (nint)(long)LibC.read(fd, buf, (size_t)(ulong)count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Pread(int fd, void* buf, nuint count, long offset) => (nint)(long)LibC.pread(fd, buf, (size_t)(ulong)count, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Write(int fd, void* buf, nuint count) => (nint)(long)LibC.write(fd, buf, (size_t)(ulong)count);

    /// <summary>open(2) of a NUL-terminated path (the mode is passed always; it matters with O_CREAT).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Open(byte* path, int flags, int mode) => LibC.open(path, flags, (ushort)mode);

    /// <summary>open(2) of a path given as a string (UTF-8 on the stack up to 1 KiB).</summary>
    public static int Open(string path, int flags, int mode)
    {
        int length = Encoding.UTF8.GetByteCount(path);
        Span<byte> name = length < 1024 ? stackalloc byte[length + 1] : new byte[length + 1];
        Encoding.UTF8.GetBytes(path, name);
        name[length] = 0;
        fixed (byte* p = name)
            return Open(p, flags, mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MemfdCreate(byte* name, uint flags) => LibC.memfd_create(name, flags);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Ftruncate(int fd, long length) => LibC.ftruncate(fd, length);

    /// <summary><c>fcntl(fd, cmd, int arg)</c>; used for F_DUPFD and F_DUPFD_CLOEXEC only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Fcntl(int fd, int cmd, int arg) => LibC.fcntl(fd, cmd, arg);

    /// <summary>statx(2) of a NUL-terminated path into a buffer of at least 256 bytes (the kernel's struct statx; the layout is the same on every architecture).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Statx(int dirfd, byte* path, int flags, uint mask, byte* buffer) => LibC.statx(dirfd, path, flags, mask, (statx*)buffer);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Bind(int fd, SockaddrUn* addr, uint addrlen) => LibC.bind(fd, (sockaddr*)addr, addrlen);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Listen(int fd, int backlog) => LibC.listen(fd, backlog);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Accept4(int fd, void* addr, void* addrlen, int flags) => LibC.accept4(fd, (sockaddr*)addr, (socklen_t*)addrlen, flags);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SetSockOpt(int fd, int level, int optname, void* optval, uint optlen) => LibC.setsockopt(fd, level, optname, optval, optlen);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int GetSockOpt(int fd, int level, int optname, void* optval, uint* optlen) => LibC.getsockopt(fd, level, optname, optval, (socklen_t*)optlen);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Unlink(byte* path) => LibC.unlink(path);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Kill(int pid, int signal) => LibC.kill(pid, signal);

    // ---- calls Tmds.LibC lacks (or declares unusably): our own imports ----

    /// <summary>ioctl(2) with a pointer argument (the DRM ioctls).</summary>
    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nint request, void* arg);

    /// <summary>poll(2). Ours, not Tmds.LibC's: that one does not keep errno, and callers retry on EINTR.</summary>
    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint nfds, int timeout);

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public nint tv_sec;
        public nint tv_nsec;
    }

    [LibraryImport(Library, EntryPoint = "nanosleep")]
    public static partial int NanoSleep(Timespec* request, Timespec* remaining);

    public const int CLOCK_MONOTONIC = 1, CLOCK_MONOTONIC_RAW = 4;

    [LibraryImport(Library, EntryPoint = "clock_gettime")]
    public static partial int ClockGetTime(int clock, Timespec* time);

    /// <summary>realpath(3) of a NUL-terminated path with a NULL buffer: a malloc'd result (free it with NativeMemory.Free), or null.</summary>
    [LibraryImport(Library, EntryPoint = "realpath")]
    public static partial byte* RealPath(byte* path, byte* resolved);

    /// <summary>gettid(2): the calling thread's id.</summary>
    [LibraryImport(Library, EntryPoint = "gettid")]
    public static partial int GetTid();

    public const int PRIO_PROCESS = 0;

    /// <summary>setpriority(2); with PRIO_PROCESS and a thread id it sets that thread's nice value.</summary>
    [LibraryImport(Library, EntryPoint = "setpriority")]
    public static partial int SetPriority(int which, uint who, int priority);

    /// <summary>
    /// <c>fstat</c> into a caller-provided <c>struct stat</c> buffer of at least
    /// <see cref="StatBufferSize"/> bytes (glibc exports fstat and lstat since 2.33; Tmds.LibC calls
    /// the older __fxstat and __lxstat, which newer glibc keeps only for old binaries).
    /// </summary>
    [LibraryImport(Library, EntryPoint = "fstat", SetLastError = true)]
    public static partial int Fstat(int fd, void* statbuf);

    /// <summary><c>lstat</c> into a caller-provided <c>struct stat</c> buffer of at least <see cref="StatBufferSize"/> bytes.</summary>
    [LibraryImport(Library, EntryPoint = "lstat", SetLastError = true)]
    public static partial int Lstat(byte* path, void* statbuf);

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

    // ---- constants and structs of the server side ----

    public const int SO_SNDTIMEO = 21;
    public const int EADDRINUSE = 98;
    public const int ECONNABORTED = 103;

    public const int F_DUPFD = 0;
    public const int F_DUPFD_CLOEXEC = 1030;

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
