using Venus.Transport.Vtest.Interop;

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
