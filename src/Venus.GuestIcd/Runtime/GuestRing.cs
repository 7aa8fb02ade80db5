using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Venus.GuestIcd.Transport;
using Venus.Protocol;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Venus.Protocol.Ring;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// The guest end of a Venus ring (venus-protocol.md §4): a shared-memory head/tail/status/buffer
/// the host's ring thread consumes, so commands travel without a syscall each; the socket is used
/// only for <c>vkNotifyRingMESA</c> when the host thread went idle.
/// <para>
/// Calls: <see cref="Enter"/> (takes the ring's lock), <see cref="BeginCall"/> (writes
/// <c>vkSetReplyCommandStreamMESA</c> in front when a reply is wanted), the generated <c>Encode</c>,
/// then <see cref="Call"/> (sends, waits until the host's head passes the command, returns a decoder
/// over the reply) or <see cref="Send"/> (no reply, no wait), and <see cref="Exit"/> in a finally.
/// </para>
/// <para>
/// Threads do not queue behind each other's round trips (issue 12): the lock covers only writing into
/// the ring. Every call with a reply gets a reply buffer of its own from a pool (as Mesa's reply
/// shmem pool), and <see cref="Call"/> lets the lock go while it waits for the host, so other threads'
/// commands and calls go into the ring behind it and the host answers them in one pass; the lock is
/// taken back to decode the reply. Everything stays in one ring, in the order it was written, so what
/// one thread sent is seen by the host before anything another thread sends after it. Only a call in
/// the outermost section lets the lock go (a nested section keeps it, as before).
/// <c>VENUS_PERF=serial_calls</c> keeps the lock over the wait (the behaviour before).
/// </para>
/// <para>
/// Call rings (what Mesa's venus calls TLS rings; <see cref="EnableCallRings"/>): slow synchronous
/// commands (pipeline creation, pipeline cache data: icd.xml's <c>&lt;callring&gt;</c>, through
/// <see cref="ForSlowCall"/>) go through a small ring taken from a pool for that one call, so a long
/// compile does not hold up every other thread's round trips and several compiles run at once on the
/// host. With <c>VENUS_PERF=thread_rings</c> every call with a reply goes that way
/// (<see cref="ForCall"/>). Before a call goes into a call ring, the host must have run everything
/// the primary ring held when this thread last could have seen it (its tail at the last release of
/// its lock): the thread waits for that seqno (Mesa waits for the whole primary ring). A call ring
/// holds nothing but that one call, which has been answered when it goes back to the pool, so any
/// thread may take it next; the pool grows to the calls in flight at once, up to
/// <see cref="MaxCallRings"/>, past which calls stay on the primary ring.
/// </para>
/// </summary>
internal sealed unsafe class GuestRing : IDisposable
{
    private const uint HeadOffset = VnRing.MesaHeadOffset, TailOffset = VnRing.MesaTailOffset, StatusOffset = VnRing.MesaStatusOffset, BufferOffset = VnRing.MesaBufferOffset;
    private const uint ExtraSize = VnRing.MesaExtraSize;
    private const uint StatusIdle = (uint)RingStatusFlags.Idle, StatusFatal = (uint)RingStatusFlags.Fatal, StatusAlive = (uint)RingStatusFlags.Alive;
    /// <summary>How often the host's ring monitor sets ALIVE (we check it at a multiple of this).</summary>
    private const uint MonitorPeriodMicroseconds = 1_000_000;
    private const long WatchdogMilliseconds = 10_000;
    /// <summary>The size of reply buffers made for calls beyond the first in flight at once.</summary>
    private const ulong ExtraReplySize = 1 << 16;

    private readonly IGuestTransport _transport;
    private readonly GuestShmem _shmem;
    private readonly uint _bufferSize;
    private readonly uint* _head, _tail, _status;
    private readonly byte* _buffer;
    private readonly Lock _lock = new();
    private uint _cur;
    private GuestShmem? _upload;
    private byte* _scratch;
    private int _scratchCapacity;
    private int _prefix;
    private ulong _requestSize;
    private string? _lost;

    // ---- the lock owner's section (guarded by _lock) ----
    private int _depth;              // Enter nesting of the thread that holds the lock
    private ReplyBuffer? _encoding;  // the reply buffer of the call begun with BeginCall, until Call sends it
    private ReplyBuffer? _decoding;  // the reply buffer of the call the lock owner is decoding, until Exit
    private uint _published;         // our tail when the lock was last released (read without the lock)

