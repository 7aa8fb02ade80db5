using Venus.Native;

namespace Venus.Transport.Vtest.Server;

/// <summary>
/// Tells when the peer of a connection has gone (closed, crashed, SIGKILLed), from another process
/// than the one serving it: a server that handed a connection to a worker keeps a copy of the fd and
/// polls it for POLLRDHUP only, which never consumes the worker's data. One thread watches every
/// connection. The callback runs on that thread, once per connection, after its copy was closed.
/// </summary>
public sealed unsafe class HangUpWatch : IDisposable
{
    sealed class Entry(int fd, object token)
    {
        public readonly int Fd = fd;
        public readonly object Token = token;
        public bool Closed;
    }

    readonly Action<object> _hungUp;
    readonly List<Entry> _entries = new();
    readonly Lock _lock = new();
    readonly int _wake;
    readonly Thread _thread;
    bool _disposed;

    public HangUpWatch(Action<object> hungUp, string name = "hangup-watch")
    {
        _hungUp = hungUp;
        _wake = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wake < 0) throw new IOException($"eventfd failed: {Libc.Describe(Libc.LastError)}");
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Watches a copy of <paramref name="fd"/> (the caller keeps its own) until the peer hangs up or <see cref="Remove"/>.</summary>
    public void Add(int fd, object token)
    {
        int copy = Libc.Fcntl(fd, Libc.F_DUPFD_CLOEXEC, 3);
        if (copy < 0) throw new IOException($"fcntl(F_DUPFD_CLOEXEC) failed: {Libc.Describe(Libc.LastError)}");
        lock (_lock)
        {
            if (_disposed) { Libc.Close(copy); return; }
            _entries.Add(new Entry(copy, token));
        }
        Wake();
    }

    /// <summary>Stops watching <paramref name="token"/>'s connection and closes the copy (its peer then sees the end once the other copies close).</summary>
    public void Remove(object token)
    {
        lock (_lock)
        {
            for (int i = 0; i < _entries.Count; i++)
            {
                if (!ReferenceEquals(_entries[i].Token, token)) continue;
                Close(_entries[i]);
                _entries.RemoveAt(i);
                break;
            }
        }
        Wake();
    }

    public int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    void Close(Entry e)
    {
        if (e.Closed) return;
        e.Closed = true;
        Libc.Close(e.Fd);
    }

    void Wake()
    {
        ulong one = 1;
        Libc.Write(_wake, &one, sizeof(ulong));
    }

    void Run()
    {
        var polled = new List<Entry>();
        var fds = new Libc.PollFd[16];
        var ended = new List<object>();
        while (true)
        {
            lock (_lock)
            {
                if (_disposed) return;
                polled.Clear();
                polled.AddRange(_entries);
            }
            if (fds.Length < polled.Count + 1) fds = new Libc.PollFd[(polled.Count + 1) * 2];
            fds[0] = new Libc.PollFd { fd = _wake, events = Libc.POLLIN };
            for (int i = 0; i < polled.Count; i++)
                fds[i + 1] = new Libc.PollFd { fd = polled[i].Fd, events = Libc.POLLRDHUP };
            int n;
            fixed (Libc.PollFd* p = fds) n = Libc.Poll(p, (nuint)(polled.Count + 1), -1);
            if (n < 0)
            {
                if (Libc.LastError == Libc.EINTR) continue;
                Thread.Sleep(100); // should not happen; never spin
                continue;
            }
            if ((fds[0].revents & Libc.POLLIN) != 0)
            {
                ulong drained;
                Libc.Read(_wake, &drained, sizeof(ulong));
            }
            ended.Clear();
            lock (_lock)
            {
                for (int i = 0; i < polled.Count; i++)
                {
                    // A copy closed by Remove meanwhile (its number maybe reused) is no longer this entry's.
                    Entry e = polled[i];
                    if (e.Closed || (fds[i + 1].revents & (Libc.POLLRDHUP | Libc.POLLHUP | Libc.POLLERR | Libc.POLLNVAL)) == 0) continue;
                    Close(e);
                    _entries.Remove(e);
                    ended.Add(e.Token);
                }
            }
            foreach (object token in ended)
            {
                try { _hungUp(token); }
                catch (Exception) { /* the callback's failure must not stop the watch */ }
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (Entry e in _entries) Close(e);
            _entries.Clear();
        }
        Wake();
        _thread.Join(TimeSpan.FromSeconds(5));
        Libc.Close(_wake);
    }
}
