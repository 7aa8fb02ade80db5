using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Venus.Native;

namespace Venus.Transport.RenderServer.Tests;

/// <summary>What the tests do as the VMM's side, on the tree's libc layer (<see cref="Libc"/>).</summary>
internal static unsafe class Native
{
    public static int EventFd(uint initval, int flags) => Libc.EventFd(initval, flags);

    public static int Fcntl(int fd, int cmd, int arg) => Libc.Fcntl(fd, cmd, arg);

    public static int Close(int fd) => Libc.Close(fd);

    public const int FAddSeals = 1033, FGetSeals = 1034;
    public const int SealSeal = 1, SealShrink = 2, SealGrow = 4, SealWrite = 8;

    /// <summary>A memfd of <paramref name="size"/> bytes, as libvirglrenderer makes the fence shmem.</summary>
    public static int Memfd(long size, bool sealing = true)
    {
        int fd;
        fixed (byte* name = "test\0"u8) fd = Libc.MemfdCreate(name, Libc.MFD_CLOEXEC | (sealing ? Libc.MFD_ALLOW_SEALING : 0));
        Assert.True(fd >= 0);
        Assert.Equal(0, Libc.Ftruncate(fd, size));
        return fd;
    }

    public static uint ReadU32(int fd, long offset)
    {
        uint v = 0;
        Assert.Equal(4, (int)Libc.Pread(fd, &v, 4, offset));
        return v;
    }

    /// <summary>True when <paramref name="fd"/> becomes readable (or hangs up) within <paramref name="ms"/>.</summary>
    public static bool Readable(int fd, int ms)
    {
        var pfd = new Libc.PollFd { fd = fd, events = Libc.POLLIN };
        return Libc.Poll(&pfd, 1, ms) == 1;
    }
}

/// <summary>A renderer that records calls and serves shared memory from memfds.</summary>
internal sealed class FakeContext(uint id, string name, bool deferFences) : IRenderContext
{
    public const ulong RefusedBlobId = 0xBAD;
    public readonly uint Id = id;
    public readonly string Name = name;
    public readonly ConcurrentQueue<string> Calls = new();
    public readonly ConcurrentQueue<byte[]> Streams = new();
    public readonly ConcurrentQueue<(uint Ring, Action Retired)> Fences = new();
    public readonly ManualResetEventSlim Disposed = new();

    public void Init(uint capsetId) => Calls.Enqueue($"Init({capsetId})");

    public RenderResource CreateResource(uint resourceId, ulong blobId, ulong size, uint flags)
    {
        Calls.Enqueue($"CreateResource({resourceId}, 0x{blobId:x}, {size}, {flags})");
        if (blobId == RefusedBlobId) throw new RenderContextException("no such memory");
        return new RenderResource(Native.Memfd((long)size), RenderFdType.Shm, RenderMapInfo.Cached);
    }

    public void ImportResource(uint resourceId, RenderFdType type, int fd, ulong size)
    {
        Calls.Enqueue($"ImportResource({resourceId}, {type}, {size})");
        Native.Close(fd);
    }

    public void DestroyResource(uint resourceId) => Calls.Enqueue($"DestroyResource({resourceId})");

    public void Submit(ReadOnlySpan<byte> stream)
    {
        Calls.Enqueue($"Submit({stream.Length})");
        Streams.Enqueue(stream.ToArray());
    }

    public void SubmitFence(uint ringIndex, Action retired)
    {
        Calls.Enqueue($"SubmitFence({ringIndex})");
        if (deferFences) Fences.Enqueue((ringIndex, retired));
        else retired();
    }

    public void Dispose()
    {
        Calls.Enqueue("Dispose");
        Disposed.Set();
    }
}

internal sealed class FakeFactory(bool deferFences = false) : IRenderContextFactory
{
    public readonly ConcurrentDictionary<uint, FakeContext> Contexts = new();

    public IRenderContext Create(uint contextId, string name)
    {
        var c = new FakeContext(contextId, name, deferFences);
        Contexts[contextId] = c;
        return c;
    }
}

/// <summary>
/// Our own stand-in for libvirglrenderer's proxy: it holds the other end of the main socket, runs a
/// <see cref="RenderServer"/> on a thread (contexts on threads too) and speaks the protocol packet by
/// packet. Everything the server logs is kept.
/// </summary>
internal sealed class FakeVmm : IDisposable
{
    public readonly FakeFactory Factory;
    public readonly ConcurrentQueue<string> Log = new();
    public readonly int Main;
    readonly Thread _server;
    public bool ServerResult;

    public FakeVmm(bool deferFences = false, int maxSubmitBytes = 16 << 20)
    {
        Factory = new FakeFactory(deferFences);
        (int ours, int theirs) = RenderSocket.CreatePair();
        Main = ours;
        var options = new RenderServerOptions { Log = Log.Enqueue, MaxSubmitBytes = maxSubmitBytes };
        var server = new RenderServer(theirs, new ThreadContextLauncher(Factory, options), options);
        _server = new Thread(() => { ServerResult = server.Run(); RenderSocket.Close(theirs); }) { IsBackground = true };
        _server.Start();
    }

    public string LogText => string.Join("\n", Log);

