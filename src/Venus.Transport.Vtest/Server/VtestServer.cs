using System.Globalization;
using System.Text;
using Venus.Native;

namespace Venus.Transport.Vtest.Server;

/// <summary>
/// The host side of vtest (fact sheet §6): listens on a unix socket and serves each connection
/// on its own thread as one venus context, answering every message Mesa's
/// <c>vn_renderer_vtest.c</c> sends the way virglrenderer 1.1.0's <c>virgl_test_server</c> does,
/// with the rendering itself delegated to one <see cref="IVtestRenderer"/> per connection.
/// </summary>
/// <remarks>
/// <para>Clients are isolated: a malformed message, an unknown command, a limit of
/// <see cref="VtestServerOptions"/> exceeded or a renderer exception ends that connection only,
/// with one log line (<c>vtest client ID 'NAME' dropped: REASON</c>); its renderer is disposed,
/// its socket, eventfds and blob fds are closed, and the others keep being served. No exception
/// escapes a server thread.</para>
/// <para>Messages (all little-endian dwords, header <c>length, id</c>): CREATE_RENDERER (length in
/// bytes, must come first), PING_PROTOCOL_VERSION, RESOURCE_BUSY_WAIT, PROTOCOL_VERSION, GET_PARAM,
/// GET_CAPSET, CONTEXT_INIT (venus capset 4 only), RESOURCE_CREATE_BLOB, RESOURCE_UNREF,
/// SUBMIT_CMD2 (one batch), SYNC_CREATE/UNREF/READ/WRITE/WAIT. The GL-only messages of vtest
/// are refused like unknown ones.</para>
/// </remarks>
public sealed unsafe class VtestServer : IDisposable, IVtestClientHost
{
    private const int ListenBacklog = 128;

    private readonly IVtestRendererFactory _factory;
    private readonly Action<string> _log;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, VtestServerClient> _clients = [];
    private readonly Thread _acceptThread;
    private readonly int _listenFd;
    private readonly int _stopFd;
    private readonly ulong _socketDev;
    private readonly ulong _socketIno;
    private int _nextClientId;
    private long _acceptedCount;
    private bool _disposed;

