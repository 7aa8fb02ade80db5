using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Venus.HostRenderer.Rings;
using Venus.Protocol.Ring;

namespace Venus.HostRenderer.Tests;

/// <summary>
/// Guest-shared ring memory in native memory plus the guest side of Mesa's <c>vn_ring</c> (fact sheet
/// §4.2/§4.3): bytes written with wrap at the guest's cursor, tail stored (seq_cst), status loaded, and
/// <c>vkNotifyRingMESA</c> (here <see cref="HostRing.Notify"/>) sent when IDLE is seen.
/// </summary>
internal sealed unsafe class GuestRing : IDisposable
{
    public readonly byte* Memory;
    public readonly ulong ResourceSize;
    public readonly RingLayout Layout;
    private readonly uint* _head;
    private readonly uint* _tail;
    private readonly uint* _status;
    private readonly byte* _buffer;
    private readonly uint _bufferSize;
    private uint _cur;

    public GuestRing(uint bufferSize, ulong idleTimeoutNs = 5_000_000, uint? monitorPeriodUs = null, ulong extraSize = 4)
    {
        Layout = RingLayout.Mesa(bufferSize, extraSize, idleTimeoutNs, monitorPeriodUs);
        ResourceSize = Layout.RequiredResourceSize;
        Memory = (byte*)NativeMemory.AllocZeroed((nuint)ResourceSize);
        _head = (uint*)(Memory + Layout.HeadOffset);
        _tail = (uint*)(Memory + Layout.TailOffset);
        _status = (uint*)(Memory + Layout.StatusOffset);
        _buffer = Memory + Layout.BufferOffset;
        _bufferSize = bufferSize;
    }

    public HostRing? NotifyTarget { get; set; }
    public int Notifies;

    public uint Cur => _cur;
    public uint Head => Volatile.Read(ref *_head);
    public uint Tail => Volatile.Read(ref *_tail);
    public RingStatusFlags Status => (RingStatusFlags)Volatile.Read(ref *_status);
    public byte* Extra => Memory + Layout.ExtraOffset;

    public HostRing CreateHost(RingDispatch dispatch, ulong id = 1, uint ctx = 1)
        => HostRing.Create(id, ctx, Memory, ResourceSize, Layout, dispatch);

    /// <summary>Copy bytes into the buffer at the guest cursor (with wrap), without publishing them.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        Assert.True(bytes.Length <= _bufferSize);
        int offset = (int)(_cur & (_bufferSize - 1));
        int first = Math.Min(bytes.Length, (int)_bufferSize - offset);
        bytes[..first].CopyTo(new Span<byte>(_buffer + offset, first));
        bytes[first..].CopyTo(new Span<byte>(_buffer, bytes.Length - first));
        _cur += (uint)bytes.Length;
    }

    /// <summary>Store tail (seq_cst), load status: FATAL → false (Mesa aborts); IDLE → notify.</summary>
    public bool Publish(bool notify = true)
    {
        Interlocked.Exchange(ref *_tail, _cur);
        var status = Status;
        if ((status & RingStatusFlags.Fatal) != 0)
            return false;
        if (notify && (status & RingStatusFlags.Idle) != 0 && NotifyTarget is { } host)
        {
            Interlocked.Increment(ref Notifies);
            host.Notify();
        }

        return true;
    }

    /// <summary>Mesa's submit: wait for space, write, publish; returns the seqno (tail after the bytes).</summary>
    public uint Submit(ReadOnlySpan<byte> command, bool notify = true)
    {
        var sw = Stopwatch.StartNew();
        while (_cur + (uint)command.Length - Head > _bufferSize)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), "guest timed out waiting for ring space");
            Assert.False((Status & RingStatusFlags.Fatal) != 0, "ring went FATAL while the guest waited for space");
            Thread.Yield();
        }

        Write(command);
        Assert.True(Publish(notify));
        return _cur;
    }

    public void SetTailRaw(uint tail) => Interlocked.Exchange(ref *_tail, tail);

    public void ClearStatus(RingStatusFlags bits) => Interlocked.And(ref *_status, ~(uint)bits);

    public void Poke(ulong offset, uint value) => *(uint*)(Memory + offset) = value;

    public void Dispose() => NativeMemory.Free(Memory);
}

/// <summary>
/// Test command format (Venus has no length field; this framing stands in for the decoder):
/// u32 size (≥ 8, multiple of 4), u32 op, payload.
/// </summary>
internal static class TestCommands
{
    public const uint Record = 0, Fail = 1, WaitVirtqueue = 2, Gate = 3, Throw = 4, Truncate = 5;

