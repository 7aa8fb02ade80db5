using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Venus.Protocol.Ring;

namespace Venus.HostRenderer.Rings;

/// <summary>
/// The host side of one Venus ring (fact sheet §4): a dedicated thread that reads the command bytes
/// the guest publishes between head and tail in guest-shared memory, copies them into a private buffer
/// and hands them to a <see cref="RingDispatch"/>, storing head after every command. It sets IDLE after
/// <see cref="RingLayout.IdleTimeoutNs"/> without work and sleeps until <see cref="Notify"/>; on a fatal
/// error it sets FATAL, raises <see cref="Faulted"/> and ends its thread.
/// <para>
/// The ring does not own the shared memory: the mapping must stay valid until <see cref="Dispose"/>
/// (or <see cref="Stop(TimeSpan)"/> returning true) has returned. Shared words are accessed only with
/// <see cref="Volatile"/> and <see cref="Interlocked"/> operations (tail acquire, head release, status
/// fetch-or / fetch-and).
/// </para>
/// </summary>
public sealed unsafe class HostRing : IDisposable
{
    /// <summary>How long <see cref="Dispose"/> waits for the thread to end.</summary>
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(10);

    private const uint BusyWaitIterations = 16;   // 1 << 4 yields before sleeping (virglrenderer's busy_wait_order 4)
    private const long BaseSleepMicroseconds = 10;
    private const long MaxSleepMicroseconds = 100_000;
    private const long NativeSleepLimitMicroseconds = 2_000; // longer sleeps wait on the lock (stop wakes them)
    private const int InitialPrivateBuffer = 4096;

    private readonly RingDispatch _dispatch;
    private readonly RingLayout _layout;
    private readonly uint* _head;
    private readonly uint* _tail;
    private readonly uint* _status;
    private readonly byte* _buffer;
    private readonly byte* _extra;
    private readonly ulong _extraSize;
    private readonly uint _bufferSize;
    private readonly uint _mask;
    private readonly long _idleTicks;

    // _lock: idle sleep, notify, virtqueue seqno, stop. _headLock: threads waiting for a ring seqno.
    private readonly object _lock = new();
    private readonly object _headLock = new();
    private bool _pendingNotify;
    private ulong _virtqueueSeqno;
    private int _headWaiters;

    private byte[] _private;
    private uint _cur;
    private Thread? _thread;
    private int _started;
    private volatile bool _stopRequested;
    private volatile bool _failRequested;
    private volatile bool _threadEnded;
    private volatile bool _disposed;
    private string? _fatalReason;
    internal RingMonitor? AttachedMonitor; // guarded by the monitor's lock

    private HostRing(ulong id, uint contextId, byte* resource, in RingLayout layout, RingDispatch dispatch)
    {
        Id = id;
        ContextId = contextId;
        _layout = layout;
        _dispatch = dispatch;
        byte* ring = resource + layout.Offset;
        _head = (uint*)(ring + layout.HeadOffset);
        _tail = (uint*)(ring + layout.TailOffset);
        _status = (uint*)(ring + layout.StatusOffset);
        _buffer = ring + layout.BufferOffset;
        _extra = ring + layout.ExtraOffset;
        _extraSize = layout.ExtraSize;
        _bufferSize = (uint)layout.BufferSize;
        _mask = _bufferSize - 1;
        _idleTicks = NanosecondsToTicks(layout.IdleTimeoutNs);
        _private = new byte[Math.Min(InitialPrivateBuffer, (int)_bufferSize)];
        ThreadName = $"venus-ring-{contextId}-{id}";
    }

    /// <summary>The guest's ring id (<c>vkCreateRingMESA</c>'s ring).</summary>
    public ulong Id { get; }

    public uint ContextId { get; }

    /// <summary><c>venus-ring-&lt;ctx&gt;-&lt;id&gt;</c>.</summary>
    public string ThreadName { get; }

    public RingLayout Layout => _layout;

    public uint BufferSize => _bufferSize;

    /// <summary>Head as stored in shared memory (bytes consumed; free-running).</summary>
    public uint Head => Volatile.Read(ref *_head);

    /// <summary>Tail as the guest published it (acquire).</summary>
    public uint Tail => Volatile.Read(ref *_tail);

    /// <summary>The status word.</summary>
    public RingStatusFlags Status => (RingStatusFlags)Volatile.Read(ref *_status);

    /// <summary>The last value given to <see cref="SubmitVirtqueueSeqno"/> (0 at creation).</summary>
    public ulong VirtqueueSeqno => Volatile.Read(ref _virtqueueSeqno);

