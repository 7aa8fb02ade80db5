using Venus.Native;

namespace Venus.Transport.RenderServer;

/// <summary>
/// SOCK_SEQPACKET packets with SCM_RIGHTS fds, as the render protocol sends them. No call allocates:
/// the caller gives the buffer and a span for the fds.
/// </summary>
public static unsafe partial class RenderSocket
{
    const int SOCK_SEQPACKET = 5;
    const int MSG_TRUNC = 0x20;
    /// <summary>Room for this many fds in one receive; a packet with more is refused (and its fds closed).</summary>
    public const int MaxFds = 4;
    const int ControlSpace = Libc.CmsgDataOffset + MaxFds * sizeof(int);

    /// <summary>A connected SEQPACKET pair, both close-on-exec.</summary>
    public static (int A, int B) CreatePair()
    {
        int* sv = stackalloc int[2];
        if (Libc.SocketPair(Libc.AF_UNIX, SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0, sv) != 0)
            throw new IOException($"socketpair(SEQPACKET) failed: {Libc.Describe(Libc.LastError)}");
        return (sv[0], sv[1]);
    }

    /// <summary>
    /// Receives one packet into <paramref name="buffer"/> and its fds (close-on-exec) into
    /// <paramref name="fds"/>. Returns the packet's length, 0 at end of stream, or -1 with errno in
    /// <paramref name="errno"/>. <paramref name="truncated"/>: the packet was longer than the buffer,
    /// or carried more fds than <paramref name="fds"/> holds (the extra fds are closed).
    /// </summary>
    public static int Receive(int socket, Span<byte> buffer, Span<int> fds, out int fdCount, out bool truncated, out int errno)
    {
        ulong* control = stackalloc ulong[(ControlSpace + 7) / 8];
        new Span<byte>(control, ControlSpace).Clear();
        nint got;
        Libc.MsgHdr message;
        fixed (byte* data = buffer)
        {
            Libc.IoVec iov = new() { iov_base = data, iov_len = (nuint)buffer.Length };
            do
            {
                message = new() { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = ControlSpace };
                got = Libc.RecvMsg(socket, &message, Libc.MSG_CMSG_CLOEXEC);
                errno = got < 0 ? Libc.LastError : 0;
            } while (got < 0 && errno == Libc.EINTR);
        }
        fdCount = 0;
        truncated = (message.msg_flags & (MSG_TRUNC | Libc.MSG_CTRUNC)) != 0;
        if (got < 0) return -1;
        var cmsg = (Libc.CmsgHdr*)control;
        if (message.msg_controllen >= (nuint)Libc.CmsgDataOffset && cmsg->cmsg_level == Libc.SOL_SOCKET
            && cmsg->cmsg_type == Libc.SCM_RIGHTS && cmsg->cmsg_len >= (nuint)Libc.CmsgDataOffset)
        {
            int n = (int)((cmsg->cmsg_len - (nuint)Libc.CmsgDataOffset) / sizeof(int));
            int* passed = (int*)((byte*)control + Libc.CmsgDataOffset);
            for (int i = 0; i < n; i++)
            {
                if (fdCount < fds.Length) fds[fdCount++] = passed[i];
                else { Libc.Close(passed[i]); truncated = true; }
            }
        }
        return (int)got;
    }

    /// <summary>Sends one packet with up to <see cref="MaxFds"/> fds; false (errno in <see cref="Libc.LastError"/>) when it could not.</summary>
    public static bool Send(int socket, ReadOnlySpan<byte> data, ReadOnlySpan<int> fds)
    {
        if (fds.Length > MaxFds) throw new ArgumentException($"at most {MaxFds} fds per packet", nameof(fds));
        ulong* control = stackalloc ulong[(ControlSpace + 7) / 8];
        int controlLength = fds.Length == 0 ? 0 : Libc.CmsgDataOffset + ((fds.Length * sizeof(int) + 7) & ~7);
        new Span<byte>(control, ControlSpace).Clear();
        if (fds.Length > 0)
        {
            var cmsg = (Libc.CmsgHdr*)control;
            cmsg->cmsg_len = (nuint)(Libc.CmsgDataOffset + fds.Length * sizeof(int));
            cmsg->cmsg_level = Libc.SOL_SOCKET;
            cmsg->cmsg_type = Libc.SCM_RIGHTS;
            fds.CopyTo(new Span<int>((byte*)control + Libc.CmsgDataOffset, fds.Length));
        }
        nint sent;
        fixed (byte* p = data)
        {
            Libc.IoVec iov = new() { iov_base = p, iov_len = (nuint)data.Length };
            Libc.MsgHdr message = new()
            {
                msg_iov = &iov, msg_iovlen = 1,
                msg_control = controlLength == 0 ? null : control, msg_controllen = (nuint)controlLength,
            };
            do sent = Libc.SendMsg(socket, &message, Libc.MSG_NOSIGNAL);
            while (sent < 0 && Libc.LastError == Libc.EINTR);
        }
        return sent == data.Length;
    }

    public static void Close(int fd)
    {
        if (fd >= 0) Libc.Close(fd);
    }

    /// <summary>Closes every fd in the span that is not -1 and sets it to -1.</summary>
    public static void CloseAll(Span<int> fds)
    {
        for (int i = 0; i < fds.Length; i++)
        {
            if (fds[i] >= 0) Libc.Close(fds[i]);
            fds[i] = -1;
        }
    }

    /// <summary>True when <paramref name="fd"/> is a SOCK_SEQPACKET socket (the render server's fd N must be).</summary>
    public static bool IsSeqPacket(int fd)
    {
        int type = 0;
        uint length = sizeof(int);
        return Libc.GetSockOpt(fd, Libc.SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_SEQPACKET;
    }

    const int SO_TYPE = 3;

    /// <summary>
    /// Marks an inherited fd close-on-exec, so worker processes do not inherit it (libvirglrenderer
    /// passes the main socket without the flag).
    /// </summary>
    public static bool SetCloseOnExec(int fd)
    {
        const int F_SETFD = 2, FD_CLOEXEC = 1;
        return Libc.Fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
    }

    /// <summary>The size of the file behind <paramref name="fd"/> (lseek to its end), or -1.</summary>
    public static long FileSize(int fd) => Libc.Lseek(fd, 0, Libc.SEEK_END);
}