    // ---- reply buffers (guarded by _lock) ----
    private sealed class ReplyBuffer(GuestShmem shmem)
    {
        public GuestShmem Shmem = shmem;
        public ulong Size; // this call's reply size
    }
    private readonly Stack<ReplyBuffer> _freeReplies = new();
    private readonly List<ReplyBuffer> _allReplies = new();

    // ---- call rings (see the class summary) ----
    /// <summary>Call rings per instance, beyond which calls stay on the primary ring (the host allows 64 rings per context).</summary>
    public const int MaxCallRings = 16;
    private Func<GuestRing>? _makeCallRing; // non-null on a primary ring with call rings
    private bool _slowCallsOnRings, _allCallsOnRings;
    private readonly GuestRing? _primary;   // on a call ring: the primary ring whose pool it belongs to
    private readonly Stack<GuestRing> _idleCallRings = new(); // guarded by itself
    private readonly List<GuestRing> _callRings = new();      // guarded by _idleCallRings

    public GuestRing(IGuestTransport transport, VnProtocolFilter filter, ulong ringId, uint bufferSize, ulong replySize)
        : this(transport, filter, ringId, bufferSize, replySize, null)
    {
    }

    private GuestRing(IGuestTransport transport, VnProtocolFilter filter, ulong ringId, uint bufferSize, ulong replySize, GuestRing? primary)
    {
        _primary = primary;
        if (bufferSize == 0 || (bufferSize & (bufferSize - 1)) != 0)
            throw new ArgumentException("the ring buffer size must be a power of two", nameof(bufferSize));
        _transport = transport;
        Filter = filter;
        RingId = ringId;
        _recordingStream = _recording is null ? null : $"ring 0x{ringId:x}";
        _bufferSize = bufferSize;
        ulong shmemSize = BufferOffset + bufferSize + ExtraSize;
        _shmem = transport.CreateShmem(shmemSize);
        GuestShmem? reply = null;
        try
        {
            byte* p = _shmem.Pointer;
            new Span<byte>(p, (int)BufferOffset).Clear();
            _head = (uint*)(p + HeadOffset);
            _tail = (uint*)(p + TailOffset);
            _status = (uint*)(p + StatusOffset);
            _buffer = p + BufferOffset;
            // Fault the buffer's pages in now and clear them from this thread, as Mesa clears its ring
            // at creation: otherwise the first pass over the ring (1 MiB of commands) took a page fault
            // every 4 KiB, and then (pages the kernel had cleared) a cache miss to memory on every line
            // it wrote, which made the first thousands of async creates 3-6× slower (issue 12).
            Posix.PopulateWrite(_buffer, bufferSize);
            new Span<byte>(_buffer, (int)bufferSize).Clear();
            reply = transport.CreateShmem(replySize);

            var monitor = new VkRingMonitorInfoMESA
            {
                sType = VkRingMonitorInfoMESA.SType,
                maxReportingPeriodMicroseconds = MonitorPeriodMicroseconds,
            };
            var info = new VkRingCreateInfoMESA
            {
                sType = VkRingCreateInfoMESA.SType,
                pNext = &monitor,
                resourceId = _shmem.ResourceId,
                offset = 0,
                size = (nuint)shmemSize,
                idleTimeout = 5_000_000, // ns: the host's ring thread idles after 5 ms without work
                headOffset = HeadOffset,
                tailOffset = TailOffset,
                statusOffset = StatusOffset,
                bufferOffset = BufferOffset,
                bufferSize = bufferSize,
                extraOffset = BufferOffset + bufferSize,
                extraSize = ExtraSize,
            };
            ulong size = vkCreateRingMESA.Size(ringId, &info, filter);
            byte* bytes = stackalloc byte[(int)size];
            var e = new VnEncoder(new Span<byte>(bytes, (int)size), filter);
            vkCreateRingMESA.Encode(ref e, 0, ringId, &info);
            transport.SubmitVirtqueue(e.Written);
        }
        catch
        {
            reply?.Dispose();
            _shmem.Dispose();
            throw;
        }
        var first = new ReplyBuffer(reply);
        _allReplies.Add(first);
        _freeReplies.Push(first);
        _lastAliveCheck = Environment.TickCount64;
    }

    public ulong RingId { get; }

