using System.Net.Sockets;
using System.Runtime.InteropServices;
using Venus.Native;

namespace Venus.GuestIcd.Tests;

/// <summary>The lie a <see cref="LyingProxy"/> tells once its delay has passed.</summary>
public enum ProxyLie
{
    /// <summary>The ring's head jumps 4 KiB past the guest's tail (rewritten every millisecond for 2 s).</summary>
    RingHeadPastTail,

    /// <summary>Both connections are shut down: the host "closes the socket" in the middle of the run.</summary>
    HangUp,
}

/// <summary>
/// A test-only vtest proxy in front of a real host (venus-host): every byte and fd goes through
/// unchanged (host-to-guest fds are passed on with SCM_RIGHTS), so the app runs for real; after
/// <c>delay</c> it tells one lie. It recognises the guest's ring by its blob size (our ICD's ring:
/// 192 bytes of control words + 1 MiB + 4, the host's memfd perhaps rounded up to pages; its reply
/// buffer is 1 MiB exactly) and maps it to rewrite the head.
/// </summary>
public sealed unsafe class LyingProxy : IDisposable
{
    private const ulong RingBlobSize = 192 + (1 << 20) + 4;

    private readonly Socket _listener;
    private readonly string _upstream;
    private readonly ProxyLie _lie;
    private readonly TimeSpan _delay;
    private readonly List<string> _log = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];

    public LyingProxy(string socketPath, string chrootSocketPath, string upstreamSocketPath, ProxyLie lie, TimeSpan delay)
    {
        SocketPath = socketPath;
        ChrootSocketPath = chrootSocketPath;
        _upstream = upstreamSocketPath;
        _lie = lie;
        _delay = delay;
        if (File.Exists(socketPath))
            File.Delete(socketPath);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(4);
        new Thread(Accept) { IsBackground = true, Name = "lying-proxy" }.Start();
    }

    public string SocketPath { get; }

    public string ChrootSocketPath { get; }

    public string LogText()
    {
        lock (_log)
            return string.Join('\n', _log);
    }

    private void Log(string line)
    {
        lock (_log)
            _log.Add(line);
    }

    private void Accept()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket guest = _listener.Accept();
                var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                host.Connect(new UnixDomainSocketEndPoint(_upstream));
                lock (_sockets)
                    _sockets.Add(guest);
                lock (_sockets)
                    _sockets.Add(host);
                Log("guest connected");
                var connection = new Connection(this, guest, host);
                new Thread(connection.GuestToHost) { IsBackground = true }.Start();
                new Thread(connection.HostToGuest) { IsBackground = true }.Start();
                new Thread(connection.Lie) { IsBackground = true }.Start();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_sockets)
            foreach (Socket s in _sockets)
                s.Dispose();
        try { File.Delete(SocketPath); } catch (IOException) { }
    }

    private sealed class Connection(LyingProxy proxy, Socket guest, Socket host)
    {
        private byte* _ring;

        public void GuestToHost()
        {
            byte[] buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    int n = guest.Receive(buffer);
                    if (n <= 0)
                        break;
                    host.Send(buffer.AsSpan(0, n));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
            try { host.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }

        public void HostToGuest()
        {
            const int MaxFds = 8;
            byte[] buffer = new byte[64 * 1024];
            byte* control = stackalloc byte[16 + MaxFds * 4];
            int hostFd = (int)host.Handle, guestFd = (int)guest.Handle;
            try
            {
                while (true)
                {
                    fixed (byte* data = buffer)
                    {
                        var iov = new Libc.IoVec { iov_base = data, iov_len = (nuint)buffer.Length };
                        var msg = new Libc.MsgHdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = (nuint)(Libc.CmsgDataOffset + MaxFds * 4) };
                        nint n = Libc.RecvMsg(hostFd, &msg, 0);
                        if (n <= 0)
                            break;
                        int fdCount = 0;
                        int* fds = (int*)(control + 16);
                        if (msg.msg_controllen >= 16 && *(int*)(control + 8) == 1 && *(int*)(control + 12) == 1)
                            fdCount = (int)((*(nuint*)control - 16) / 4);
                        // A read stops right after the one-byte message that carries fds (vtest sends each fd
                        // with 1 byte of its own): the fds go with the last byte, the rest plainly before it,
                        // or the guest's plain read of a header would swallow them.
                        nint plain = fdCount > 0 ? n - 1 : n;
                        if (plain > 0)
                        {
                            var plainIov = new Libc.IoVec { iov_base = data, iov_len = (nuint)plain };
                            var plainMsg = new Libc.MsgHdr { msg_iov = &plainIov, msg_iovlen = 1 };
                            if (Libc.SendMsg(guestFd, &plainMsg, Libc.MSG_NOSIGNAL) != plain)
                                break;
                        }
                        if (fdCount > 0)
                        {
                            var fdIov = new Libc.IoVec { iov_base = data + plain, iov_len = 1 };
                            var fdMsg = new Libc.MsgHdr { msg_iov = &fdIov, msg_iovlen = 1, msg_control = control, msg_controllen = (nuint)(Libc.CmsgDataOffset + ((fdCount * 4 + 7) & ~7)) };
                            if (Libc.SendMsg(guestFd, &fdMsg, Libc.MSG_NOSIGNAL) != 1)
                                break;
                        }
                        for (int i = 0; i < fdCount; i++)
                        {
                            long size = Libc.Lseek(fds[i], 0, Libc.SEEK_END);
                            if (size >= (long)RingBlobSize && size < (long)RingBlobSize + 65536 && _ring is null)
                            {
                                void* p = Libc.Mmap(null, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fds[i], 0);
                                if (p != (void*)-1)
                                {
                                    _ring = (byte*)p;
                                    proxy.Log("found the guest's ring");
                                }
                            }
                            Libc.Close(fds[i]);
                        }
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
            try { guest.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }

        public void Lie()
        {
            if (proxy._stop.Token.WaitHandle.WaitOne(proxy._delay))
                return;
            if (proxy._lie == ProxyLie.HangUp)
            {
                proxy.Log("lie: hanging up both connections");
                try { guest.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
                try { host.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
                return;
            }
            byte* ring = _ring;
            if (ring is null)
            {
                proxy.Log("no ring found: no lie told");
                return;
            }
            uint* head = (uint*)ring, tail = (uint*)(ring + 64);
            proxy.Log($"lie: head 0x{Volatile.Read(ref *tail) + 4096:x} past tail 0x{Volatile.Read(ref *tail):x} (for 2 s)");
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(2);
            while (DateTime.UtcNow < until && !proxy._stop.IsCancellationRequested)
            {
                Volatile.Write(ref *head, Volatile.Read(ref *tail) + 4096);
                Thread.Sleep(1);
            }
        }
    }
}
