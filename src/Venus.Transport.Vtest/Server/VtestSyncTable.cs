using Venus.Native;

namespace Venus.Transport.Vtest.Server;

/// <summary>
/// One client's timeline syncs, the submissions waiting on a timeline to signal them, and the
/// SYNC_WAITs still watched — virglrenderer's <c>vtest_sync</c>, <c>vtest_timeline</c> and
/// <c>vtest_sync_wait</c> of one <c>vtest_context</c>. The client thread calls everything but
/// <see cref="Retire"/>, which renderer threads call; one lock covers it all. Nothing here blocks
/// or touches the socket.
/// </summary>
internal sealed unsafe class VtestSyncTable
{
    /// <summary>A sync object; lives on after SYNC_UNREF while a submission or wait still names it (refcount in C).</summary>
    internal sealed class Sync
    {
        public ulong Value;
    }

    /// <summary>A SUBMIT_CMD2 batch with RING_IDX whose syncs signal when its timeline retires it.</summary>
    internal sealed class PendingSubmit(Sync[] syncs, ulong[] values, uint ring)
    {
        public readonly Sync[] Syncs = syncs;
        public readonly ulong[] Values = values;
        public readonly uint Ring = ring;
        public bool Done;
    }

    private sealed class Wait(int fd, bool any, long deadline, Sync?[] syncs, ulong[] values)
    {
        public readonly int Fd = fd;
        public readonly bool Any = any;
        /// <summary>Environment.TickCount64 after which the server drops the wait; long.MaxValue = never.</summary>
        public readonly long Deadline = deadline;
        public readonly Sync?[] Syncs = syncs;
        public readonly ulong[] Values = values;
        public int Signaled;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Sync> _syncs = [];
    private readonly List<Wait> _waits = [];
    private readonly Queue<PendingSubmit>?[] _timelines = new Queue<PendingSubmit>?[VtestProtocol.MaxTimelineCount];
    private readonly int _maxSyncs;
    private readonly int _maxWaits;
    private uint _nextId = 1;
    private bool _closed;

    public VtestSyncTable(int maxSyncs, int maxWaits)
    {
        _maxSyncs = maxSyncs;
        _maxWaits = maxWaits;
    }

    public int SyncCount
    {
        get { lock (_lock) return _syncs.Count; }
    }

    public int PendingWaitCount
    {
        get { lock (_lock) return _waits.Count; }
    }

    /// <summary>SYNC_CREATE. Null when the client already holds the maximum.</summary>
    public uint? Create(ulong value)
    {
        lock (_lock)
        {
            if (_syncs.Count >= _maxSyncs)
                return null;
            uint id = _nextId;
            while (id == 0 || _syncs.ContainsKey(id))
                id++;
            _nextId = id + 1;
            _syncs.Add(id, new Sync { Value = value });
            return id;
        }
    }

    /// <summary>SYNC_UNREF; an unknown id is ignored (virglrenderer's hash-table remove).</summary>
    public void Unref(uint id)
    {
        lock (_lock)
            _syncs.Remove(id);
    }

    public bool TryRead(uint id, out ulong value)
    {
        lock (_lock)
        {
            if (_syncs.TryGetValue(id, out Sync? sync))
            {
                value = sync.Value;
                return true;
            }
            value = 0;
            return false;
        }
    }

    /// <summary>SYNC_WRITE: false for an unknown id.</summary>
    public bool TryWrite(uint id, ulong value)
    {
        lock (_lock)
        {
            if (!_syncs.TryGetValue(id, out Sync? sync))
                return false;
            SignalLocked(sync, value);
            return true;
        }
    }