    /// <summary>
    /// Lets calls go through call rings of <paramref name="bufferSize"/> bytes, each with the id
    /// <paramref name="newRingId"/> gives: slow calls (<see cref="ForSlowCall"/>) unless
    /// <c>VENUS_PERF=serial_calls</c>, every call (<see cref="ForCall"/>) with <c>VENUS_PERF=thread_rings</c>.
    /// Call once, before the ring is shared between threads.
    /// </summary>
    public void EnableCallRings(Func<ulong> newRingId, uint bufferSize, ulong replySize)
    {
        if (_primary is not null)
            return;
        _allCallsOnRings = PerfOptions.ThreadRings;
        _slowCallsOnRings = _allCallsOnRings || !PerfOptions.SerialCalls;
        if (_slowCallsOnRings)
            _makeCallRing = () => new GuestRing(_transport, Filter, newRingId(), bufferSize, replySize, this);
    }

    // VENUS_RECORD: the process's recording and this ring's stream name in it (null when not recording).
    private readonly Venus.Protocol.Wire.VenusRecording.Writer? _recording = Venus.GuestIcd.Transport.RecordingTransport.Writer;
    private readonly string? _recordingStream;
    public VnProtocolFilter Filter { get; }
    public IGuestTransport Transport => _transport;
    public bool IsLost => (_lost ?? _primary?._lost) is not null;

    // ---- call rings ---------------------------------------------------------------------------------

    /// <summary>The ring a call with a reply goes through: a call ring with <c>VENUS_PERF=thread_rings</c>, else this one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public GuestRing ForCall() => _allCallsOnRings ? TakeCallRing() : this;

    /// <summary>The ring a slow call (icd.xml's <c>&lt;callring&gt;</c>) goes through: a call ring, unless <c>VENUS_PERF=serial_calls</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public GuestRing ForSlowCall() => _slowCallsOnRings ? TakeCallRing() : this;

    /// <summary>
    /// A call ring from the pool (made when none is idle and fewer than <see cref="MaxCallRings"/>
    /// exist), once the host has run what this thread can have seen of the primary ring; this ring
    /// when the thread is inside a section of it (its call must stay in order there), when the pool
    /// is used up or a ring could not be made. The call ring goes back to the pool at its
    /// <see cref="Exit"/>.
    /// </summary>
    private GuestRing TakeCallRing()
    {
        if (_lock.IsHeldByCurrentThread)
            return this;
        ThrowIfLost();
        GuestRing? ring = null;
        bool make = false;
        lock (_idleCallRings)
        {
            if (!_idleCallRings.TryPop(out ring) && _callRings.Count < MaxCallRings)
                make = true;
        }
        if (make)
        {
            try
            {
                ring = _makeCallRing!();
            }
            catch (Exception e) when (e is not DeviceLostException)
            {
                IcdLog.Info($"a call ring: {e.Message}; calls share the instance's ring");
                lock (_idleCallRings)
                    _callRings.Add(this); // counts towards the limit: do not try on every call
                return this;
            }
            int count;
            lock (_idleCallRings)
            {
                _callRings.Add(ring);
                count = _callRings.Count;
            }
            IcdLog.Info($"call ring 0x{ring.RingId:x} made for thread {Environment.CurrentManagedThreadId} ({count} of {MaxCallRings})");
        }
        if (ring is null || ring == this)
            return this;
        uint target = Volatile.Read(ref _published);
        if (!Reached(target))
        {
            try
            {
                var relax = new Relax(this);
                while (!Reached(target))
                    relax.Step();
            }
            catch
            {
                ReturnCallRing(ring);
                throw;
            }
        }
        return ring;
    }

    private void ReturnCallRing(GuestRing ring)
    {
        lock (_idleCallRings)
            _idleCallRings.Push(ring);
    }

    // ---- call protocol ---------------------------------------------------------------------------

    /// <summary>Begins a section on the ring: takes its lock (nested sections of one thread count).</summary>
    public void Enter()
    {
        _lock.Enter();
        _depth++;
    }

    /// <summary>Ends a section: the reply buffer of its last call goes back to the pool, and at the outermost exit the lock is let go.</summary>
    public void Exit()
    {
        if (_depth == 1)
        {
            if (_decoding is { } decoded)
            {
                _decoding = null;
                _freeReplies.Push(decoded);
            }
            if (_encoding is { } unsent)
            {
                _encoding = null;
                _freeReplies.Push(unsent);
            }
            Volatile.Write(ref _published, _cur);
        }
        bool outermost = --_depth == 0;
        _lock.Exit();
        if (outermost && _primary is { } primary)
            primary.ReturnCallRing(this);
    }