    public static byte[] Make(uint op, ReadOnlySpan<byte> payload = default)
    {
        int size = 8 + (payload.Length + 3) / 4 * 4;
        var bytes = new byte[size];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), op);
        payload.CopyTo(bytes.AsSpan(8));
        return bytes;
    }

    public static byte[] Record32(uint value)
    {
        Span<byte> p = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(p, value);
        return Make(Record, p);
    }

    public static byte[] WaitVq(ulong seqno)
    {
        Span<byte> p = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(p, seqno);
        return Make(WaitVirtqueue, p);
    }
}

/// <summary>A dispatcher for <see cref="TestCommands"/> that records what it ran.</summary>
internal sealed unsafe class TestDispatcher
{
    public readonly ConcurrentQueue<byte[]> Payloads = new();
    public readonly ConcurrentQueue<(uint HeadBefore, uint HeadAfter, uint SharedHeadAfter)> Steps = new();
    public readonly ManualResetEventSlim GateOpen = new(false);
    public readonly ManualResetEventSlim GateEntered = new(false);
    public readonly ManualResetEventSlim VqWaiting = new(false);
    public int Chunks;

    public void Dispatch(ReadOnlySpan<byte> commands, ref RingCursor cursor)
    {
        Interlocked.Increment(ref Chunks);
        while (cursor.Remaining > 0)
        {
            var rest = commands[cursor.Consumed..];
            if (rest.Length < 8)
            {
                cursor.Fail("short command");
                return;
            }

            uint size = BinaryPrimitives.ReadUInt32LittleEndian(rest);
            uint op = BinaryPrimitives.ReadUInt32LittleEndian(rest[4..]);
            if (size < 8 || size > rest.Length)
            {
                cursor.Fail($"command of {size} bytes runs past the end ({rest.Length} left)");
                return;
            }

            var payload = rest[8..(int)size];
            switch (op)
            {
                case TestCommands.Record:
                    Payloads.Enqueue(payload.ToArray());
                    break;
                case TestCommands.Fail:
                    cursor.Fail("test decode error");
                    return;
                case TestCommands.WaitVirtqueue:
                    VqWaiting.Set();
                    if (!cursor.Ring.WaitVirtqueueSeqno(BinaryPrimitives.ReadUInt64LittleEndian(payload)))
                        return; // stopping
                    break;
                case TestCommands.Gate:
                    GateEntered.Set();
                    GateOpen.Wait();
                    break;
                case TestCommands.Throw:
                    throw new InvalidOperationException("dispatcher bug");
                case TestCommands.Truncate:
                    return; // returns without consuming the chunk
                default:
                    cursor.Fail($"unknown op {op}");
                    return;
            }

            uint before = cursor.Head;
            cursor.Advance((int)size);
            Steps.Enqueue((before, cursor.Head, cursor.Ring.Head));
        }
    }
}

/// <summary>A bool-returning wait run on its own thread (not the pool).</summary>
internal sealed class Waiter
{
    private readonly Thread _thread;
    private bool _result;

    private Waiter(Func<bool> wait) => _thread = new Thread(() => _result = wait()) { IsBackground = true };

    public static Waiter Start(Func<bool> wait)
    {
        var w = new Waiter(wait);
        w._thread.Start();
        return w;
    }

    public bool IsCompleted => !_thread.IsAlive;
    public bool Wait(TimeSpan timeout) => _thread.Join(timeout);
    public bool Result => _result;
}