    /// <summary>
    /// Looks up the (sync_id, value_lo, value_hi) triples of a SUBMIT_CMD2 batch. False with the
    /// first unknown id when one is not live.
    /// </summary>
    public bool TryResolve(ReadOnlySpan<uint> triples, out Sync[] syncs, out ulong[] values, out uint unknownId)
    {
        int count = triples.Length / VtestProtocol.SyncEntryDwords;
        syncs = count == 0 ? [] : new Sync[count];
        values = count == 0 ? [] : new ulong[count];
        unknownId = 0;
        lock (_lock)
        {
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<uint> entry = triples.Slice(i * VtestProtocol.SyncEntryDwords, VtestProtocol.SyncEntryDwords);
                if (!_syncs.TryGetValue(entry[0], out Sync? sync))
                {
                    unknownId = entry[0];
                    return false;
                }
                syncs[i] = sync;
                values[i] = entry[1] | ((ulong)entry[2] << 32);
            }
        }
        return true;
    }

    /// <summary>Without RING_IDX: the syncs take their values as soon as the stream was submitted.</summary>
    public void SignalAll(Sync[] syncs, ulong[] values)
    {
        lock (_lock)
        {
            if (_closed)
                return;
            for (int i = 0; i < syncs.Length; i++)
                SignalLocked(syncs[i], values[i]);
        }
    }

    /// <summary>With RING_IDX: queues the batch on its timeline; <see cref="Retire"/> signals it.</summary>
    public PendingSubmit Enqueue(uint ring, Sync[] syncs, ulong[] values)
    {
        var submit = new PendingSubmit(syncs, values, ring);
        lock (_lock)
        {
            if (_closed)
            {
                submit.Done = true;
                return submit;
            }
            (_timelines[ring] ??= new Queue<PendingSubmit>()).Enqueue(submit);
        }
        return submit;
    }

    /// <summary>
    /// The renderer's <c>retired</c> callback: signals every batch queued on that timeline up to
    /// and including <paramref name="submit"/>, in order (virglrenderer's <c>vtest_signal_timeline</c>).
    /// Any thread; idempotent; nothing after <see cref="Close"/>.
    /// </summary>
    public void Retire(PendingSubmit submit)
    {
        lock (_lock)
        {
            if (_closed || submit.Done)
                return;
            Queue<PendingSubmit>? queue = _timelines[submit.Ring];
            while (queue is not null && queue.TryDequeue(out PendingSubmit? next))
            {
                next.Done = true;
                for (int i = 0; i < next.Syncs.Length; i++)
                    SignalLocked(next.Syncs[i], next.Values[i]);
                if (ReferenceEquals(next, submit))
                    break;
            }
        }
    }

    /// <summary>Why <see cref="BeginWait"/> failed.</summary>
    public enum WaitError
    {
        None,
        UnknownSync,
        TooManyWaits,
        EventFdFailed,
    }