    /// <summary>Starts a command; with <paramref name="replySize"/> &gt; 0 the reply stream is set first. Hold the lock.</summary>
    public VnEncoder BeginCall(ulong requestSize, ulong replySize)
    {
        ThrowIfLost();
        int prefix = 0;
        GuestShmem? reply = null;
        if (replySize > 0)
        {
            _encoding ??= RentReply();
            if (replySize > _encoding.Shmem.Size)
                GrowReply(_encoding, replySize);
            _encoding.Size = replySize;
            reply = _encoding.Shmem;
            prefix = SetReplySize;
        }
        ulong total = (ulong)prefix + requestSize;
        if (total > int.MaxValue)
            throw new VulkanResultException(VkResult.VK_ERROR_OUT_OF_HOST_MEMORY, $"a command of {requestSize} bytes is too large to encode");
        EnsureScratch((int)total);
        _prefix = prefix;
        _requestSize = requestSize;
        var e = new VnEncoder(new Span<byte>(_scratch, (int)total), Filter);
        if (reply is not null)
        {
            var stream = new VkCommandStreamDescriptionMESA { resourceId = reply.ResourceId, offset = 0, size = (nuint)replySize };
            vkSetReplyCommandStreamMESA.Encode(ref e, 0, &stream);
        }
        return e;
    }

    private static readonly int SetReplySize = ComputeSetReplySize();

    private static int ComputeSetReplySize()
    {
        var stream = new VkCommandStreamDescriptionMESA();
        return (int)vkSetReplyCommandStreamMESA.Size(&stream);
    }

    /// <summary>A reply buffer nobody's call is using (made when there is none). Hold the lock.</summary>
    private ReplyBuffer RentReply()
    {
        if (_freeReplies.TryPop(out ReplyBuffer? free))
            return free;
        var made = new ReplyBuffer(_transport.CreateShmem(ExtraReplySize));
        _allReplies.Add(made);
        return made;
    }

    /// <summary>
    /// Sends the command begun with <see cref="BeginCall"/> with a reply and waits for it; the decoder
    /// reads the call's own reply buffer, which stays the caller's until <see cref="Exit"/>. In the
    /// outermost section the lock is let go during the wait (see the class summary) and taken back
    /// before this returns.
    /// </summary>
    public VnDecoder Call(in VnEncoder e)
    {
        CheckEncoded(e);
        ReplyBuffer reply = _encoding ?? throw new InvalidOperationException("Call without a reply buffer (BeginCall was given no reply size)");
        _encoding = null;
        if (_decoding is { } earlier)
        {
            // An earlier call of this section: decoded by now (calls of one thread follow each other).
            _decoding = null;
            _freeReplies.Push(earlier);
        }
        new Span<byte>(reply.Shmem.Pointer, (int)reply.Size).Clear();
        uint seqno;
        try
        {
            seqno = Submit(e.Written);
        }
        catch
        {
            _freeReplies.Push(reply);
            throw;
        }
        if (_depth == 1 && !PerfOptions.SerialCalls && !Reached(seqno))
        {
            // Let other threads write while the host works on this call; nothing of this section is
            // pending (a section's earlier calls are answered, its sends are in the ring).
            Volatile.Write(ref _published, _cur);
            _depth = 0;
            _lock.Exit();
            try
            {
                WaitSeqno(seqno);
            }
            finally
            {
                _lock.Enter();
                _depth = 1;
            }
        }
        else
        {
            WaitSeqno(seqno);
        }
        _decoding = reply;
        return new VnDecoder(new ReadOnlySpan<byte>(reply.Shmem.Pointer, (int)reply.Size));
    }

    /// <summary>Sends the command begun with <see cref="BeginCall"/> (no reply) without waiting.</summary>
    public uint Send(in VnEncoder e)
    {
        CheckEncoded(e);
        return Submit(e.Written);
    }

    /// <summary>
    /// Loses the ring when a reply did not decode: the host broke the protocol (a count past the guest's
    /// array, a length past the reply's end, another command's reply), so nothing it says can be trusted;
    /// the app gets VK_ERROR_DEVICE_LOST.
    /// </summary>
    public void CheckReply(in VnDecoder d, string command)
    {
        if (d.Failed)
            Lose($"{command}: the host's reply did not decode ({d.Error} at byte {d.ErrorPosition} of {_decoding?.Size ?? 0})");
    }

