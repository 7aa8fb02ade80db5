using System.Runtime.InteropServices;
using Venus.Native;

namespace Venus.Transport.Vtest;

/// <summary>
/// One end of a connected vtest socket, for both sides (<see cref="VtestClient"/> and the server's
/// per-client loop): whole-buffer reads and writes with EINTR retried, a message as its
/// <c>u32 length, u32 id</c> header and payload dwords (§6.1), and an fd with its one data byte.
/// It reports what happened (bytes done, errno) and throws nothing: each side turns a failure into
/// its own error (the client faults the connection, the server drops the client).
/// </summary>
internal readonly unsafe struct VtestSocket(int fd)
{
    public int Fd { get; } = fd;

    /// <summary>Sends all of <paramref name="data"/> (never SIGPIPE); 0, or the errno that stopped it.</summary>
    public int WriteAll(ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint sent = Libc.Send(Fd, start + done, (nuint)(data.Length - done), Libc.MSG_NOSIGNAL);
                if (sent >= 0)
                {
                    done += (int)sent;
                    continue;
                }
                int errno = Libc.LastError;
                if (errno != Libc.EINTR)
                    return errno;
            }
        }
        return 0;
    }

    /// <summary>
    /// Reads until <paramref name="buffer"/> is full. Returns the bytes read: all of them, or fewer
    /// when the peer ended the stream (<paramref name="errno"/> 0) or a call failed (its errno).
    /// </summary>
    public int ReadExact(Span<byte> buffer, out int errno)
    {
        errno = 0;
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint received = Libc.Recv(Fd, start + done, (nuint)(buffer.Length - done), 0);
                if (received > 0)
                {
                    done += (int)received;
                    continue;
                }
                if (received == 0)
                    return done;
                int error = Libc.LastError;
                if (error == Libc.EINTR)
                    continue;
                errno = error;
                return done;
            }
            return done;
        }
    }

    /// <summary>One message: the header (<paramref name="payload"/>'s length in dwords, the id), then the payload; 0 or errno.</summary>
    public int WriteMessage(VtestCommand command, ReadOnlySpan<uint> payload)
    {
        Span<uint> message = stackalloc uint[VtestProtocol.HeaderDwords + payload.Length];
        WriteHeader(message, (uint)payload.Length, command);
        payload.CopyTo(message[VtestProtocol.HeaderDwords..]);
        return WriteAll(MemoryMarshal.AsBytes(message));
    }

    /// <summary>Fills a message header; <paramref name="length"/> counts payload dwords (bytes for CREATE_RENDERER).</summary>
    public static void WriteHeader(Span<uint> header, uint length, VtestCommand command)
    {
        header[VtestProtocol.HeaderLengthIndex] = length;
        header[VtestProtocol.HeaderIdIndex] = (uint)command;
    }

    /// <summary>One data byte (0) carrying <paramref name="fd"/> as SCM_RIGHTS, as <c>vtest_send_fd</c> sends it; the bytes sent, or -1 (errno in <see cref="Libc.LastError"/>).</summary>
    public nint SendFd(int fd)
    {
        byte data = 0;
        return Libc.SendWithFd(Fd, &data, VtestProtocol.FdMessageDataBytes, fd);
    }

    /// <summary>
    /// The data byte of an fd-carrying message and its fd: recvmsg of exactly that byte, or the fd is
    /// lost (§6.1). Returns the bytes received (0: end of stream; negative: failed, see <paramref name="errno"/>).
    /// </summary>
    public nint ReceiveFd(out int fd, out bool truncated, out int errno)
    {
        byte data;
        return Libc.ReceiveWithFd(Fd, &data, VtestProtocol.FdMessageDataBytes, out fd, out truncated, out errno);
    }
}
