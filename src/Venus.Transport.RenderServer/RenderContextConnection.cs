using System.Buffers.Binary;
using Venus.Native;
using Venus.Protocol.Ring;

namespace Venus.Transport.RenderServer;

/// <summary>
/// Serves one render-server context socket on the calling thread: INIT with the fence shmem,
/// resources, SUBMIT_CMD (split in two packets past 256 bytes) and SUBMIT_FENCE, retired by storing
/// the seqno into the shmem slot of its ring. A protocol violation or a renderer failure ends this
/// context only: one log line, the socket closed, the renderer disposed.
/// </summary>
public sealed unsafe class RenderContextConnection : IDisposable
{
    readonly int _socket;
    readonly uint _contextId;
    readonly string _label;
    readonly string _name;
    readonly IRenderContextFactory _factory;
    readonly RenderServerOptions _options;
    IRenderContext? _renderer;
    byte[] _large = Array.Empty<byte>();
    /// <summary>Resources created or imported and not destroyed: the renderer only ever sees ids it knows.</summary>
    readonly HashSet<uint> _resources = new();

    // The fence shmem (one u32 seqno per ring), an optional eventfd, and per ring the seqnos whose
    // fences were submitted and not yet retired, oldest first.
    readonly object _fenceLock = new();
    uint* _seqnos;
    nuint _shmemSize;
    int _eventFd = -1;
    readonly Queue<uint>[] _pending = new Queue<uint>[RenderProtocol.TimelineCount];
    readonly Action[] _retire = new Action[RenderProtocol.TimelineCount];
    bool _disposed;

    /// <summary>Takes ownership of <paramref name="socket"/>.</summary>
    public RenderContextConnection(int socket, uint contextId, string name, IRenderContextFactory factory, RenderServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _options = options ?? new RenderServerOptions();
        _options.Validate();
        _socket = socket;
        _contextId = contextId;
        _name = name;
        _label = name.Length > 0 ? $"render context {contextId} ({name})" : $"render context {contextId}";
        _factory = factory;
        for (int i = 0; i < RenderProtocol.TimelineCount; i++)
        {
            uint ring = (uint)i;
            _pending[i] = new Queue<uint>();
            _retire[i] = () => RetireOldest(ring);
        }
    }

    /// <summary>Serves <paramref name="socket"/> until the VMM closes it or the context fails; then disposes everything.</summary>
    public static void Serve(int socket, uint contextId, string name, IRenderContextFactory factory, RenderServerOptions? options = null)
    {
        using var connection = new RenderContextConnection(socket, contextId, name, factory, options);
        connection.Run();
    }

    /// <summary>The packet loop; returns when the socket ends or the context failed (logged).</summary>
    public void Run()
    {
        try
        {
            _renderer = _factory.Create(_contextId, _name);
            Span<byte> packet = stackalloc byte[RenderProtocol.SubmitCmdSize];
            Span<int> fds = stackalloc int[RenderSocket.MaxFds];
            while (true)
            {
                fds.Fill(-1);
                int n = RenderSocket.Receive(_socket, packet, fds, out int fdCount, out bool truncated, out int errno);
                if (n == 0) return;
                if (n < 0)
                {
                    if (errno != Libc.ECONNRESET) Log($"socket error: {Libc.Describe(errno)}");
                    return;
                }
                try
                {
                    if (truncated) throw new RenderContextException($"a packet larger than {packet.Length} bytes or with more than {fds.Length} fds");
                    if (n < 4) throw new RenderContextException($"a packet of {n} bytes (no op)");
                    Dispatch(packet[..n], fds[..fdCount]);
                }
                finally
                {
                    RenderSocket.CloseAll(fds);
                }
            }
        }
        catch (RenderContextException e)
        {
            Log($"ended: {e.Message}");
        }
        catch (Exception e)
        {
            Log($"ended: {e.GetType().Name}: {e.Message}");
        }
    }

    void Log(string message)
    {
        try { _options.Log($"venus-host: {_label}: {message}"); } catch { /* a logger must not end the context */ }
    }

    static void Expect(ReadOnlySpan<byte> packet, int size, ReadOnlySpan<int> fds, int minFds, int maxFds, string op)
    {
        if (packet.Length != size) throw new RenderContextException($"{op}: {packet.Length} bytes, expected {size}");
        if (fds.Length < minFds || fds.Length > maxFds)
            throw new RenderContextException($"{op}: {fds.Length} fds, expected {(minFds == maxFds ? $"{minFds}" : $"{minFds}..{maxFds}")}");
    }

    IRenderContext Initialized(string op)
        => _seqnos != null ? _renderer! : throw new RenderContextException($"{op} before INIT");