    private void CheckEncoded(in VnEncoder e)
    {
        if ((ulong)(e.Position - _prefix) != _requestSize)
            throw new InvalidOperationException($"encoded {e.Position - _prefix} bytes, but the size function said {_requestSize}");
    }

    private void EnsureScratch(int size)
    {
        if (size <= _scratchCapacity)
            return;
        int capacity = Math.Max(size, Math.Max(4096, _scratchCapacity * 2));
        byte* p = (byte*)NativeMemory.Realloc(_scratch, (nuint)capacity);
        if (p == null)
            throw new OutOfMemoryException();
        _scratch = p;
        _scratchCapacity = capacity;
    }

    private void GrowReply(ReplyBuffer reply, ulong size)
    {
        ulong newSize = Math.Max(size, reply.Shmem.Size * 2);
        GuestShmem bigger = _transport.CreateShmem(newSize);
        reply.Shmem.Dispose();
        reply.Shmem = bigger;
    }

    // ---- submission ------------------------------------------------------------------------------

    /// <summary>Largest stream written into the ring directly; bigger ones go through an upload blob.</summary>
    public uint DirectLimit => _bufferSize / 4;

    /// <summary>
    /// Writes whole commands into the ring and returns the seqno (tail) after them. Streams over
    /// <see cref="DirectLimit"/> are placed in an upload blob and referenced by
    /// <c>vkExecuteCommandStreamsMESA</c> (§4.5); the call then waits until the host consumed it,
    /// so the blob can be reused. Hold the lock.
    /// </summary>
    public uint Submit(ReadOnlySpan<byte> commands)
    {
        ThrowIfLost();
        if (_recording is { } recording)
        {
            recording.Write(_recordingStream!, commands);
            recording.Flush();
        }
        if ((uint)commands.Length <= DirectLimit)
            return WriteRing(commands);
        return SubmitIndirect(commands);
    }

    private uint SubmitIndirect(ReadOnlySpan<byte> commands)
    {
        ulong needed = (ulong)commands.Length;
        if (_upload is null || _upload.Size < needed)
        {
            _upload?.Dispose();
            _upload = null;
            _upload = _transport.CreateShmem(Math.Max(1UL << 20, RoundUpPow2(needed)));
        }
        commands.CopyTo(new Span<byte>(_upload.Pointer, commands.Length));
        var stream = new VkCommandStreamDescriptionMESA { resourceId = _upload.ResourceId, offset = 0, size = (nuint)commands.Length };
        ulong size = vkExecuteCommandStreamsMESA.Size(1, &stream, null, 0, null, 0, Filter);
        byte* bytes = stackalloc byte[(int)size];
        var e = new VnEncoder(new Span<byte>(bytes, (int)size), Filter);
        vkExecuteCommandStreamsMESA.Encode(ref e, 0, 1, &stream, null, 0, null, 0);
        uint seqno = WriteRing(e.Written);
        WaitSeqno(seqno);
        return seqno;
    }

    private static ulong RoundUpPow2(ulong v)
    {
        ulong p = 1;
        while (p < v)
            p <<= 1;
        return p;
    }

    private uint WriteRing(ReadOnlySpan<byte> data)
    {
        uint size = (uint)data.Length;
        // Space: everything between head and our tail is still the host's. The head is read (and
        // checked) on every write, as Mesa does: a host that lies about it is caught at the next
        // command, not only when the ring fills (LyingHostTests).
        if (_cur + size - Head() > _bufferSize)
            WaitForSpace(size);

        uint pos = _cur & (_bufferSize - 1);
        uint first = Math.Min(size, _bufferSize - pos);
        fixed (byte* src = data)
        {
            Buffer.MemoryCopy(src, _buffer + pos, first, first);
            if (first < size)
                Buffer.MemoryCopy(src + first, _buffer, size - first, size - first);
        }
        _cur += size;
        Volatile.Write(ref *_tail, _cur);
        // seq_cst between the tail store and the status load (the host does the mirror image).
        Interlocked.MemoryBarrier();
        uint status = Volatile.Read(ref *_status);
        if ((status & StatusFatal) != 0)
            Lose("the host marked the ring FATAL (it rejected a command; see the host's log)");
        if ((status & StatusIdle) != 0)
            Notify();
        return _cur;
    }