    public static byte[] Packet(int size, params (int Offset, ulong Value, int Width)[] fields)
    {
        var p = new byte[size];
        foreach (var (offset, value, width) in fields)
        {
            if (width == 4) BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(offset), (uint)value);
            else BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(offset), value);
        }
        return p;
    }

    public static void Send(int socket, byte[] packet, params int[] fds) => Assert.True(RenderSocket.Send(socket, packet, fds), "send");

    /// <summary>Receives one packet (up to <paramref name="max"/> bytes) and its fds, waiting at most 10 s.</summary>
    public static (byte[] Data, int[] Fds) Receive(int socket, int max = 256)
    {
        Assert.True(Native.Readable(socket, 10_000), "no reply within 10 s");
        var buffer = new byte[max];
        Span<int> fds = stackalloc int[RenderSocket.MaxFds];
        int n = RenderSocket.Receive(socket, buffer, fds, out int count, out bool truncated, out _);
        Assert.False(truncated);
        Assert.True(n >= 0);
        return (buffer[..n], fds[..count].ToArray());
    }

    /// <summary>True when the server closed <paramref name="socket"/>'s peer within 10 s (end of stream).</summary>
    public static bool Closed(int socket)
    {
        if (!Native.Readable(socket, 10_000)) return false;
        var buffer = new byte[RenderProtocol.CreateResourceReplySize];
        Span<int> fds = stackalloc int[RenderSocket.MaxFds];
        return RenderSocket.Receive(socket, buffer, fds, out _, out _, out _) == 0;
    }

    public void Init(uint flags = 0x2C0) => Send(Main, Packet(8, (0, RenderProtocol.ClientOpInit, 4), (4, flags, 4)));

    public (bool Ok, int Fd) TryCreateContext(uint id, string name)
    {
        var p = Packet(RenderProtocol.CreateContextSize, (0, RenderProtocol.ClientOpCreateContext, 4), (4, id, 4));
        Encoding.ASCII.GetBytes(name).AsSpan(0, Math.Min(name.Length, 31)).CopyTo(p.AsSpan(8));
        Send(Main, p);
        var (data, fds) = Receive(Main);
        Assert.Single(data);
        Assert.Equal(data[0], (byte)fds.Length);
        return (data[0] == 1, fds.Length == 1 ? fds[0] : -1);
    }

    /// <summary>CREATE_CONTEXT then the context's INIT with a fresh 256-byte fence shmem (and an eventfd when asked).</summary>
    public RenderTestContext CreateContext(uint id, string name = "test", bool eventFd = false)
    {
        var (ok, fd) = TryCreateContext(id, name);
        Assert.True(ok, LogText);
        Assert.True(RenderSocket.IsSeqPacket(fd));
        var ctx = new RenderTestContext(fd, Native.Memfd(RenderProtocol.FenceShmemSize), eventFd ? Native.EventFd(0, 0x80000) : -1);
        var init = Packet(RenderProtocol.ContextInitSize, (0, RenderProtocol.ContextOpInit, 4), (4, RenderProtocol.CapsetVenus, 4), (8, RenderProtocol.FenceShmemSize, 8));
        if (ctx.EventFd >= 0) Send(fd, init, ctx.Shmem, ctx.EventFd);
        else Send(fd, init, ctx.Shmem);
        return ctx;
    }

    public FakeContext Renderer(uint id)
    {
        for (int i = 0; i < 1000 && !Factory.Contexts.ContainsKey(id); i++) Thread.Sleep(10);
        return Factory.Contexts[id];
    }

    public void Dispose()
    {
        RenderSocket.Close(Main);
        _server.Join(10_000);
    }
}

/// <summary>One context as the VMM holds it: the socket, the fence shmem and the optional eventfd.</summary>
internal sealed class RenderTestContext(int socket, int shmem, int eventFd) : IDisposable
{
    public readonly int Socket = socket, Shmem = shmem, EventFd = eventFd;

    public uint Seqno(uint ring) => Native.ReadU32(Shmem, ring * 4);

    public void Submit(byte[] stream)
    {
        var p = FakeVmm.Packet(RenderProtocol.SubmitCmdSize, (0, RenderProtocol.ContextOpSubmitCmd, 4), (4, (ulong)stream.Length, 4));
        stream.AsSpan(0, Math.Min(stream.Length, RenderProtocol.SubmitCmdInline)).CopyTo(p.AsSpan(8));
        FakeVmm.Send(Socket, p);
        if (stream.Length > RenderProtocol.SubmitCmdInline) FakeVmm.Send(Socket, stream[RenderProtocol.SubmitCmdInline..]);
    }

    public void Fence(uint ring, uint seqno)
        => FakeVmm.Send(Socket, FakeVmm.Packet(RenderProtocol.SubmitFenceSize, (0, RenderProtocol.ContextOpSubmitFence, 4), (4, RenderProtocol.FenceFlagMergeable, 4), (8, ring, 4), (12, seqno, 4)));

    public byte[] CreateResourceRequest(uint id, ulong blobId, ulong size, uint flags = RenderProtocol.BlobFlagMappable)
        => FakeVmm.Packet(RenderProtocol.CreateResourceSize, (0, RenderProtocol.ContextOpCreateResource, 4), (4, id, 4), (8, blobId, 8), (16, size, 8), (24, flags, 4));

    public void Dispose()
    {
        RenderSocket.Close(Socket);
        RenderSocket.Close(Shmem);
        RenderSocket.Close(EventFd);
    }
}
