using Venus.Native;

namespace Venus.Transport.Vtest.Server;

/// <summary>What a client loop reports to: the listening server, or a process serving one connection.</summary>
internal interface IVtestClientHost
{
    void Log(string line);
    void OnClientEnded(VtestServerClient client);
}

/// <summary>
/// Serves one already-accepted vtest connection on the calling thread: the worker-process side of
/// <see cref="VtestServerOptions.HandOff"/>. Returns when the client disconnects or is dropped,
/// after its renderer was disposed.
/// </summary>
public static unsafe class VtestConnection
{
    sealed class Host(Action<string> log) : IVtestClientHost
    {
        public void Log(string line)
        {
            try { log(line); } catch { /* a logger must not end the client */ }
        }

        public void OnClientEnded(VtestServerClient client) { }
    }

    public static void Serve(int fd, int clientId, IVtestRendererFactory factory, VtestServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        options ??= new VtestServerOptions();
        options.Validate();
        if (options.SendTimeout != Timeout.InfiniteTimeSpan)
        {
            long micros = (long)Math.Min(options.SendTimeout.TotalMicroseconds, (double)int.MaxValue * 1_000_000);
            Libc.TimeVal timeout = new() { tv_sec = micros / 1_000_000, tv_usec = micros % 1_000_000 };
            Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_SNDTIMEO, &timeout, (uint)sizeof(Libc.TimeVal));
        }
        var client = new VtestServerClient(new Host(options.Log ?? Console.Error.WriteLine), clientId, fd, factory, options);
        client.Thread.Start();
        client.Thread.Join();
    }

    /// <summary>A copy of <paramref name="fd"/> without close-on-exec, for a child process to inherit.</summary>
    public static int DuplicateForChild(int fd)
    {
        int dup = Libc.Fcntl(fd, Libc.F_DUPFD, 3);
        if (dup < 0) throw new IOException($"fcntl(F_DUPFD) failed: {Libc.Describe(Libc.LastError)}");
        return dup;
    }

    public static void Close(int fd) => Libc.Close(fd);
}

/// <summary>
/// Passing an accepted connection to a worker that is already running: a socketpair over which
/// the server sends the connection fd (SCM_RIGHTS) with the client id. The worker starts (and
/// warms up) before a client arrives, so a client never waits for a process to start.
/// </summary>
public static unsafe class VtestHandOffChannel
{
    /// <summary>A connected pair: [0] for the server (close-on-exec), [1] for the worker to inherit.</summary>
    public static (int Server, int Worker) Create()
    {
        int* sv = stackalloc int[2];
        if (Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, sv) != 0)
            throw new IOException($"socketpair failed: {Libc.Describe(Libc.LastError)}");
        int worker = Libc.Fcntl(sv[1], Libc.F_DUPFD, 3);
        Libc.Close(sv[1]);
        if (worker < 0) { Libc.Close(sv[0]); throw new IOException($"fcntl(F_DUPFD) failed: {Libc.Describe(Libc.LastError)}"); }
        return (sv[0], worker);
    }

    /// <summary>Sends a connection and its client id; false when the worker is gone.</summary>
    public static bool Send(int channel, int connection, int clientId)
    {
        int id = clientId;
        return Libc.SendWithFd(channel, &id, sizeof(int), connection) == sizeof(int);
    }

    /// <summary>Waits for a connection; false when the server closed the channel.</summary>
    public static bool Receive(int channel, out int connection, out int clientId)
    {
        int id = 0;
        nint got = Libc.ReceiveWithFd(channel, &id, sizeof(int), out connection, out bool truncated, out _);
        clientId = id;
        if (got == sizeof(int) && connection >= 0 && !truncated) return true;
        if (connection >= 0) Libc.Close(connection);
        connection = -1;
        return false;
    }
}