    /// <summary>
    /// Returns once the host has handled everything this process sent outside the ring before it
    /// (virtio-gpu: a blob just created, a resource PRIME import just attached), so that a ring
    /// command naming such a resource cannot overtake it: a vkNotifyRingMESA of this ring through
    /// <see cref="IGuestTransport.SyncVirtqueue"/>. Not for hot paths.
    /// </summary>
    public void SyncVirtqueue()
    {
        ulong size = vkNotifyRingMESA.Size(RingId, _cur, 0, Filter);
        byte* bytes = stackalloc byte[(int)size];
        var e = new VnEncoder(new Span<byte>(bytes, (int)size), Filter);
        vkNotifyRingMESA.Encode(ref e, 0, RingId, _cur, 0);
        _transport.SyncVirtqueue(e.Written);
    }

    private void Notify()
    {
        ulong size = vkNotifyRingMESA.Size(RingId, _cur, 0, Filter);
        byte* bytes = stackalloc byte[(int)size];
        var e = new VnEncoder(new Span<byte>(bytes, (int)size), Filter);
        vkNotifyRingMESA.Encode(ref e, 0, RingId, _cur, 0);
        try
        {
            _transport.SubmitVirtqueue(e.Written);
        }
        catch (Exception ex) when (ex is not DeviceLostException)
        {
            Lose($"notifying the host failed: {ex.Message}");
        }
    }

    private void WaitForSpace(uint size)
    {
        var relax = new Relax(this);
        while (_cur + size - Head() > _bufferSize)
            relax.Step();
    }