public sealed unsafe class RingTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(5);

    private static void WaitUntil(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        var limit = timeout ?? Long;
        while (!condition())
        {
            Assert.True(sw.Elapsed < limit, "timed out waiting for " + what);
            Thread.Sleep(1);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // §4.1 layout validation

    [Fact]
    public void MesaLayoutIsValid()
    {
        var layout = RingLayout.Mesa(128 * 1024);
        Assert.Equal(131_268ul, layout.RequiredResourceSize);
        Assert.Equal(16_580ul, RingLayout.Mesa(16 * 1024).RequiredResourceSize);
        Assert.True(HostRing.TryValidate(layout, layout.RequiredResourceSize, out var error), error);
        Assert.Equal(5_000_000ul, layout.IdleTimeoutNs);
        Assert.Equal(3_000_000u, layout.MonitorPeriodMicroseconds);

        // ring placed at an offset inside a larger resource; no monitor chain (0.10.4 guests)
        var placed = RingLayout.Mesa(4096, monitorPeriodMicroseconds: null);
        placed.Offset = 8192;
        Assert.True(HostRing.TryValidate(placed, 8192 + placed.Size, out error), error);
        Assert.False(HostRing.TryValidate(placed, 8192 + placed.Size - 4, out _));

        // an empty extra region exactly at the end of the buffer is fine
        var noExtra = RingLayout.Mesa(4096, extraSize: 0);
        Assert.True(HostRing.TryValidate(noExtra, noExtra.RequiredResourceSize, out error), error);
    }

    public static TheoryData<string, string> InvalidLayouts => new()
    {
        { "resource too small", "not inside the resource" },
        { "ring offset+size overflows", "not inside the resource" },
        { "tail outside ring", "tail region" },
        { "region offset overflows", "buffer region" },
        { "extra past ring end", "extra region" },
        { "head misaligned", "not 4-byte aligned" },
        { "extra size misaligned", "not 4-byte aligned" },
        { "head overlaps tail", "overlaps" },
        { "status inside buffer", "overlaps" },
        { "empty extra inside buffer", "overlaps" },
        { "buffer size 0", "power of two" },
        { "buffer size not power of two", "power of two" },
        { "buffer size over 16 MiB", "power of two" },
        { "monitor period 0", "maxReportingPeriodMicroseconds is 0" },
    };

    private static RingLayout Mutate(string name, out ulong resourceSize)
    {
        var l = RingLayout.Mesa(4096);
        resourceSize = l.RequiredResourceSize;
        switch (name)
        {
            case "resource too small": resourceSize -= 4; break;
            case "ring offset+size overflows": l.Offset = ulong.MaxValue - 8; break;
            case "tail outside ring": l.TailOffset = l.Size; break;
            case "region offset overflows": l.BufferOffset = ulong.MaxValue - 4; break;
            case "extra past ring end": l.ExtraSize = 8; break;
            case "head misaligned": l.HeadOffset = 2; break;
            case "extra size misaligned": l.ExtraSize = 3; l.Size = 192 + 4096 + 4; resourceSize = l.Size; break;
            case "head overlaps tail": l.TailOffset = 0; break;
            case "status inside buffer": l.StatusOffset = 192 + 64; break;
            case "empty extra inside buffer": l.ExtraOffset = 192 + 128; l.ExtraSize = 0; break;
            case "buffer size 0": l.BufferSize = 0; break;
            case "buffer size not power of two": l.BufferSize = 4092; break;
            case "buffer size over 16 MiB":
                l.BufferSize = 32u * 1024 * 1024;
                l.ExtraOffset = 192 + l.BufferSize;
                l.Size = l.ExtraOffset + 4;
                resourceSize = l.Size;
                break;
            case "monitor period 0": l.MonitorPeriodMicroseconds = 0; break;
            default: throw new ArgumentException(name);
        }

        return l;
    }

    [Theory]
    [MemberData(nameof(InvalidLayouts))]
    public void InvalidLayoutIsRejected(string name, string expected)
    {
        var layout = Mutate(name, out ulong resourceSize);
        Assert.False(HostRing.TryValidate(layout, resourceSize, out var error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void HeadAndStatusMustBeZeroAtCreation()
    {
        RingDispatch nop = static (ReadOnlySpan<byte> _, ref RingCursor c) => c.Advance(c.Remaining);
        using (var g = new GuestRing(4096))
        {
            g.Poke(g.Layout.HeadOffset, 8);
            Assert.False(HostRing.TryCreate(1, 1, g.Memory, g.ResourceSize, g.Layout, nop, out var ring, out var error));
            Assert.Null(ring);
            Assert.Contains("must be 0", error);
        }

        using (var g = new GuestRing(4096))
        {
            g.Poke(g.Layout.StatusOffset, (uint)RingStatusFlags.Idle);
            Assert.False(HostRing.TryValidate(g.Layout, g.Memory, g.ResourceSize, out var error));
            Assert.Contains("must be 0", error);
            Assert.Throws<ArgumentException>(() => g.CreateHost(nop));
        }

        using (var g = new GuestRing(4096))
        {
            g.Poke(g.Layout.TailOffset, 8); // tail is the guest's; only head and status are checked
            Assert.True(HostRing.TryValidate(g.Layout, g.Memory, g.ResourceSize, out var error), error);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // §4.2 / §4.4 consumption

    [Fact]
    public void CommandsArriveInOrderAndHeadAdvancesPerCommand()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        using var ring = g.CreateHost(d.Dispatch);

        // three commands published with one tail store → one chunk, three head stores
        var c1 = TestCommands.Record32(1);
        var c2 = TestCommands.Make(TestCommands.Record, new byte[20]);
        var c3 = TestCommands.Record32(3);
        g.Write(c1);
        g.Write(c2);
        g.Write(c3);
        g.Publish();
        ring.Start();
        WaitUntil(() => g.Head == g.Tail, "head to reach tail");

        Assert.Equal(1, d.Chunks);
        var steps = d.Steps.ToArray();
        uint e1 = (uint)c1.Length, e2 = e1 + (uint)c2.Length, e3 = e2 + (uint)c3.Length;
        Assert.Equal(new (uint, uint, uint)[] { (0u, e1, e1), (e1, e2, e2), (e2, e3, e3) }, steps.Select(s => (s.HeadBefore, s.HeadAfter, s.SharedHeadAfter)).ToArray());
        Assert.Equal(e3, g.Head);

        // later submissions: one chunk each, order kept
        for (uint i = 10; i < 20; i++)
        {
            uint seqno = g.Submit(TestCommands.Record32(i));
            Assert.True(ring.WaitForSeqno(seqno, new CancellationTokenSource(Long).Token));
        }

        var values = d.Payloads.Where(p => p.Length == 4).Select(p => BinaryPrimitives.ReadUInt32LittleEndian(p)).ToArray();
        Assert.Equal(new uint[] { 1, 3 }.Concat(Enumerable.Range(10, 10).Select(i => (uint)i)).ToArray(), values);
        Assert.Equal(RingStatusFlags.None, g.Status & RingStatusFlags.Fatal);
    }

    [Fact]
    public void DataWrapsAcrossTheBufferEnd()
    {
        const uint size = 256;
        using var g = new GuestRing(size, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        using var ring = g.CreateHost(d.Dispatch);
        ring.Start();

        // one chunk that itself straddles the end: 200 bytes, then a 100-byte command at 200..300
        var first = TestCommands.Make(TestCommands.Record, Enumerable.Repeat((byte)0xAA, 192).ToArray());
        Assert.True(ring.WaitForSeqno(g.Submit(first), new CancellationTokenSource(Long).Token));
        var straddlePayload = Enumerable.Range(0, 92).Select(i => (byte)i).ToArray();
        Assert.True(ring.WaitForSeqno(g.Submit(TestCommands.Make(TestCommands.Record, straddlePayload)), new CancellationTokenSource(Long).Token));

        // many commands of varying size, published in bursts, so the counters wrap the buffer many times
        var expected = new List<byte[]> { first[8..], straddlePayload };
        var rng = new Random(1234);
        for (int burst = 0; burst < 60; burst++)
        {
            int n = rng.Next(1, 4);
            for (int k = 0; k < n; k++)
            {
                var payload = new byte[rng.Next(0, 15) * 4];
                rng.NextBytes(payload);
                expected.Add(payload);
                g.Submit(TestCommands.Make(TestCommands.Record, payload));
            }
        }

        WaitUntil(() => g.Head == g.Cur, "the ring to drain");
        Assert.True(g.Cur > 10 * size);
        var got = d.Payloads.ToArray();
        Assert.Equal(expected.Count, got.Length);
        for (int i = 0; i < got.Length; i++)
            Assert.Equal(expected[i], got[i]);
        Assert.False(ring.IsFaulted);
    }

    [Fact]
    public void NoAllocationPerCommandOnceWarm()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 1_000_000_000);
        long first = -1, last = -1;
        int chunks = 0;
        RingDispatch dispatch = (ReadOnlySpan<byte> commands, ref RingCursor c) =>
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (++chunks == 20)
                first = now;
            last = now;
            while (c.Remaining > 0)
                c.Advance((int)BinaryPrimitives.ReadUInt32LittleEndian(commands[c.Consumed..]));
        };
        using var ring = g.CreateHost(dispatch);
        var big = TestCommands.Make(TestCommands.Record, new byte[1024]);
        var small = TestCommands.Record32(7);
        for (int i = 0; i < 3; i++)
            g.Write(big); // a first chunk of 3096 bytes grows the private buffer to its limit (4096)
        g.Publish();
        ring.Start();
        for (int i = 0; i < 120; i++)
        {
            g.Submit(i % 30 == 0 ? big : small);
            var sw = Stopwatch.StartNew();
            while (g.Head != g.Cur) // one chunk per submission: spin on head like vn_ring_wait_seqno
            {
                Assert.True(sw.Elapsed < Long);
                Thread.Yield();
            }
        }

        WaitUntil(() => g.Head == g.Cur, "the ring to drain");
        Assert.True(chunks > 40, $"only {chunks} chunks");
        Assert.Equal(first, last);
    }

    // ---------------------------------------------------------------------------------------------
    // IDLE and notify

    [Fact]
    public void IdleIsSetAfterTheTimeoutAndClearedByNotify()
    {
        const ulong idleMs = 60;
        using var g = new GuestRing(4096, idleTimeoutNs: idleMs * 1_000_000);
        var d = new TestDispatcher();
        using var ring = g.CreateHost(d.Dispatch);
        var sw = Stopwatch.StartNew();
        ring.Start();
        WaitUntil(() => (g.Status & RingStatusFlags.Idle) != 0, "IDLE");
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(idleMs - 1), $"IDLE after {sw.Elapsed.TotalMilliseconds} ms");

        // a notify with no work: the thread wakes, clears IDLE, and goes idle again after the timeout
        ring.Notify();
        WaitUntil(() => (g.Status & RingStatusFlags.Idle) == 0, "IDLE to clear after notify");
        sw.Restart();
        WaitUntil(() => (g.Status & RingStatusFlags.Idle) != 0, "IDLE again");
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(idleMs / 2), $"IDLE again after {sw.Elapsed.TotalMilliseconds} ms");

        // the guest's path: publish, see IDLE, notify → consumed, IDLE clear while busy
        g.NotifyTarget = ring;
        uint seqno = g.Submit(TestCommands.Record32(5));
        Assert.Equal(1, g.Notifies);
        Assert.True(ring.WaitForSeqno(seqno, new CancellationTokenSource(Long).Token));
        Assert.Equal(RingStatusFlags.None, g.Status & RingStatusFlags.Idle);
        Assert.Single(d.Payloads);
    }

    [Fact]
    public void WorkWrittenWhileIdleWaitsForNotify()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 10_000_000);
        var d = new TestDispatcher();
        using var ring = g.CreateHost(d.Dispatch);
        ring.Start();
        WaitUntil(() => (g.Status & RingStatusFlags.Idle) != 0, "IDLE");

        uint seqno = g.Submit(TestCommands.Record32(42), notify: false); // a guest that forgot to notify
        Thread.Sleep(100);
        Assert.Equal(0u, g.Head);
        Assert.Empty(d.Payloads);
        Assert.True((g.Status & RingStatusFlags.Idle) != 0);

        ring.Notify(); // vkNotifyRingMESA
        Assert.True(ring.WaitForSeqno(seqno, new CancellationTokenSource(Long).Token));
        Assert.Equal(seqno, g.Head);
        Assert.Single(d.Payloads);
    }

    // ---------------------------------------------------------------------------------------------
    // FATAL

    private static (HostRing Ring, ManualResetEventSlim Faulted, List<string> Reasons) StartWithFaultWatch(GuestRing g, RingDispatch dispatch)
    {
        var ring = g.CreateHost(dispatch);
        var faulted = new ManualResetEventSlim();
        var reasons = new List<string>();
        ring.Faulted += (r, reason) =>
        {
            lock (reasons)
                reasons.Add(reason);
            faulted.Set();
        };
        ring.Start();
        return (ring, faulted, reasons);
    }

    [Fact]
    public void DispatcherErrorSetsFatalAndStopsTheThread()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        var (ring, faulted, reasons) = StartWithFaultWatch(g, d.Dispatch);
        using var _ = ring;

        uint s1 = g.Submit(TestCommands.Record32(1));
        g.Write(TestCommands.Make(TestCommands.Fail));
        g.Write(TestCommands.Record32(2));
        g.Publish(); // may already see FATAL

        Assert.True(faulted.Wait(Long));
        Assert.True(ring.Join(Long));
        Assert.False(ring.IsRunning);
        Assert.True(ring.HasExited);
        Assert.True(ring.IsFaulted);
        Assert.True((g.Status & RingStatusFlags.Fatal) != 0);
        Assert.Contains("test decode error", Assert.Single(reasons));
        Assert.Equal(s1, g.Head); // head stays before the failing command
        Assert.Single(d.Payloads);

        // nothing is consumed any more; a seqno wait past the failure returns false at once
        Assert.False(ring.WaitForSeqno(g.Cur));
        Assert.False(g.Publish()); // the guest sees FATAL (Mesa aborts)
    }

    [Fact]
    public void LengthBeyondBufferSizeIsFatal()
    {
        using var g = new GuestRing(256, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        var (ring, faulted, reasons) = StartWithFaultWatch(g, d.Dispatch);
        using var _ = ring;

        g.SetTailRaw(256 + 4);
        Assert.True(faulted.Wait(Long));
        Assert.True(ring.Join(Long));
        Assert.True((g.Status & RingStatusFlags.Fatal) != 0);
        Assert.Contains("more than the buffer", Assert.Single(reasons));
        Assert.Equal(0u, g.Head);
        Assert.Equal(0, d.Chunks);
    }

    [Fact]
    public void ExactlyBufferSizeIsAccepted()
    {
        using var g = new GuestRing(256, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        using var ring = g.CreateHost(d.Dispatch);
        for (int i = 0; i < 256 / 16; i++)
            g.Write(TestCommands.Make(TestCommands.Record, new byte[8]));
        g.Publish();
        ring.Start();
        WaitUntil(() => g.Head == 256, "a full buffer to be consumed");
        Assert.Equal(16, d.Payloads.Count);
        Assert.False(ring.IsFaulted);
    }

    [Theory]
    [InlineData(TestCommands.Throw, "dispatcher threw")]
    [InlineData(TestCommands.Truncate, "consumed 0 of 8")]
    [InlineData(99u, "unknown op")]
    public void OtherDispatcherFailuresAreFatal(uint op, string expected)
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        var (ring, faulted, reasons) = StartWithFaultWatch(g, d.Dispatch);
        using var _ = ring;
        g.Submit(TestCommands.Make(op));
        Assert.True(faulted.Wait(Long));
        Assert.True(ring.Join(Long));
        Assert.True((g.Status & RingStatusFlags.Fatal) != 0);
        Assert.Contains(expected, Assert.Single(reasons));
    }

    [Fact]
    public void FailFromOutsideSetsFatalAndEndsAnIdleThread()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 5_000_000);
        var d = new TestDispatcher();
        var (ring, faulted, reasons) = StartWithFaultWatch(g, d.Dispatch);
        using var _ = ring;
        WaitUntil(() => (g.Status & RingStatusFlags.Idle) != 0, "IDLE");

        ring.Fail("context fatal");
        ring.Fail("second reason is ignored");
        Assert.True(faulted.IsSet);
        Assert.True(ring.Join(Long));
        Assert.True((g.Status & RingStatusFlags.Fatal) != 0);
        Assert.Equal(new[] { "context fatal" }, reasons);
        Assert.Equal("context fatal", ring.FatalReason);
    }

    // ---------------------------------------------------------------------------------------------
    // §4.6 ALIVE monitor

    [Fact]
    public void MonitorKeepsSettingAliveAtTheSmallestPeriod()
    {
        using var slow = new GuestRing(4096, idleTimeoutNs: 5_000_000, monitorPeriodUs: 200_000);
        using var fast = new GuestRing(4096, idleTimeoutNs: 5_000_000, monitorPeriodUs: 15_000);
        using var none = new GuestRing(4096, idleTimeoutNs: 5_000_000, monitorPeriodUs: null);
        RingDispatch nop = static (ReadOnlySpan<byte> _, ref RingCursor c) => c.Advance(c.Remaining);
        using var r1 = slow.CreateHost(nop, id: 1);
        using var r2 = fast.CreateHost(nop, id: 2);
        using var r3 = none.CreateHost(nop, id: 3);
        r1.Start();
        r2.Start();
        r3.Start();

        using var monitor = new RingMonitor(7);
        Assert.False(monitor.IsRunning);
        Assert.True(monitor.Add(r1));
        Assert.True((slow.Status & RingStatusFlags.Alive) != 0); // stamped at once
        Assert.Equal(200_000u, monitor.PeriodMicroseconds);
        Assert.True(monitor.Add(r2));
        Assert.False(monitor.Add(r3)); // no VkRingMonitorInfoMESA: not monitored
        Assert.Equal(15_000u, monitor.PeriodMicroseconds);
        Assert.Equal(2, monitor.Count);
        Assert.True(monitor.IsRunning);
        Assert.Equal("venus-ringmon-7", monitor.ThreadName);

        // the guest's watchdog: clear ALIVE, expect it back (at the 15 ms period, for both rings)
        for (int i = 0; i < 3; i++)
        {
            slow.ClearStatus(RingStatusFlags.Alive);
            fast.ClearStatus(RingStatusFlags.Alive);
            var sw = Stopwatch.StartNew();
            WaitUntil(() => (slow.Status & fast.Status & RingStatusFlags.Alive) != 0, "ALIVE again", TimeSpan.FromSeconds(2));
            Assert.True(sw.Elapsed < TimeSpan.FromMilliseconds(150), $"ALIVE took {sw.Elapsed.TotalMilliseconds} ms");
        }

        Assert.Equal(RingStatusFlags.None, none.Status & RingStatusFlags.Alive);

        // removed rings are no longer stamped; the period goes back up
        Assert.True(monitor.Remove(r2));
        Assert.False(monitor.Remove(r2));
        Assert.Equal(200_000u, monitor.PeriodMicroseconds);
        fast.ClearStatus(RingStatusFlags.Alive);
        Thread.Sleep(60);
        Assert.Equal(RingStatusFlags.None, fast.Status & RingStatusFlags.Alive);

        // disposing a ring detaches it from its monitor
        r1.Dispose();
        Assert.Equal(0, monitor.Count);
        monitor.Dispose();
        Assert.False(monitor.IsRunning);
        Assert.Throws<ObjectDisposedException>(() => monitor.Add(r2));
    }

    // ---------------------------------------------------------------------------------------------
    // §4.7 seqno waits

    [Fact]
    public void SeqnoCompareIsWrapAware()
    {
        Assert.True(HostRing.SeqnoReached(5, 5));
        Assert.True(HostRing.SeqnoReached(6, 5));
        Assert.False(HostRing.SeqnoReached(4, 5));
        Assert.True(HostRing.SeqnoReached(3, 0xFFFF_FFF0));  // head wrapped past the seqno
        Assert.False(HostRing.SeqnoReached(0xFFFF_FFF0, 3)); // seqno wrapped, head not yet
        Assert.True(HostRing.SeqnoReached(0x8000_0000, 1));
        Assert.False(HostRing.SeqnoReached(0x8000_0001, 0));
    }

    [Fact]
    public void WaitForSeqnoBlocksUntilHeadPassesIt()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        using var ring = g.CreateHost(d.Dispatch);
        ring.Start();

        uint sA = g.Submit(TestCommands.Record32(1));
        g.Write(TestCommands.Make(TestCommands.Gate));
        g.Write(TestCommands.Record32(2));
        uint sC = g.Cur;
        g.Publish();

        Assert.True(d.GateEntered.Wait(Long));
        Assert.True(ring.WaitForSeqno(sA, new CancellationTokenSource(Long).Token));
        Assert.Equal(sA, g.Head); // the gate command has not finished

        var waiter = Waiter.Start(() => ring.WaitForSeqno(sC, new CancellationTokenSource(Long).Token));
        Thread.Sleep(50);
        Assert.False(waiter.IsCompleted);

        // cancellation of another wait
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(30)))
            Assert.ThrowsAny<OperationCanceledException>(() => ring.WaitForSeqno(sC, cts.Token));

        d.GateOpen.Set();
        Assert.True(waiter.Wait(Long));
        Assert.True(waiter.Result);
        Assert.Equal(sC, g.Head);

        // a wait on a seqno that never comes ends (false) when the ring is disposed
        var orphan = Waiter.Start(() => ring.WaitForSeqno(sC + 64));
        Thread.Sleep(20);
        ring.Dispose();
        Assert.True(orphan.Wait(Long));
        Assert.False(orphan.Result);
    }

    [Fact]
    public void VirtqueueSeqnoWaitHoldsTheRing()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        using var ring = g.CreateHost(d.Dispatch);
        ring.Start();
        Assert.Equal(0ul, ring.VirtqueueSeqno);

        uint before = g.Submit(TestCommands.Record32(1));
        g.Write(TestCommands.WaitVq(5)); // vkWaitVirtqueueSeqnoMESA(5) in the ring
        g.Write(TestCommands.Record32(2));
        uint end = g.Cur;
        g.Publish();

        Assert.True(d.VqWaiting.Wait(Long));
        ring.SubmitVirtqueueSeqno(3); // vkSubmitVirtqueueSeqnoMESA(ring, 3): not enough
        Thread.Sleep(30);
        Assert.Equal(before, g.Head);
        Assert.Single(d.Payloads);

        ring.SubmitVirtqueueSeqno(5);
        Assert.True(ring.WaitForSeqno(end, new CancellationTokenSource(Long).Token));
        Assert.Equal(5ul, ring.VirtqueueSeqno);
        Assert.Equal(2, d.Payloads.Count);

        // an already-reached seqno does not block
        Assert.True(ring.WaitVirtqueueSeqno(4));
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20)))
            Assert.ThrowsAny<OperationCanceledException>(() => ring.WaitVirtqueueSeqno(6, cts.Token));
    }

    [Fact]
    public void ShutdownCancelsAVirtqueueSeqnoWait()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        var ring = g.CreateHost(d.Dispatch);
        ring.Start();
        g.Submit(TestCommands.WaitVq(100));
        Assert.True(d.VqWaiting.Wait(Long));

        var sw = Stopwatch.StartNew();
        ring.Dispose();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"stop took {sw.Elapsed.TotalMilliseconds} ms");
        Assert.False(ring.IsRunning);
        Assert.False(ring.IsFaulted); // a stop is not an error
        Assert.Equal(RingStatusFlags.None, g.Status & RingStatusFlags.Fatal);
    }

    // ---------------------------------------------------------------------------------------------
    // vkWriteRingExtraMESA

    [Fact]
    public void WriteExtraIsBoundsChecked()
    {
        using var g = new GuestRing(4096, extraSize: 8);
        RingDispatch nop = static (ReadOnlySpan<byte> _, ref RingCursor c) => c.Advance(c.Remaining);
        var ring = g.CreateHost(nop);
        Assert.True(ring.WriteExtra(0, 0x11223344));
        Assert.True(ring.WriteExtra(4, 0x55667788));
        Assert.Equal(0x11223344u, *(uint*)g.Extra);
        Assert.Equal(0x55667788u, *(uint*)(g.Extra + 4));
        Assert.True(ring.WriteExtra(2, 0xAABBCCDD)); // inside, unaligned
        Assert.Equal(0xAABBCCDDu, *(uint*)(g.Extra + 2));
        Assert.False(ring.WriteExtra(5, 1));
        Assert.False(ring.WriteExtra(8, 1));
        Assert.False(ring.WriteExtra(ulong.MaxValue - 1, 1));
        ring.Dispose();
        Assert.False(ring.WriteExtra(0, 1));
    }

    // ---------------------------------------------------------------------------------------------
    // Threads

    /// <summary>Threads of this process whose OS name (at most 15 characters on Linux) is <paramref name="name"/>.</summary>
    private static int OsThreadsNamed(string name)
    {
        if (name.Length > 15)
            name = name[..15];
        int n = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name)
                    n++;
            }
            catch (IOException) { }
        }

        return n;
    }

    [Fact]
    public void DisposeJoinsTheThreads()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 2_000_000, monitorPeriodUs: 10_000);
        var d = new TestDispatcher();
        var ring = g.CreateHost(d.Dispatch, id: 3, ctx: 97);
        var monitor = new RingMonitor(98);
        Assert.Equal("venus-ring-97-3", ring.ThreadName); // 15 chars: the whole name reaches the OS
        bool linux = OperatingSystem.IsLinux() && Directory.Exists("/proc/self/task");
        if (linux)
            Assert.Equal(0, OsThreadsNamed(ring.ThreadName));

        ring.Start();
        monitor.Add(ring);
        Assert.Throws<InvalidOperationException>(() => ring.Start());
        Assert.True(ring.IsRunning);
        if (linux)
        {
            WaitUntil(() => OsThreadsNamed(ring.ThreadName) == 1, "the ring thread to appear");
            WaitUntil(() => OsThreadsNamed(monitor.ThreadName) == 1, "the monitor thread to appear");
        }

        WaitUntil(() => (g.Status & RingStatusFlags.Idle) != 0, "IDLE");
        var sw = Stopwatch.StartNew();
        ring.Dispose(); // idle: woken and joined
        monitor.Dispose();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"dispose took {sw.Elapsed.TotalMilliseconds} ms");
        Assert.False(ring.IsRunning);
        Assert.True(ring.HasExited);
        Assert.False(monitor.IsRunning);
        if (linux)
        {
            // Join returns when the managed thread finished; the OS thread is gone a moment later
            WaitUntil(() => OsThreadsNamed(ring.ThreadName) == 0, "the ring's OS thread to end", TimeSpan.FromSeconds(1));
            WaitUntil(() => OsThreadsNamed(monitor.ThreadName) == 0, "the monitor's OS thread to end", TimeSpan.FromSeconds(1));
        }

        // a busy ring (sleeping in its back-off) stops promptly too, and a never-started one trivially
        using var g2 = new GuestRing(4096, idleTimeoutNs: 10_000_000_000);
        var busy = g2.CreateHost(d.Dispatch, id: 4, ctx: 97);
        busy.Start();
        Thread.Sleep(30);
        sw.Restart();
        busy.Dispose();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"dispose took {sw.Elapsed.TotalMilliseconds} ms");
        Assert.False(busy.IsRunning);
        g2.Submit(TestCommands.Record32(1), notify: false);
        Thread.Sleep(10);
        Assert.Equal(0u, g2.Head);

        var never = g2.CreateHost(d.Dispatch, id: 5, ctx: 97);
        never.Dispose();
        Assert.Throws<ObjectDisposedException>(() => never.Start());
    }

    [Fact]
    public void FaultedHandlerMayDisposeTheRing()
    {
        using var g = new GuestRing(4096, idleTimeoutNs: 1_000_000_000);
        var d = new TestDispatcher();
        var ring = g.CreateHost(d.Dispatch);
        var done = new ManualResetEventSlim();
        ring.Faulted += (r, _) =>
        {
            r.Dispose(); // on the ring thread: only requests the stop
            done.Set();
        };
        ring.Start();
        g.Submit(TestCommands.Make(TestCommands.Fail));
        Assert.True(done.Wait(Long));
        Assert.True(ring.Join(Long));
        Assert.False(ring.IsRunning);
        ring.Dispose();
    }
}
