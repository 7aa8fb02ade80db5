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
/// Calls: <see cref="Enter"/>, <see cref="BeginCall"/> (writes <c>vkSetReplyCommandStreamMESA</c>
/// in front when a reply is wanted), the generated <c>Encode</c>, then <see cref="Call"/> (sends,
/// waits until the host's head passes the command, returns a decoder over the reply) or
/// <see cref="Send"/> (no reply, no wait), and <see cref="Exit"/> in a finally. One call runs at a
/// time per ring, which is what lets every reply use offset 0 of the reply buffer.
/// </para>
/// <para>
/// Per-thread rings (what Mesa's venus calls TLS rings): on the instance's ring, a command with a
/// reply (everything through <c>Generated.Calls</c>) goes through a small ring of the calling thread's
/// own (<see cref="EnableThreadRings"/>, made at the thread's first call), so that threads do not wait
/// behind each other's round trips. The primary ring's lock is then taken only for what is written
/// into it: <see cref="Enter"/> is lazy there, and the first <see cref="BeginCall"/> without a reply,
/// <see cref="Submit"/> or <see cref="WaitSeqno"/> takes it. Before a command goes into a thread ring,
/// the host must have run everything the primary ring held when this thread last could have seen it
/// (its tail at the last release of its lock): the thread waits for that seqno (Mesa waits for the
/// whole primary ring). Calls already inside a locked primary section, and threads past
/// <see cref="MaxThreadRings"/>, use the primary ring. Off unless <c>VENUS_PERF=thread_rings</c>: on a
/// 2-core host it measured slower (more host ring threads for the same cores; README, issue 12).
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

    private readonly IGuestTransport _transport;
    private readonly GuestShmem _shmem;
    private readonly uint _bufferSize;
    private readonly uint* _head, _tail, _status;
    private readonly byte* _buffer;
    private readonly Lock _lock = new();
    private uint _cur;
    private GuestShmem _reply;
    private GuestShmem? _upload;
    private byte* _scratch;
    private int _scratchCapacity;
    private int _prefix;
    private ulong _requestSize, _replySize;
    private string? _lost;

    // ---- per-thread rings (see the class summary) ----
    /// <summary>Thread rings per instance, beyond which threads share the primary ring (the host allows 64 rings per context).</summary>
    public const int MaxThreadRings = 16;
    private Func<GuestRing>? _makeThreadRing; // non-null on a primary ring with thread rings
    private readonly GuestRing? _primary; // on a thread ring: the ring it serves
    private readonly Dictionary<int, GuestRing?> _threadRings = new(); // managed thread id -> its ring (null: none to be had)
    private uint _published; // primary: our tail when the lock was last released

    /// <summary>What the calling thread holds of one primary ring.</summary>
    private sealed class ThreadState
    {
        public GuestRing? Ring;     // the primary ring whose Enter is outstanding (depth > 0), or last used
        public int Depth;           // Enter nesting on Ring
        public bool Locked;         // Ring's lock taken in this section
        public GuestRing? Redirect; // the thread ring this section's call went to
        public GuestRing? Own;      // this thread's ring for Ring (cached)
        public bool OwnKnown;
    }

    [ThreadStatic] private static ThreadState? t_state;

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
            _reply = transport.CreateShmem(replySize);

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
            _reply?.Dispose();
            _shmem.Dispose();
            throw;
        }
        _lastAliveCheck = Environment.TickCount64;
    }

    public ulong RingId { get; }

    /// <summary>
    /// Makes calls with a reply go through per-thread rings of <paramref name="bufferSize"/> bytes,
    /// each with the id <paramref name="newRingId"/> gives (only with <c>VENUS_PERF=thread_rings</c>).
    /// Call once, before the ring is shared between threads.
    /// </summary>
    public void EnableThreadRings(Func<ulong> newRingId, uint bufferSize, ulong replySize)
    {
        if (!PerfOptions.ThreadRings || _primary is not null)
            return;
        _makeThreadRing = () => new GuestRing(_transport, Filter, newRingId(), bufferSize, replySize, this);
    }

    // VENUS_RECORD: the process's recording and this ring's stream name in it (null when not recording).
    private readonly Venus.Protocol.Wire.VenusRecording.Writer? _recording = Venus.GuestIcd.Transport.RecordingTransport.Writer;
    private readonly string? _recordingStream;
    public VnProtocolFilter Filter { get; }
    public IGuestTransport Transport => _transport;
    public bool IsLost => (_lost ?? _primary?._lost) is not null;

    // ---- call protocol ---------------------------------------------------------------------------

    /// <summary>Begins a section on the ring (lazy on a primary ring with thread rings: see the class summary).</summary>
    public void Enter()
    {
        if (_makeThreadRing is null)
        {
            _lock.Enter();
            return;
        }
        ThreadState st = t_state ??= new ThreadState();
        if (st.Depth > 0 && st.Ring != this)
        {
            _lock.Enter(); // inside another instance's section: this one locks at once
            return;
        }
        if (st.Ring != this)
        {
            st.Ring = this;
            st.OwnKnown = false;
            st.Own = null;
        }
        st.Depth++;
    }

    public void Exit()
    {
        if (_makeThreadRing is null)
        {
            _lock.Exit();
            return;
        }
        ThreadState? st = t_state;
        if (st is null || st.Ring != this || st.Depth == 0)
        {
            _lock.Exit();
            return;
        }
        if (--st.Depth > 0)
            return;
        if (st.Redirect is { } redirect)
        {
            st.Redirect = null;
            redirect.Exit();
        }
        if (st.Locked)
        {
            st.Locked = false;
            Volatile.Write(ref _published, _cur);
            _lock.Exit();
        }
    }

    /// <summary>On a primary ring with thread rings: takes the lock for this section if it has not been taken.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Lock()
    {
        if (_makeThreadRing is not null)
            LockSection();
    }

    private void LockSection()
    {
        ThreadState? st = t_state;
        if (st is null || st.Ring != this || st.Depth == 0 || st.Locked)
            return; // not in a lazy section (an eager one holds the lock already)
        _lock.Enter();
        st.Locked = true;
    }

    /// <summary>The thread ring this section's call went to, if any.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private GuestRing? Redirected()
    {
        if (_makeThreadRing is null)
            return null;
        ThreadState? st = t_state;
        return st is not null && st.Ring == this ? st.Redirect : null;
    }

    /// <summary>A call with a reply in a fresh lazy section: its thread ring, once the primary ring has run what the thread can have seen.</summary>
    private GuestRing? RedirectCall()
    {
        ThreadState? st = t_state;
        if (st is null || st.Ring != this || st.Depth != 1 || st.Locked || st.Redirect is not null)
            return null;
        if (!st.OwnKnown)
        {
            st.Own = ThreadRing();
            st.OwnKnown = true;
        }
        if (st.Own is not { } own)
            return null;
        uint target = Volatile.Read(ref _published);
        own.Enter();
        st.Redirect = own;
        if (!Reached(target))
        {
            var relax = new Relax(this);
            while (!Reached(target))
                relax.Step();
        }
        return own;
    }

    /// <summary>The calling thread's ring, made on first use; null past <see cref="MaxThreadRings"/> or where it could not be made.</summary>
    private GuestRing? ThreadRing()
    {
        int thread = Environment.CurrentManagedThreadId;
        lock (_threadRings)
        {
            if (_threadRings.TryGetValue(thread, out GuestRing? known))
                return known;
            GuestRing? made = null;
            if (_threadRings.Count < MaxThreadRings)
            {
                try
                {
                    made = _makeThreadRing!();
                }
                catch (Exception e) when (e is not DeviceLostException)
                {
                    IcdLog.Info($"a ring for thread {thread}: {e.Message}; it shares the instance's ring");
                }
            }
            _threadRings[thread] = made;
            if (made is not null)
                IcdLog.Info($"thread ring 0x{made.RingId:x} for thread {thread} ({_threadRings.Count} of {MaxThreadRings})");
            return made;
        }
    }

    /// <summary>Starts a command; with <paramref name="replySize"/> &gt; 0 the reply stream is set first. Hold the lock.</summary>
    public VnEncoder BeginCall(ulong requestSize, ulong replySize)
    {
        if (_makeThreadRing is not null)
        {
            if (replySize > 0 && RedirectCall() is { } own)
                return own.BeginCall(requestSize, replySize);
            LockSection();
        }
        ThrowIfLost();
        int prefix = 0;
        if (replySize > 0)
        {
            if (replySize > _reply.Size)
                GrowReply(replySize);
            prefix = SetReplySize;
        }
        ulong total = (ulong)prefix + requestSize;
        if (total > int.MaxValue)
            throw new VulkanResultException(VkResult.VK_ERROR_OUT_OF_HOST_MEMORY, $"a command of {requestSize} bytes is too large to encode");
        EnsureScratch((int)total);
        _prefix = prefix;
        _requestSize = requestSize;
        _replySize = replySize;
        var e = new VnEncoder(new Span<byte>(_scratch, (int)total), Filter);
        if (replySize > 0)
        {
            var stream = new VkCommandStreamDescriptionMESA { resourceId = _reply.ResourceId, offset = 0, size = (nuint)replySize };
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

    /// <summary>Sends the command begun with <see cref="BeginCall"/> with a reply and waits for it.</summary>
    public VnDecoder Call(in VnEncoder e)
    {
        if (Redirected() is { } own)
            return own.Call(e);
        CheckEncoded(e);
        new Span<byte>(_reply.Pointer, (int)_replySize).Clear();
        uint seqno = Submit(e.Written);
        WaitSeqno(seqno);
        return new VnDecoder(new ReadOnlySpan<byte>(_reply.Pointer, (int)_replySize));
    }

    /// <summary>Sends the command begun with <see cref="BeginCall"/> (no reply) without waiting.</summary>
    public uint Send(in VnEncoder e)
    {
        if (Redirected() is { } own)
            return own.Send(e);
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
        if (Redirected() is { } own)
        {
            own.CheckReply(d, command);
            return;
        }
        if (d.Failed)
            Lose($"{command}: the host's reply did not decode ({d.Error} at byte {d.ErrorPosition} of {_replySize})");
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

    private void GrowReply(ulong size)
    {
        ulong newSize = Math.Max(size, _reply.Size * 2);
        GuestShmem bigger = _transport.CreateShmem(newSize);
        _reply.Dispose();
        _reply = bigger;
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
        Lock();
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
        if (now - _lastAliveCheck >= WatchdogMilliseconds)
        {
            // The host's monitor sets ALIVE every MonitorPeriod; clear it and expect it back.
            uint before = Interlocked.And(ref *_status, ~StatusAlive);
            if ((before & StatusAlive) == 0)
                Lose($"the host's ring monitor has not reported for {WatchdogMilliseconds / 1000} s");
            _lastAliveCheck = now;
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
                primary._lost ??= $"{why} (on a thread's ring)";
        }
        throw new DeviceLostException(_lost);
    }

    public void Dispose()
    {
        lock (_threadRings)
        {
            foreach (GuestRing? r in _threadRings.Values)
                r?.Dispose();
            _threadRings.Clear();
        }
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
            _reply.Dispose();
            _shmem.Dispose();
            if (_scratch != null)
            {
                NativeMemory.Free(_scratch);
                _scratch = null;
            }
        }
    }
}