    /// <summary>
    /// The host's head, checked: it may only trail our tail by at most the buffer size (wrap-aware).
    /// A head ahead of what we submitted, or further back than the buffer holds, is a host that lies;
    /// waiting on it would never end (or read replies that are not there), so the ring is lost.
    /// The head is read before our tail: the host can only have seen a tail we already wrote.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Head()
    {
        uint head = Volatile.Read(ref *_head);
        uint cur = Volatile.Read(ref _cur);
        if (cur - head > _bufferSize)
            BadHead(head, cur);
        return head;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BadHead(uint head, uint cur) =>
        Lose($"the host's ring head 0x{head:x} is not within the {_bufferSize} bytes before our tail 0x{cur:x}");

    /// <summary>Our tail when the lock was last released: every command written before then is at or before it.</summary>
    public uint Published => Volatile.Read(ref _published);

    /// <summary>True once the host's head has passed <paramref name="seqno"/> (wrap-aware).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Reached(uint seqno) => VnRing.SeqnoReached(Head(), seqno);

    /// <summary>Waits (spin, yield, then growing sleeps) until the host consumed everything up to <paramref name="seqno"/>.</summary>
    public void WaitSeqno(uint seqno)
    {
        if (Reached(seqno))
            return;
        var relax = new Relax(this);
        while (!Reached(seqno))
            relax.Step();
    }

    // ---- liveness ------------------------------------------------------------------------------

    private long _lastAliveCheck;

    /// <summary>
    /// One step of a wait on the host, shaped like Mesa's <c>vn_relax</c>: a few short spins (well
    /// under a microsecond in all), then up to 256 thread yields, then sleeps of 10 µs doubling to
    /// 1.28 ms. Yielding early matters on a busy machine: the host's ring thread (and the driver's
    /// queue thread behind it) often needs the very core the waiting app thread holds, and a long
    /// spin (the old 64 × <c>Thread.SpinWait(16)</c>, some 40 µs) kept it off that core, which is
    /// what made our round trips 4× Mesa's on the same host (<c>VENUS_PERF=spin_relax</c> brings the
    /// old spin back for comparison). The ring's FATAL bit is read on every yield; the connection
    /// and the host's ALIVE watchdog every 16th yield and on every sleep, so a dead host ends a wait
    /// within about a millisecond of being noticed.
    /// </summary>
    public struct Relax(GuestRing ring)
    {
        private const int SpinSteps = 4, YieldSteps = 256;
        private int _iteration;

        /// <summary>Past the spins and yields: the next step would sleep (a wait that has lasted some 100 µs or more).</summary>
        public readonly bool Sleeping => _iteration >= (PerfOptions.SpinRelax ? 256 : SpinSteps + YieldSteps);

        public void Step()
        {
            int i = _iteration++;
            if (PerfOptions.SpinRelax)
            {
                StepSpinFirst(i);
                return;
            }
            if (i < SpinSteps)
            {
                Thread.SpinWait(4);
                return;
            }
            if (i < SpinSteps + YieldSteps)
            {
                if ((i & 15) == 0)
                    ring.CheckHost();
                else
                    ring.CheckFatal();
                Thread.Yield();
                return;
            }
            ring.CheckHost();
            int shift = Math.Min((i - SpinSteps - YieldSteps) / 64, 7); // 10 µs .. 1.28 ms
            VnRing.SleepMicroseconds(10u << shift);
        }

        // The relax before issue 12's round-trip work: 64 spins of Thread.SpinWait(16), 192 yields, sleeps.
        private void StepSpinFirst(int i)
        {
            if (i < 64)
            {
                Thread.SpinWait(16);
                return;
            }
            ring.CheckHost();
            if (i < 256)
            {
                Thread.Yield();
                return;
            }
            int shift = Math.Min((i - 256) / 64, 7); // 10 µs .. 1.28 ms
            VnRing.SleepMicroseconds(10u << shift);
        }
    }

    /// <summary>Throws <see cref="DeviceLostException"/> if the ring is lost or the host set FATAL (a memory read, no syscall).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CheckFatal()
    {
        if (_lost is not null || (Volatile.Read(ref *_status) & StatusFatal) != 0)
            CheckHost();
    }

    /// <summary>Throws <see cref="DeviceLostException"/> if the host is gone, FATAL, or silent past the watchdog.</summary>
    public void CheckHost()
    {
        ThrowIfLost();
        uint status = Volatile.Read(ref *_status);
        if ((status & StatusFatal) != 0)
            Lose("the host marked the ring FATAL (it rejected a command; see the host's log)");
        if (_transport.IsHostGone())
            Lose($"the host closed the connection ({_transport.Name})");
        long now = Environment.TickCount64;
        long last = Volatile.Read(ref _lastAliveCheck);
        // Several threads wait on one ring at once: only the one that moves the check time on clears
        // ALIVE, or a second thread right behind it would find the bit it just cleared.
        if (now - last >= WatchdogMilliseconds && Interlocked.CompareExchange(ref _lastAliveCheck, now, last) == last)
        {
            // The host's monitor sets ALIVE every MonitorPeriod; clear it and expect it back.
            uint before = Interlocked.And(ref *_status, ~StatusAlive);
            if ((before & StatusAlive) == 0)
                Lose($"the host's ring monitor has not reported for {WatchdogMilliseconds / 1000} s");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ThrowIfLost()
    {
        if ((_lost ?? _primary?._lost) is string why)
            ThrowLost(why);
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLost(string why) => throw new DeviceLostException(why);

    /// <summary>Marks the ring (and so the instance) lost and throws.</summary>
    [DoesNotReturn]
    public void Lose(string why)
    {
        if (_lost is null)
        {
            _lost = why;
            IcdLog.Error($"device lost: {why}");
            if (_primary is { } primary)
                primary._lost ??= $"{why} (on a call ring)";
        }
        throw new DeviceLostException(_lost);
    }

    public void Dispose()
    {
        GuestRing[] callRings;
        lock (_idleCallRings)
        {
            callRings = _callRings.Where(r => r != this).ToArray();
            _callRings.Clear();
            _idleCallRings.Clear();
        }
        foreach (GuestRing r in callRings)
            r.Dispose();
        lock (_lock)
        {
            if (_lost is null)
            {
                try
                {
                    ulong size = vkDestroyRingMESA.Size(RingId, Filter);
                    byte* bytes = stackalloc byte[(int)size];
                    var e = new VnEncoder(new Span<byte>(bytes, (int)size), Filter);
                    vkDestroyRingMESA.Encode(ref e, 0, RingId);
                    _transport.SubmitVirtqueue(e.Written);
                }
                catch (Exception ex)
                {
                    IcdLog.Info($"vkDestroyRingMESA: {ex.Message}");
                }
            }
            _lost ??= "the instance was destroyed";
            _upload?.Dispose();
            foreach (ReplyBuffer r in _allReplies)
                r.Shmem.Dispose();
            _allReplies.Clear();
            _freeReplies.Clear();
            _shmem.Dispose();
            if (_scratch != null)
            {
                NativeMemory.Free(_scratch);
                _scratch = null;
            }
        }
    }
}