    /// <summary>True once the ring went fatal (FATAL is set in the status word).</summary>
    public bool IsFaulted => Volatile.Read(ref _fatalReason) is not null;

    public string? FatalReason => Volatile.Read(ref _fatalReason);

    /// <summary>True between <see cref="Start"/> and the end of the thread.</summary>
    public bool IsRunning => _thread is { IsAlive: true };

    /// <summary>True once the thread has ended (stop or fatal error).</summary>
    public bool HasExited => _threadEnded;

    internal bool StopOrFailRequested => _stopRequested || _failRequested;

    /// <summary>
    /// Raised once, when the ring goes fatal: on the ring thread for errors it found itself (dispatcher
    /// error, bad length, dispatcher exception), on the caller's thread for <see cref="Fail"/>. The ring
    /// thread ends right after. Handlers must not throw (exceptions are swallowed); a handler may call
    /// <see cref="Dispose"/>, which then only requests the stop (a thread cannot join itself).
    /// </summary>
    public event Action<HostRing, string>? Faulted;

    // ---------------------------------------------------------------------------------------------
    // Creation and validation (§4.1)

    /// <summary>
    /// The layout rules of <c>vkCreateRingMESA</c> (fact sheet §4.1) that need no memory: the ring lies
    /// inside the resource; head, tail, status, buffer and extra each lie inside the ring, are 4-byte
    /// aligned at both ends and pairwise disjoint (an empty region strictly inside another counts as
    /// overlapping, as in virglrenderer); bufferSize is a non-zero power of two ≤ 16 MiB; a monitor
    /// period, when present, is not 0. All arithmetic is overflow-checked.
    /// </summary>
    public static bool TryValidate(in RingLayout layout, ulong resourceSize, out string error)
    {
        if (!TryRegion(layout.Offset, layout.Size, out ulong ringBegin, out ulong ringEnd) || ringEnd > resourceSize)
        {
            error = $"ring [offset {layout.Offset}, size {layout.Size}] is not inside the resource of {resourceSize} bytes";
            return false;
        }

        Span<(ulong Begin, ulong End)> regions = stackalloc (ulong, ulong)[5];
        ReadOnlySpan<string> names = ["head", "tail", "status", "buffer", "extra"];
        ReadOnlySpan<ulong> offsets = [layout.HeadOffset, layout.TailOffset, layout.StatusOffset, layout.BufferOffset, layout.ExtraOffset];
        ReadOnlySpan<ulong> sizes = [4, 4, 4, layout.BufferSize, layout.ExtraSize];
        for (int i = 0; i < regions.Length; i++)
        {
            if (offsets[i] > ulong.MaxValue - ringBegin
                || !TryRegion(ringBegin + offsets[i], sizes[i], out ulong begin, out ulong end)
                || begin < ringBegin || end > ringEnd)
            {
                error = $"{names[i]} region (offset {offsets[i]}, size {sizes[i]}) is not inside the ring (size {layout.Size})";
                return false;
            }

            if (((begin | end) & 3) != 0)
            {
                error = $"{names[i]} region [{begin}, {end}) is not 4-byte aligned";
                return false;
            }

            regions[i] = (begin, end);
        }

        for (int i = 0; i < regions.Length; i++)
        {
            for (int j = i + 1; j < regions.Length; j++)
            {
                if (!(regions[i].End <= regions[j].Begin || regions[j].End <= regions[i].Begin))
                {
                    error = $"{names[i]} region [{regions[i].Begin}, {regions[i].End}) overlaps {names[j]} region [{regions[j].Begin}, {regions[j].End})";
                    return false;
                }
            }
        }

        if (layout.BufferSize == 0 || (layout.BufferSize & (layout.BufferSize - 1)) != 0 || layout.BufferSize > RingLayout.MaxBufferSize)
        {
            error = $"buffer size {layout.BufferSize} is not a non-zero power of two ≤ {RingLayout.MaxBufferSize}";
            return false;
        }

        if (layout.MonitorPeriodMicroseconds == 0)
        {
            error = "ring monitor maxReportingPeriodMicroseconds is 0";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>
    /// <see cref="TryValidate(in RingLayout, ulong, out string)"/> plus the rule that needs the memory:
    /// head and status must read 0 at creation.
    /// </summary>
    public static bool TryValidate(in RingLayout layout, byte* resource, ulong resourceSize, out string error)
    {
        if (!TryValidate(layout, resourceSize, out error))
            return false;
        if (resource == null)
        {
            error = "resource is not mapped";
            return false;
        }

        byte* ring = resource + layout.Offset;
        uint head = Volatile.Read(ref *(uint*)(ring + layout.HeadOffset));
        uint status = Volatile.Read(ref *(uint*)(ring + layout.StatusOffset));
        if (head != 0 || status != 0)
        {
            error = $"head ({head}) and status ({status}) must be 0 at ring creation";
            return false;
        }

        return true;
    }

    /// <summary>
    /// Validate <paramref name="layout"/> against the mapped resource and create the ring (not started:
    /// subscribe to <see cref="Faulted"/>, attach to a <see cref="RingMonitor"/>, then <see cref="Start"/>).
    /// The cursor starts at 0, like head.
    /// </summary>
    public static bool TryCreate(ulong id, uint contextId, byte* resource, ulong resourceSize, in RingLayout layout,
        RingDispatch dispatch, [NotNullWhen(true)] out HostRing? ring, out string error)
    {
        ArgumentNullException.ThrowIfNull(dispatch);
        ring = null;
        if (!TryValidate(layout, resource, resourceSize, out error))
            return false;
        ring = new HostRing(id, contextId, resource, layout, dispatch);
        return true;
    }

    /// <summary><see cref="TryCreate"/> that throws <see cref="ArgumentException"/> on an invalid layout.</summary>
    public static HostRing Create(ulong id, uint contextId, byte* resource, ulong resourceSize, in RingLayout layout, RingDispatch dispatch)
        => TryCreate(id, contextId, resource, resourceSize, layout, dispatch, out var ring, out var error)
            ? ring
            : throw new ArgumentException("invalid ring layout: " + error, nameof(layout));

    /// <summary>Start the ring thread (once).</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
            throw new InvalidOperationException("the ring was already started");
        _thread = new Thread(ThreadMain) { IsBackground = true, Name = ThreadName };
        _thread.Start();
    }

    // ---------------------------------------------------------------------------------------------
    // Guest-driven operations

    /// <summary><c>vkNotifyRingMESA</c>: wake the ring thread if it sleeps after IDLE.</summary>
    public void Notify()
    {
        lock (_lock)
        {
            _pendingNotify = true;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// <c>vkWriteRingExtraMESA</c>: store <paramref name="value"/> (release) at extra + <paramref name="offset"/>.
    /// False (the context must go fatal) when the 4 bytes are not inside the extra region or the ring was disposed.
    /// </summary>
    public bool WriteExtra(ulong offset, uint value)
    {
        if (_disposed || offset > _extraSize || _extraSize - offset < sizeof(uint))
            return false;
        byte* p = _extra + offset;
        if (((nuint)p & 3) == 0)
        {
            Volatile.Write(ref *(uint*)p, value);
        }
        else
        {
            Interlocked.MemoryBarrier();
            *(uint*)p = value; // unaligned: plain store after a full barrier (release ordering)
        }

        return true;
    }

    /// <summary>"Seqno reached": head has passed <paramref name="seqno"/>, wrap-aware (virglrenderer's <c>vkr_seqno_ge</c>).</summary>
    public static bool SeqnoReached(uint head, uint seqno) => unchecked(head - seqno) <= int.MaxValue;

    /// <summary>
    /// <c>vkWaitRingSeqnoMESA</c> (another thread, typically the virtqueue's): block until head has passed
    /// <paramref name="seqno"/> (the wire's u64 is truncated to the u32 counter). True when reached; false
    /// when the ring stopped, went fatal or was disposed first. Throws <see cref="OperationCanceledException"/>
    /// when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public bool WaitForSeqno(uint seqno, CancellationToken cancellationToken = default)
    {
        if (_disposed)
            return false;
        if (SeqnoReached(Head, seqno))
            return true;

        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((HostRing)s!).WakeHeadWaiters(), this)
            : default;
        lock (_headLock)
        {
            Interlocked.Increment(ref _headWaiters); // full fence: pairs with PublishHead's exchange
            try
            {
                while (true)
                {
                    if (_disposed)
                        return false;
                    if (SeqnoReached(Head, seqno))
                        return true;
                    if (_threadEnded || _stopRequested || _failRequested)
                        return false;
                    cancellationToken.ThrowIfCancellationRequested();
                    Monitor.Wait(_headLock, 250);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _headWaiters);
            }
        }
    }

    /// <summary><c>vkSubmitVirtqueueSeqnoMESA</c>: record the virtqueue's seqno and wake a ring waiting for it.</summary>
    public void SubmitVirtqueueSeqno(ulong seqno)
    {
        lock (_lock)
        {
            Volatile.Write(ref _virtqueueSeqno, seqno);
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// <c>vkWaitVirtqueueSeqnoMESA</c> (called by the dispatcher on the ring thread): block until
    /// <see cref="VirtqueueSeqno"/> ≥ <paramref name="seqno"/>. True when reached; false when the ring is
    /// being stopped or failed (the dispatcher should then return at once; no FATAL is set for a stop).
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public bool WaitVirtqueueSeqno(ulong seqno, CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((HostRing)s!).WakeRingThread(), this)
            : default;
        lock (_lock)
        {
            while (_virtqueueSeqno < seqno)
            {
                if (_stopRequested || _failRequested || _disposed)
                    return false;
                cancellationToken.ThrowIfCancellationRequested();
                Monitor.Wait(_lock);
            }

            return true;
        }
    }

    /// <summary>
    /// Make the ring fatal from outside (the context went fatal): FATAL is set at once, <see cref="Faulted"/>
    /// is raised (first reason only) and the thread ends after the command it is running.
    /// </summary>
    public void Fail(string reason)
    {
        if (_disposed)
            return;
        _failRequested = true;
        WakeRingThread();
        WakeHeadWaiters();
        EnterFatal(reason);
    }

    // ---------------------------------------------------------------------------------------------
    // Stop

    /// <summary>
    /// Stop the thread: signal it, then join with <paramref name="timeout"/>. Detaches the ring from its
    /// monitor first. True when the thread has ended (or never started); only then may the shared memory be
    /// unmapped. Called on the ring thread itself (from the dispatcher or a <see cref="Faulted"/> handler) it
    /// only requests the stop and returns false. A dispatcher busy in a long command delays the join.
    /// </summary>
    public bool Stop(TimeSpan timeout)
    {
        AttachedMonitor?.Remove(this);
        _stopRequested = true;
        WakeRingThread();
        WakeHeadWaiters();

        var thread = _thread;
        if (thread is null)
            return true;
        if (thread == Thread.CurrentThread)
            return false;
        return thread.Join(timeout);
    }

    /// <summary>Block until the thread has ended (after a stop or a fatal error).</summary>
    public bool Join(TimeSpan timeout)
    {
        var thread = _thread;
        return thread is null || thread == Thread.CurrentThread ? thread is null : thread.Join(timeout);
    }

    /// <summary>
    /// <see cref="Stop(TimeSpan)"/> with <see cref="DefaultStopTimeout"/>; afterwards the ring no longer
    /// touches shared memory (waits return false, <see cref="WriteExtra"/> fails). Throws
    /// <see cref="TimeoutException"/> if the thread did not end in time (a dispatcher stuck in a command).
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        bool joined = Stop(DefaultStopTimeout);
        bool self = _thread == Thread.CurrentThread;
        if (joined || self)
            _disposed = true;
        WakeHeadWaiters();
        if (!joined && !self)
            throw new TimeoutException($"ring thread {ThreadName} did not stop within {DefaultStopTimeout}");
    }

    // ---------------------------------------------------------------------------------------------
    // Internals

    internal void SetStatusBits(RingStatusFlags bits) => Interlocked.Or(ref *_status, (uint)bits);

    private void ClearStatusBits(RingStatusFlags bits) => Interlocked.And(ref *_status, ~(uint)bits);

    /// <summary>Store head (release, and a full fence so a waiter registering concurrently is not missed).</summary>
    internal void PublishHead(uint head)
    {
        Interlocked.Exchange(ref *_head, head);
        if (Volatile.Read(ref _headWaiters) != 0)
            WakeHeadWaiters();
    }

    private void WakeHeadWaiters()
    {
        lock (_headLock)
            Monitor.PulseAll(_headLock);
    }

    private void WakeRingThread()
    {
        lock (_lock)
            Monitor.PulseAll(_lock);
    }

    private void EnterFatal(string reason)
    {
        bool first = Interlocked.CompareExchange(ref _fatalReason, reason, null) is null;
        if (!_disposed)
            SetStatusBits(RingStatusFlags.Fatal);
        WakeHeadWaiters();
        if (!first)
            return;
        try
        {
            Faulted?.Invoke(this, reason);
        }
        catch
        {
            // a handler must not take the ring thread (or the caller) down
        }
    }

    private static long NanosecondsToTicks(ulong ns)
    {
        UInt128 ticks = (UInt128)ns * (ulong)Stopwatch.Frequency / 1_000_000_000u;
        return ticks >= long.MaxValue ? long.MaxValue : (long)ticks;
    }

    private static bool TryRegion(ulong offset, ulong size, out ulong begin, out ulong end)
    {
        begin = offset;
        end = offset + size;
        return size <= ulong.MaxValue - offset;
    }

    private void ThreadMain()
    {
        string? fatal = null;
        try
        {
            fatal = Run();
        }
        catch (Exception ex)
        {
            fatal = "ring thread failed: " + ex.Message;
        }
        finally
        {
            if (fatal is not null && !_stopRequested)
                EnterFatal(fatal);
            _threadEnded = true;
            WakeHeadWaiters();
            WakeRingThread();
        }
    }

    /// <summary>The loop of §4.4. Returns the fatal reason, or null for a stop.</summary>
    private string? Run()
    {
        long lastWork = Stopwatch.GetTimestamp();
        uint relax = 0;
        while (!_stopRequested && !_failRequested)
        {
            bool wait = false;
            if (Stopwatch.GetTimestamp() - lastWork >= _idleTicks)
            {
                lock (_lock)
                    _pendingNotify = false;      // a notify for this IDLE period comes after this point
                SetStatusBits(RingStatusFlags.Idle); // full fence, then re-check tail (pairs with guest: store tail, load status)
                wait = _cur == Volatile.Read(ref *_tail);
                if (!wait)
                    ClearStatusBits(RingStatusFlags.Idle);
            }

            if (wait)
            {
                lock (_lock)
                {
                    while (!_pendingNotify && !_stopRequested && !_failRequested)
                        Monitor.Wait(_lock);
                }

                ClearStatusBits(RingStatusFlags.Idle);
                if (_stopRequested || _failRequested)
                    break;
                lastWork = Stopwatch.GetTimestamp();
                relax = 0;
            }

            uint tail = Volatile.Read(ref *_tail);
            uint length = unchecked(tail - _cur);
            if (length == 0)
            {
                Relax(ref relax, lastWork);
                continue;
            }

            if (length > _bufferSize)
                return $"ring {Id}: tail {tail} is {length} bytes past head {_cur}, more than the buffer ({_bufferSize})";

            uint start = _cur;
            ReadOnlySpan<byte> commands = CopyOut(start, (int)length);
            _cur = unchecked(start + length);

            var cursor = new RingCursor(this, start, (int)length);
            try
            {
                _dispatch(commands, ref cursor);
            }
            catch (Exception ex) when (!_stopRequested)
            {
                return $"ring {Id}: dispatcher threw {ex.GetType().Name}: {ex.Message}";
            }

            if (_stopRequested)
                break;
            if (cursor.IsFaulted)
                return $"ring {Id}: {cursor.Error}";
            if (_failRequested)
                break;
            if (cursor.Consumed != cursor.Length)
                return $"ring {Id}: the dispatcher consumed {cursor.Consumed} of {cursor.Length} bytes (a command runs past the tail)";

            lastWork = Stopwatch.GetTimestamp();
            relax = 0;
        }

        return null;
    }

    /// <summary>Copy <paramref name="length"/> bytes from counter <paramref name="start"/> (with wrap) into the private buffer.</summary>
    private ReadOnlySpan<byte> CopyOut(uint start, int length)
    {
        if (_private.Length < length)
            _private = new byte[(int)Math.Min(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length), _bufferSize)];

        var destination = _private.AsSpan(0, length);
        int offset = (int)(start & _mask);
        int first = Math.Min(length, (int)_bufferSize - offset);
        new ReadOnlySpan<byte>(_buffer + offset, first).CopyTo(destination);
        if (first < length)
            new ReadOnlySpan<byte>(_buffer, length - first).CopyTo(destination[first..]);
        return destination;
    }

    /// <summary>16 yields, then sleeps of 10 µs doubling with every doubling of the iteration count (virglrenderer's relax).</summary>
    private void Relax(ref uint iteration, long lastWork)
    {
        iteration++;
        if (iteration < BusyWaitIterations)
        {
            Thread.Yield();
            return;
        }

        int shift = System.Numerics.BitOperations.Log2(iteration) - 4;
        long us = shift >= 20 ? MaxSleepMicroseconds : Math.Min(BaseSleepMicroseconds << shift, MaxSleepMicroseconds);

        // do not oversleep the idle deadline by much
        long idleLeftTicks = _idleTicks - (Stopwatch.GetTimestamp() - lastWork);
        if (idleLeftTicks < Stopwatch.Frequency)
            us = Math.Clamp(idleLeftTicks * 1_000_000 / Stopwatch.Frequency + 1, 1, us);

        if (us < NativeSleepLimitMicroseconds)
        {
            VnRing.SleepMicroseconds(us);
            return;
        }

        lock (_lock)
        {
            if (!_stopRequested && !_failRequested)
                Monitor.Wait(_lock, TimeSpan.FromTicks(us * 10));
        }
    }
}