    /// <summary>A request after INIT: exactly <paramref name="size"/> bytes and <paramref name="fdCount"/> fds.</summary>
    IRenderContext Checked(ReadOnlySpan<byte> p, int size, ReadOnlySpan<int> fds, int fdCount, string op)
    {
        Expect(p, size, fds, fdCount, fdCount, op);
        return Initialized(op);
    }

    void Dispatch(ReadOnlySpan<byte> p, Span<int> fds)
    {
        uint op = BinaryPrimitives.ReadUInt32LittleEndian(p);
        switch (op)
        {
            case RenderProtocol.OpNop:
                if (fds.Length != 0) throw new RenderContextException("NOP with fds");
                break;
            case RenderProtocol.ContextOpInit:
                Init(p, fds);
                break;
            case RenderProtocol.ContextOpCreateResource:
                CreateResource(Checked(p, RenderProtocol.CreateResourceSize, fds, 0, "CREATE_RESOURCE"), BinaryPrimitives.ReadUInt32LittleEndian(p[4..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(p[8..]), BinaryPrimitives.ReadUInt64LittleEndian(p[16..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(p[24..]));
                break;
            case RenderProtocol.ContextOpImportResource:
            {
                var renderer = Checked(p, RenderProtocol.ImportResourceSize, fds, 1, "IMPORT_RESOURCE");
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
                int type = BinaryPrimitives.ReadInt32LittleEndian(p[8..]);
                ulong size = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]);
                if (id == 0) throw new RenderContextException("IMPORT_RESOURCE of resource id 0");
                if (_resources.Contains(id)) throw new RenderContextException($"IMPORT_RESOURCE {id}: that resource exists");
                if (type is not ((int)RenderFdType.DmaBuf or (int)RenderFdType.Shm))
                    throw new RenderContextException($"IMPORT_RESOURCE {id}: fd type {type} (only dma-buf 0 and shm 2 travel)");
                int fd = fds[0];
                fds[0] = -1; // handed over
                renderer.ImportResource(id, (RenderFdType)type, fd, size);
                _resources.Add(id);
                break;
            }
            case RenderProtocol.ContextOpDestroyResource:
            {
                var renderer = Checked(p, RenderProtocol.DestroyResourceSize, fds, 0, "DESTROY_RESOURCE");
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
                // The VMM only destroys what it made here; an unknown id is a stray request, not a reason to end the context.
                if (_resources.Remove(id)) renderer.DestroyResource(id);
                else Log($"DESTROY_RESOURCE of resource {id}, which does not exist: ignored");
                break;
            }
            case RenderProtocol.ContextOpSubmitCmd:
                SubmitCmd(p, fds);
                break;
            case RenderProtocol.ContextOpSubmitFence:
            {
                var renderer = Checked(p, RenderProtocol.SubmitFenceSize, fds, 0, "SUBMIT_FENCE");
                uint ring = BinaryPrimitives.ReadUInt32LittleEndian(p[8..]);
                uint seqno = BinaryPrimitives.ReadUInt32LittleEndian(p[12..]);
                if (ring >= RenderProtocol.TimelineCount)
                    throw new RenderContextException($"SUBMIT_FENCE on ring {ring} (rings are 0..{RenderProtocol.TimelineCount - 1})");
                lock (_fenceLock) _pending[ring].Enqueue(seqno);
                renderer.SubmitFence(ring, _retire[ring]);
                break;
            }
            default:
                throw new RenderContextException($"unknown op {op} ({p.Length} bytes)");
        }
    }

    void Init(ReadOnlySpan<byte> p, Span<int> fds)
    {
        Expect(p, RenderProtocol.ContextInitSize, fds, 1, 2, "INIT");
        if (_seqnos != null) throw new RenderContextException("a second INIT");
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(p[8..]);
        if (size < RenderProtocol.FenceShmemSize || size > 1 << 20)
            throw new RenderContextException($"INIT: fence shmem of {size} bytes (needs {RenderProtocol.FenceShmemSize}..1 MiB)");
        long length = RenderSocket.FileSize(fds[0]);
        if (length < RenderProtocol.FenceShmemSize)
            throw new RenderContextException($"INIT: the fence shmem fd holds {length} bytes, fewer than {RenderProtocol.FenceShmemSize}");
        // Only the seqno slots are ever touched, so only they are mapped.
        size = RenderProtocol.FenceShmemSize;
        void* map = Libc.Mmap(null, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fds[0], 0);
        if (map == Libc.MAP_FAILED) throw new RenderContextException($"INIT: cannot map the fence shmem: {Libc.Describe(Libc.LastError)}");
        // The mapping is the shmem now; the eventfd (if any) is kept for signalling.
        _renderer!.Init(flags);
        lock (_fenceLock)
        {
            _seqnos = (uint*)map;
            _shmemSize = (nuint)size;
            if (fds.Length == 2) { _eventFd = fds[1]; fds[1] = -1; }
        }
    }

    void CreateResource(IRenderContext renderer, uint id, ulong blobId, ulong size, uint flags)
    {
        Span<byte> reply = stackalloc byte[RenderProtocol.CreateResourceReplySize];
        reply.Clear();
        RenderResource r;
        try
        {
            if (id == 0) throw new RenderContextException("resource id 0");
            if (_resources.Contains(id)) throw new RenderContextException("that resource exists");
            if (size == 0) throw new RenderContextException("a blob of size 0");
            r = renderer.CreateResource(id, blobId, size, flags);
        }
        catch (RenderContextException e)
        {
            // A refused blob fails that blob only, as virglrenderer's server answers: no fd, type INVALID.
            Log($"CREATE_RESOURCE {id} (blob_id 0x{blobId:x}, {size} bytes, flags 0x{flags:x}) refused: {e.Message}");
            BinaryPrimitives.WriteInt32LittleEndian(reply, -1);
            if (!RenderSocket.Send(_socket, reply, default)) throw new RenderContextException($"CREATE_RESOURCE reply: {Libc.Describe(Libc.LastError)}");
            return;
        }
        _resources.Add(id);
        try
        {
            BinaryPrimitives.WriteInt32LittleEndian(reply, (int)r.FdType);
            BinaryPrimitives.WriteUInt32LittleEndian(reply[4..], (uint)r.MapInfo);
            int fd = r.Fd;
            if (!RenderSocket.Send(_socket, reply, new ReadOnlySpan<int>(in fd)))
                throw new RenderContextException($"CREATE_RESOURCE reply: {Libc.Describe(Libc.LastError)}");
        }
        finally
        {
            RenderSocket.Close(r.Fd);
        }
    }

    void SubmitCmd(ReadOnlySpan<byte> p, Span<int> fds)
    {
        var renderer = Checked(p, RenderProtocol.SubmitCmdSize, fds, 0, "SUBMIT_CMD");
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
        if (size <= RenderProtocol.SubmitCmdInline)
        {
            renderer.Submit(p.Slice(8, (int)size));
            return;
        }
        if (size > (uint)_options.MaxSubmitBytes)
            throw new RenderContextException($"SUBMIT_CMD of {size} bytes (the limit is {_options.MaxSubmitBytes})");
        // One byte of slack, so that a longer second packet shows as longer than expected.
        if (_large.Length <= size) _large = new byte[Math.Max(size + 1, Math.Min((uint)_options.MaxSubmitBytes + 1, (uint)_large.Length * 2))];
        p.Slice(8, RenderProtocol.SubmitCmdInline).CopyTo(_large);
        int rest = (int)size - RenderProtocol.SubmitCmdInline;
        Span<int> restFds = stackalloc int[RenderSocket.MaxFds];
        restFds.Fill(-1);
        int n = RenderSocket.Receive(_socket, _large.AsSpan(RenderProtocol.SubmitCmdInline, rest + 1),
            restFds, out int fdCount, out bool truncated, out int errno);
        RenderSocket.CloseAll(restFds);
        if (n <= 0) throw new RenderContextException(n == 0 ? "the socket closed inside a split SUBMIT_CMD" : $"SUBMIT_CMD rest: {Libc.Describe(errno)}");
        if (n != rest || truncated || fdCount != 0)
            throw new RenderContextException($"SUBMIT_CMD of {size} bytes: its second packet has {n}{(truncated ? "+" : "")} bytes and {fdCount} fds, expected {rest} and none");
        renderer.Submit(_large.AsSpan(0, (int)size));
    }

    /// <summary>The oldest pending fence of <paramref name="ring"/> has retired: publish its seqno.</summary>
    void RetireOldest(uint ring)
    {
        lock (_fenceLock)
        {
            if (_disposed || _seqnos == null || !_pending[ring].TryDequeue(out uint seqno)) return;
            uint* slot = _seqnos + ring;
            // Never move a ring's published seqno backwards (wrap-aware, as the library compares).
            uint current = Volatile.Read(ref *slot);
            if (VnRing.SeqnoAfter(seqno, current) || current == 0) Volatile.Write(ref *slot, seqno);
            if (_eventFd >= 0)
            {
                ulong one = 1;
                Libc.Write(_eventFd, &one, sizeof(ulong));
            }
        }
    }

    public void Dispose()
    {
        try { _renderer?.Dispose(); }
        catch (Exception e) { Log($"teardown: {e.GetType().Name}: {e.Message}"); }
        lock (_fenceLock)
        {
            _disposed = true;
            if (_seqnos != null) Libc.Munmap(_seqnos, _shmemSize);
            _seqnos = null;
            RenderSocket.Close(_eventFd);
            _eventFd = -1;
        }
        // The render server may hold a copy of this socket (HangUpWatch): end the connection, not just this fd.
        Libc.Shutdown(_socket, Libc.SHUT_RDWR);
        RenderSocket.Close(_socket);
    }
}