    private VtestServer(string socketPath, int listenFd, int stopFd, ulong socketDev, ulong socketIno,
        IVtestRendererFactory factory, VtestServerOptions options)
    {
        SocketPath = socketPath;
        Options = options;
        _listenFd = listenFd;
        _stopFd = stopFd;
        _socketDev = socketDev;
        _socketIno = socketIno;
        _factory = factory;
        Action<string>? sink = options.Log;
        _log = sink ?? (line => Console.Error.WriteLine(line));
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "vtest-accept" };
    }

    /// <summary>
    /// Binds <paramref name="socketPath"/> and starts accepting clients. A socket file left by a
    /// server that is gone (connect refused) is removed first.
    /// </summary>
    /// <exception cref="IOException">
    /// The path is served by a live server, exists and is not a socket, or socket/bind/listen failed
    /// (the message names the path and the errno).
    /// </exception>
    public static VtestServer Start(string socketPath, IVtestRendererFactory factory, VtestServerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        ArgumentNullException.ThrowIfNull(factory);
        options ??= new VtestServerOptions();
        options.Validate();
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("vtest is little-endian only");
        if (socketPath.Contains('\0'))
            throw new ArgumentException("a socket path must not contain NUL", nameof(socketPath));
        int pathBytes = Encoding.UTF8.GetByteCount(socketPath);
        if (pathBytes >= Libc.SockaddrUn.PathCapacity)
            throw new ArgumentException(
                $"vtest socket path '{socketPath}' is {pathBytes} bytes; a unix socket path must be under {Libc.SockaddrUn.PathCapacity}", nameof(socketPath));

        byte[] cPath = new byte[pathBytes + 1];
        Encoding.UTF8.GetBytes(socketPath, cPath);
        RemoveStaleSocket(socketPath, cPath);

        Libc.SockaddrUn address = default;
        address.sun_family = Libc.AF_UNIX;
        cPath.AsSpan(0, pathBytes).CopyTo(new Span<byte>(address.sun_path, Libc.SockaddrUn.PathCapacity));
        uint addressLength = (uint)(sizeof(ushort) + pathBytes + 1);

        int listenFd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (listenFd < 0)
            throw new IOException($"socket(AF_UNIX) for vtest server '{socketPath}' failed: {Libc.Describe(Libc.LastError)}");
        int stopFd = -1;
        bool bound = false;
        try
        {
            if (Libc.Bind(listenFd, &address, addressLength) != 0)
            {
                int errno = Libc.LastError;
                throw new IOException($"bind of vtest server socket '{socketPath}' failed: {Libc.Describe(errno)}"
                    + (errno == Libc.EADDRINUSE ? " (another server bound it just now)" : ""));
            }
            bound = true;
            if (Libc.Listen(listenFd, ListenBacklog) != 0)
                throw new IOException($"listen on vtest server socket '{socketPath}' failed: {Libc.Describe(Libc.LastError)}");
            stopFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            if (stopFd < 0)
                throw new IOException($"eventfd for vtest server '{socketPath}' failed: {Libc.Describe(Libc.LastError)}");

            TryStat(cPath, out _, out ulong dev, out ulong ino);
            var server = new VtestServer(socketPath, listenFd, stopFd, dev, ino, factory, options);
            server._acceptThread.Start();
            return server;
        }
        catch
        {
            if (stopFd >= 0)
                Libc.Close(stopFd);
            Libc.Close(listenFd);
            if (bound)
            {
                fixed (byte* p = cPath)
                    Libc.Unlink(p);
            }
            throw;
        }
    }

    public string SocketPath { get; }

    public VtestServerOptions Options { get; }

    /// <summary>Connections being served now (their threads have not finished tearing down).</summary>
    public int ClientCount
    {
        get { lock (_lock) return _clients.Count; }
    }

    /// <summary>Connections accepted and served since <see cref="Start"/> (refused ones not counted).</summary>
    public long AcceptedCount => Interlocked.Read(ref _acceptedCount);

    /// <summary>
    /// Stops accepting, disconnects every client (each renderer is disposed on its client's
    /// thread), waits up to <see cref="VtestServerOptions.ShutdownTimeout"/> for each, closes
    /// the socket and removes the socket file (unless another server replaced it meanwhile).
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
        }

        ulong one = 1;
        Libc.Write(_stopFd, &one, sizeof(ulong));
        if (!_acceptThread.Join(Options.ShutdownTimeout))
            Log($"vtest server '{SocketPath}': the accept thread did not stop within {Options.ShutdownTimeout.TotalSeconds:0.#} s");

        VtestServerClient[] clients;
        lock (_lock)
            clients = [.. _clients.Values];
        foreach (VtestServerClient client in clients)
            client.Shutdown();
        foreach (VtestServerClient client in clients)
        {
            if (!client.Thread.Join(Options.ShutdownTimeout))
                Log($"vtest client {client.Id} '{client.Name}' did not finish within {Options.ShutdownTimeout.TotalSeconds:0.#} s of shutdown (its renderer is stuck)");
        }

        Libc.Close(_listenFd);
        Libc.Close(_stopFd);
        byte[] cPath = new byte[Encoding.UTF8.GetByteCount(SocketPath) + 1];
        Encoding.UTF8.GetBytes(SocketPath, cPath);
        if (TryStat(cPath, out _, out ulong dev, out ulong ino) && dev == _socketDev && ino == _socketIno)
        {
            fixed (byte* p = cPath)
                Libc.Unlink(p);
        }
    }

    public void Log(string line)
    {
        try
        {
            _log(line);
        }
        catch
        {
            // A logger must not take the server down.
        }
    }

    void IVtestClientHost.OnClientEnded(VtestServerClient client) => OnClientEnded(client);

    internal void OnClientEnded(VtestServerClient client)
    {
        lock (_lock)
            _clients.Remove(client.Id);
    }

    private void AcceptLoop()
    {
        try
        {
            Span<Libc.PollFd> fds =
            [
                new Libc.PollFd { fd = _listenFd, events = Libc.POLLIN },
                new Libc.PollFd { fd = _stopFd, events = Libc.POLLIN },
            ];
            while (true)
            {
                int ready;
                fixed (Libc.PollFd* p = fds)
                    ready = Libc.Poll(p, 2, -1);
                if (ready < 0)
                {
                    int errno = Libc.LastError;
                    if (errno is Libc.EINTR or Libc.EAGAIN)
                        continue;
                    Log($"vtest server '{SocketPath}': poll failed, no longer accepting: {Libc.Describe(errno)}");
                    return;
                }
                if (fds[1].revents != 0)
                    return;
                if ((fds[0].revents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0)
                {
                    Log($"vtest server '{SocketPath}': listening socket failed (poll events 0x{fds[0].revents:x}), no longer accepting");
                    return;
                }
                if ((fds[0].revents & Libc.POLLIN) == 0)
                    continue;

                int fd = Libc.Accept4(_listenFd, null, null, Libc.SOCK_CLOEXEC);
                if (fd < 0)
                {
                    int errno = Libc.LastError;
                    if (errno is Libc.EINTR or Libc.EAGAIN or Libc.ECONNABORTED)
                        continue;
                    Log($"vtest server '{SocketPath}': accept failed: {Libc.Describe(errno)}");
                    // Out of fds or memory: back off instead of spinning on a readable socket.
                    Thread.Sleep(100);
                    continue;
                }
                Admit(fd);
            }
        }
        catch (Exception e)
        {
            Log($"vtest server '{SocketPath}': accept loop failed, no longer accepting: {e}");
        }
    }

    private void Admit(int fd)
    {
        VtestServerClient client;
        lock (_lock)
        {
            if (_disposed)
            {
                Libc.Close(fd);
                return;
            }
            if (_clients.Count >= Options.MaxClients)
            {
                Libc.Close(fd);
                Log($"vtest server '{SocketPath}': refused a connection: {Options.MaxClients} clients are being served (the limit)");
                return;
            }
            int id = ++_nextClientId;
            if (Options.HandOff != null)
            {
                _acceptedCount++;
                try
                {
                    Options.HandOff(fd, id);
                }
                catch (Exception e)
                {
                    Log($"vtest client {id.ToString(CultureInfo.InvariantCulture)} refused: hand-off failed: {e.Message}");
                }
                return;
            }
            SetSendTimeout(fd);
            client = new VtestServerClient(this, id, fd, _factory, Options);
            _clients.Add(id, client);
            try
            {
                client.Thread.Start();
            }
            catch (Exception e)
            {
                _clients.Remove(id);
                Libc.Close(fd);
                Log($"vtest client {id.ToString(CultureInfo.InvariantCulture)} refused: could not start its thread: {e.Message}");
                return;
            }
            _acceptedCount++;
        }
    }

    private void SetSendTimeout(int fd)
    {
        if (Options.SendTimeout == Timeout.InfiniteTimeSpan)
            return;
        long micros = (long)Math.Min(Options.SendTimeout.TotalMicroseconds, (double)int.MaxValue * 1_000_000);
        Libc.TimeVal timeout = new() { tv_sec = micros / 1_000_000, tv_usec = micros % 1_000_000 };
        Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_SNDTIMEO, &timeout, (uint)sizeof(Libc.TimeVal));
    }

    /// <summary>
    /// A socket file nobody accepts on is stale (virgl_test_server unlinks its path at start
    /// too); a live server or anything that is not a socket is left alone and reported.
    /// </summary>
    private static void RemoveStaleSocket(string socketPath, byte[] cPath)
    {
        if (!TryStat(cPath, out uint mode, out _, out _))
            return;
        if ((mode & Libc.S_IFMT) != Libc.S_IFSOCK)
            throw new IOException($"vtest server path '{socketPath}' exists and is not a socket; refusing to replace it");

        int probe = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (probe < 0)
            throw new IOException($"socket(AF_UNIX) to probe '{socketPath}' failed: {Libc.Describe(Libc.LastError)}");
        int result, errno;
        try
        {
            Libc.SockaddrUn address = default;
            address.sun_family = Libc.AF_UNIX;
            cPath.AsSpan(0, cPath.Length - 1).CopyTo(new Span<byte>(address.sun_path, Libc.SockaddrUn.PathCapacity));
            do
            {
                result = Libc.Connect(probe, &address, (uint)(sizeof(ushort) + cPath.Length));
                errno = result < 0 ? Libc.LastError : 0;
            } while (result < 0 && errno == Libc.EINTR);
        }
        finally
        {
            Libc.Close(probe);
        }

        if (result == 0 || errno == Libc.EAGAIN)
            throw new IOException($"vtest socket '{socketPath}' is in use by a live server; stop it or choose another path");
        if (errno is not (Libc.ECONNREFUSED or Libc.ENOENT))
            throw new IOException($"cannot tell whether vtest socket '{socketPath}' is in use: connect failed: {Libc.Describe(errno)}");
        fixed (byte* p = cPath)
        {
            if (Libc.Unlink(p) != 0 && Libc.LastError != Libc.ENOENT)
                throw new IOException($"removing stale vtest socket '{socketPath}' failed: {Libc.Describe(Libc.LastError)}");
        }
    }

    private static bool TryStat(byte[] cPath, out uint mode, out ulong dev, out ulong ino)
    {
        byte* buffer = stackalloc byte[Libc.StatBufferSize];
        int result;
        fixed (byte* p = cPath)
            result = Libc.Lstat(p, buffer);
        if (result != 0)
        {
            mode = 0;
            dev = ino = 0;
            return false;
        }
        mode = Libc.StatMode(buffer);
        dev = Libc.StatDev(buffer);
        ino = Libc.StatIno(buffer);
        return true;
    }
}