    /// <summary>
    /// SYNC_WAIT (virglrenderer's <c>vtest_sync_wait</c>): creates the eventfd, writes 1 to it at
    /// once when the wait is already satisfied (all syncs reached, or with ANY one of them), and
    /// otherwise keeps watching it until it is satisfied (then 1 is written) or until
    /// <paramref name="timeoutMs"/> passed (then the server just drops its copy: the client's
    /// eventfd never becomes readable and the client's own poll times out, as in virglrenderer).
    /// A timeout of 0 is not watched at all; above INT32_MAX ms it is infinite.
    /// </summary>
    /// <param name="sendFd">A duplicate of the eventfd for the caller to send and close (the
    /// watched copy may be closed from another thread at any time).</param>
    public WaitError BeginWait(bool any, uint timeoutMs, ReadOnlySpan<uint> triples, out int sendFd, out uint unknownId, out int errno)
    {
        sendFd = -1;
        unknownId = 0;
        errno = 0;
        int count = triples.Length / VtestProtocol.SyncEntryDwords;
        lock (_lock)
        {
            long now = Environment.TickCount64;
            ExpireLocked(now);
            if (_waits.Count >= _maxWaits)
                return WaitError.TooManyWaits;

            var syncs = new List<Sync>();
            var values = new List<ulong>();
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<uint> entry = triples.Slice(i * VtestProtocol.SyncEntryDwords, VtestProtocol.SyncEntryDwords);
                if (!_syncs.TryGetValue(entry[0], out Sync? sync))
                {
                    unknownId = entry[0];
                    return WaitError.UnknownSync;
                }
                ulong value = entry[1] | ((ulong)entry[2] << 32);
                // Skip syncs already at their value.
                if (sync.Value < value)
                {
                    syncs.Add(sync);
                    values.Add(value);
                }
            }

            int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            if (fd < 0)
            {
                errno = Libc.LastError;
                return WaitError.EventFdFailed;
            }
            int duplicate = Libc.Fcntl(fd, Libc.F_DUPFD_CLOEXEC, 0);
            if (duplicate < 0)
            {
                errno = Libc.LastError;
                Libc.Close(fd);
                return WaitError.EventFdFailed;
            }

            bool ready = syncs.Count == 0 || (any && syncs.Count < count);
            if (ready)
                WriteReady(fd);
            if (ready || timeoutMs == 0 || _closed)
            {
                Libc.Close(fd);
            }
            else
            {
                long deadline = timeoutMs > int.MaxValue ? long.MaxValue : now + timeoutMs;
                _waits.Add(new Wait(fd, any, deadline, [.. syncs], [.. values]));
            }
            sendFd = duplicate;
            return WaitError.None;
        }
    }

    /// <summary>Drops waits whose timeout passed (virglrenderer collects them lazily the same way).</summary>
    public void ExpireWaits()
    {
        lock (_lock)
            ExpireLocked(Environment.TickCount64);
    }

    /// <summary>The client is gone: closes every watched eventfd and forgets everything; later calls do nothing.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (Wait wait in _waits)
                Libc.Close(wait.Fd);
            _waits.Clear();
            _syncs.Clear();
            for (int i = 0; i < _timelines.Length; i++)
            {
                if (_timelines[i] is { } queue)
                    foreach (PendingSubmit submit in queue)
                        submit.Done = true;
                _timelines[i] = null;
            }
        }
    }

    /// <summary>virglrenderer's <c>vtest_signal_sync</c>: a lower value is stored silently; a higher one wakes waits.</summary>
    private void SignalLocked(Sync sync, ulong value)
    {
        if (sync.Value >= value)
        {
            sync.Value = value;
            return;
        }
        sync.Value = value;
        if (_waits.Count == 0)
            return;

        long now = Environment.TickCount64;
        int kept = 0;
        for (int w = 0; w < _waits.Count; w++)
        {
            Wait wait = _waits[w];
            bool remove;
            if (wait.Deadline < now)
            {
                Libc.Close(wait.Fd);
                remove = true;
            }
            else
            {
                bool ready = false;
                for (int i = 0; i < wait.Syncs.Length; i++)
                {
                    if (!ReferenceEquals(wait.Syncs[i], sync) || wait.Values[i] > value)
                        continue;
                    wait.Syncs[i] = null;
                    wait.Signaled++;
                    if (wait.Signaled == wait.Syncs.Length || wait.Any)
                    {
                        ready = true;
                        break;
                    }
                }
                if (ready)
                {
                    WriteReady(wait.Fd);
                    Libc.Close(wait.Fd);
                }
                remove = ready;
            }
            if (!remove)
                _waits[kept++] = wait;
        }
        _waits.RemoveRange(kept, _waits.Count - kept);
    }

    private void ExpireLocked(long now)
    {
        if (_waits.Count == 0)
            return;
        int kept = 0;
        for (int w = 0; w < _waits.Count; w++)
        {
            Wait wait = _waits[w];
            if (wait.Deadline < now)
                Libc.Close(wait.Fd);
            else
                _waits[kept++] = wait;
        }
        _waits.RemoveRange(kept, _waits.Count - kept);
    }

    private static void WriteReady(int fd)
    {
        ulong one = 1;
        // Non-blocking eventfd at a small count: this cannot fail short of a closed fd.
        Libc.Write(fd, &one, sizeof(ulong));
    }
}
