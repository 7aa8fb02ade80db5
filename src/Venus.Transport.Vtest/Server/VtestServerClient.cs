using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Venus.Protocol;
using Venus.Native;

namespace Venus.Transport.Vtest.Server;

/// <summary>
/// One accepted connection, served on its own thread: reads messages, validates them, answers
/// as virglrenderer 1.1.0's <c>vtest_renderer.c</c> does (fact sheet §6.1–§6.4), and drives the
/// client's <see cref="IVtestRenderer"/>. Any malformed message, unknown command or renderer
/// exception ends this connection only.
/// </summary>
internal sealed unsafe class VtestServerClient
{
    /// <summary>The renderer's callback for batches whose syncs the server signals itself.</summary>
    private static readonly Action NoOp = static () => { };

    private const int MaxLoggedNameChars = 64;

    private readonly IVtestClientHost _server;
    private readonly IVtestRendererFactory _factory;
    private readonly VtestServerOptions _options;
    private readonly Lock _fdLock = new();
    private readonly VtestSyncTable _syncs;
    private readonly HashSet<uint> _resources = [];
    private int _fd;
    private IVtestRenderer? _renderer;
    private uint _protocolVersion;
    private uint _capsetId;
    private bool _contextInitialized;

    internal VtestServerClient(IVtestClientHost server, int id, int fd, IVtestRendererFactory factory, VtestServerOptions options)
    {
        _server = server;
        Id = id;
        _fd = fd;
        _factory = factory;
        _options = options;
        _syncs = new VtestSyncTable(options.MaxSyncsPerClient, options.MaxPendingSyncWaitsPerClient);
        Thread = new Thread(Run)
        {
            IsBackground = true,
            Name = "vtest-client-" + id.ToString(CultureInfo.InvariantCulture),
        };
    }

    public int Id { get; }

    /// <summary>The CREATE_RENDERER name, sanitized for logs; "?" before it arrived.</summary>
    public string Name { get; private set; } = "?";

    public Thread Thread { get; }

    /// <summary>Wakes the thread (recv/send return) so that it tears down; safe against the fd's close.</summary>
    public void Shutdown()
    {
        lock (_fdLock)
        {
            if (_fd >= 0)
                Libc.Shutdown(_fd, Libc.SHUT_RDWR);
        }
    }

    private void Run()
    {
        string ending;
        try
        {
            Serve();
            ending = "disconnected";
        }
        catch (ClientEndedException e)
        {
            ending = e.Message;
        }
        catch (Exception e)
        {
            // A bug in the server itself; still only this client ends.
            ending = $"dropped: internal server error: {e}";
        }

        // Said before the teardown: a worker process whose client hung up may be killed before a
        // slow teardown (a busy device) ends, and its client's end must still be in the log.
        _server.Log($"vtest client {Id} '{Name}' {ending}");
        string problems;
        try
        {
            problems = TearDown();
        }
        catch (Exception e)
        {
            problems = $"teardown failed: {e.GetType().Name}: {e.Message}";
        }
        if (problems.Length > 0) _server.Log($"vtest client {Id} '{Name}' {problems}");
        _server.OnClientEnded(this);
    }

    /// <summary>Ends the client's renderer, syncs and connection; returns what went wrong ("" when nothing).</summary>
    private string TearDown()
    {
        string problems = "";
        _syncs.Close();
        IVtestRenderer? renderer = _renderer;
        _renderer = null;
        if (renderer is not null)
        {
            try
            {
                renderer.Dispose();
            }
            catch (Exception e)
            {
                problems = $"teardown: renderer Dispose threw {e.GetType().Name}: {e.Message}";
            }
        }
        lock (_fdLock)
        {
            if (_fd >= 0)
            {
                // The server that handed this connection over may hold a copy (HangUpWatch): end
                // the connection itself, not just this fd, so the client sees the end at once.
                Libc.Shutdown(_fd, Libc.SHUT_RDWR);
                Libc.Close(_fd);
                _fd = -1;
            }
        }
        return problems;
    }

    private void Serve()
    {
        Span<uint> header = stackalloc uint[VtestProtocol.HeaderDwords];
        while (true)
        {
            if (!ReadExact(MemoryMarshal.AsBytes(header), "a message header", endOfStreamOk: true))
                return;
            uint length = header[VtestProtocol.HeaderLengthIndex];
            uint id = header[VtestProtocol.HeaderIdIndex];

            if (_renderer is null)
            {
                // The first command MUST be CREATE_RENDERER (vtest_server.c).
                if (id != (uint)VtestCommand.CreateRenderer)
                    throw Drop($"the first message must be CREATE_RENDERER (8), got {Describe(id)} (length {length})");
                CreateRenderer(length);
                continue;
            }

            _syncs.ExpireWaits();
            switch ((VtestCommand)id)
            {
                case VtestCommand.PingProtocolVersion:
                    ReadFixed(VtestCommand.PingProtocolVersion, length, 0, []);
                    Reply(VtestCommand.PingProtocolVersion, []);
                    break;
                case VtestCommand.ResourceBusyWait:
                    ResourceBusyWait(length);
                    break;
                case VtestCommand.ProtocolVersion:
                    ProtocolVersion(length);
                    break;
                case VtestCommand.GetParam:
                    GetParam(length);
                    break;
                case VtestCommand.GetCapset:
                    GetCapset(length);
                    break;
                case VtestCommand.ContextInit:
                    ContextInit(length);
                    break;
                case VtestCommand.ResourceCreateBlob:
                    ResourceCreateBlob(length);
                    break;
                case VtestCommand.ResourceUnref:
                    ResourceUnref(length);
                    break;
                case VtestCommand.SyncCreate:
                    SyncCreate(length);
                    break;
                case VtestCommand.SyncUnref:
                    SyncUnref(length);
                    break;
                case VtestCommand.SyncRead:
                    SyncRead(length);
                    break;
                case VtestCommand.SyncWrite:
                    SyncWrite(length);
                    break;
                case VtestCommand.SyncWait:
                    SyncWait(length);
                    break;
                case VtestCommand.SubmitCmd2:
                    SubmitCmd2(length);
                    break;
                case VtestCommand.CreateRenderer:
                    throw Drop($"a second CREATE_RENDERER (length {length})");
                default:
                    throw Drop($"unknown or unsupported command {Describe(id)} (length {length}); this server speaks the venus subset of vtest protocol 3");
            }
        }
    }

    // ---- commands -------------------------------------------------------------------------

    private void CreateRenderer(uint length)
    {
        if (length > (uint)_options.MaxRendererNameBytes)
            throw Drop($"CREATE_RENDERER name of {length} bytes exceeds the limit of {_options.MaxRendererNameBytes}");
        byte[] name = new byte[length];
        ReadExact(name, "the CREATE_RENDERER name");
        int end = Array.IndexOf(name, (byte)0);
        string clientName = Encoding.UTF8.GetString(name, 0, end < 0 ? name.Length : end);
        Name = Sanitize(clientName);

        try
        {
            _renderer = _factory.Create(Id, clientName)
                ?? throw new InvalidOperationException("the renderer factory returned null");
        }
        catch (Exception e)
        {
            throw RendererFailed("creating the renderer", e);
        }
        _server.Log($"vtest client {Id} '{Name}' connected");
    }

    private void ResourceBusyWait(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.ResourceBusyWaitDwords];
        ReadFixed(VtestCommand.ResourceBusyWait, length, VtestProtocol.ResourceBusyWaitDwords, request);
        // Mesa sends (0, 0) right after PING as a probe; a real handle needs a context.
        if (!_contextInitialized && request[0] != 0)
            throw Drop($"RESOURCE_BUSY_WAIT of handle {request[0]} before CONTEXT_INIT");
        // Venus submissions make no implicit fences: never busy.
        Reply(VtestCommand.ResourceBusyWait, [0]);
    }

    private void ProtocolVersion(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.ProtocolVersionDwords];
        ReadFixed(VtestCommand.ProtocolVersion, length, VtestProtocol.ProtocolVersionDwords, request);
        uint version = Math.Min(request[0], VtestProtocol.Version);
        // Deprecated version 1 falls back to 0 (vtest_protocol_version).
        if (version == 1)
            version = 0;
        _protocolVersion = version;
        Reply(VtestCommand.ProtocolVersion, [version]);
    }

    private void GetParam(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.GetParamDwords];
        ReadFixed(VtestCommand.GetParam, length, VtestProtocol.GetParamDwords, request);
        if (request[0] == (uint)VtestParam.MaxTimelineCount)
            Reply(VtestCommand.GetParam, [1, VtestProtocol.MaxTimelineCount]);
        else if (request[0] == (uint)VtestParam.SharesHostVisibleMemory && _options.SharesHostVisibleMemory)
            Reply(VtestCommand.GetParam, [1, 1]);
        else
            Reply(VtestCommand.GetParam, [0, 0]);
    }

    private void GetCapset(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.GetCapsetDwords];
        ReadFixed(VtestCommand.GetCapset, length, VtestProtocol.GetCapsetDwords, request);
        ReadOnlySpan<byte> capset;
        try
        {
            capset = Renderer.GetCapset(request[0], request[1]);
        }
        catch (Exception e)
        {
            throw RendererFailed($"GET_CAPSET({request[0]}, {request[1]})", e);
        }

        if (capset.IsEmpty)
        {
            Reply(VtestCommand.GetCapset, [0]);
            return;
        }
        if (capset.Length % 4 != 0)
            throw Drop($"GET_CAPSET({request[0]}, {request[1]}): the renderer's capset is {capset.Length} bytes, not a whole number of dwords");
        if (capset.Length > _options.MaxCapsetBytes)
            throw Drop($"GET_CAPSET({request[0]}, {request[1]}): the renderer's capset is {capset.Length} bytes, over the limit of {_options.MaxCapsetBytes}");

        Span<uint> head = [(uint)(1 + capset.Length / 4), (uint)VtestCommand.GetCapset, 1];
        WriteAll(MemoryMarshal.AsBytes(head), "the GET_CAPSET reply");
        WriteAll(capset, "the GET_CAPSET reply");
    }

    private void ContextInit(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.ContextInitDwords];
        ReadFixed(VtestCommand.ContextInit, length, VtestProtocol.ContextInitDwords, request);
        uint capsetId = request[0];
        if (capsetId == 0)
            throw Drop("CONTEXT_INIT with capset id 0");
        if (_contextInitialized)
        {
            // A repeat with the same capset is a no-op (vtest_context_init).
            if (capsetId != _capsetId)
                throw Drop($"CONTEXT_INIT({capsetId}) on a context already initialized with capset {_capsetId}");
            return;
        }
        if (_protocolVersion < VtestProtocol.MinimumVenusVersion)
            throw Drop($"CONTEXT_INIT needs protocol version {VtestProtocol.MinimumVenusVersion}; the client negotiated {_protocolVersion}");
        if (capsetId != VenusCapset.CapsetId)
            throw Drop($"CONTEXT_INIT({capsetId}): this server makes venus contexts only (capset {VenusCapset.CapsetId})");
        try
        {
            Renderer.ContextInit(capsetId);
        }
        catch (Exception e)
        {
            throw RendererFailed($"CONTEXT_INIT({capsetId})", e);
        }
        _capsetId = capsetId;
        _contextInitialized = true;
    }

    private void ResourceCreateBlob(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.ResourceCreateBlobDwords];
        ReadFixed(VtestCommand.ResourceCreateBlob, length, VtestProtocol.ResourceCreateBlobDwords, request);
        RequireContext(VtestCommand.ResourceCreateBlob);
        var type = (VtestBlobType)request[0];
        var flags = (VtestBlobFlags)request[1];
        ulong size = request[2] | ((ulong)request[3] << 32);
        ulong blobId = request[4] | ((ulong)request[5] << 32);
        string what = $"RESOURCE_CREATE_BLOB(type {request[0]}, flags 0x{request[1]:x}, size {size}, blob id {blobId})";
        if (type is not (VtestBlobType.Guest or VtestBlobType.Host3D or VtestBlobType.Host3DGuest))
            throw Drop($"{what}: unknown blob type");
        if (size == 0)
            throw Drop($"{what}: size 0");

        uint resourceId;
        int fd;
        try
        {
            (resourceId, fd) = Renderer.CreateBlob(type, flags, size, blobId);
        }
        catch (Exception e)
        {
            throw RendererFailed(what, e);
        }

        try
        {
            if (fd < 0)
                throw Drop($"{what}: the renderer returned fd {fd}");
            if (resourceId == 0 || _resources.Contains(resourceId))
                throw Drop($"{what}: the renderer returned resource id {resourceId}, which is 0 or already live");
            Reply(VtestCommand.ResourceCreateBlob, [resourceId]);
            SendFd(fd, what);
            _resources.Add(resourceId);
        }
        finally
        {
            // The renderer handed the fd over; closing it does not unmap anything.
            if (fd >= 0)
                Libc.Close(fd);
        }
    }

    private void ResourceUnref(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.ResourceUnrefDwords];
        ReadFixed(VtestCommand.ResourceUnref, length, VtestProtocol.ResourceUnrefDwords, request);
        RequireContext(VtestCommand.ResourceUnref);
        // virglrenderer ignores an unknown handle (hash-table remove).
        if (!_resources.Remove(request[0]))
            return;
        try
        {
            Renderer.ResourceUnref(request[0]);
        }
        catch (Exception e)
        {
            throw RendererFailed($"RESOURCE_UNREF({request[0]})", e);
        }
    }

    private void SyncCreate(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.SyncCreateDwords];
        ReadFixed(VtestCommand.SyncCreate, length, VtestProtocol.SyncCreateDwords, request);
        RequireContext(VtestCommand.SyncCreate);
        uint id = _syncs.Create(request[0] | ((ulong)request[1] << 32))
            ?? throw Drop($"SYNC_CREATE beyond the limit of {_options.MaxSyncsPerClient} live syncs");
        Reply(VtestCommand.SyncCreate, [id]);
    }

    private void SyncUnref(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.SyncUnrefDwords];
        ReadFixed(VtestCommand.SyncUnref, length, VtestProtocol.SyncUnrefDwords, request);
        RequireContext(VtestCommand.SyncUnref);
        // An unknown id is ignored, as in virglrenderer.
        _syncs.Unref(request[0]);
    }

    private void SyncRead(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.SyncReadDwords];
        ReadFixed(VtestCommand.SyncRead, length, VtestProtocol.SyncReadDwords, request);
        RequireContext(VtestCommand.SyncRead);
        if (!_syncs.TryRead(request[0], out ulong value))
            throw Drop($"SYNC_READ of unknown sync id {request[0]}");
        Reply(VtestCommand.SyncRead, [(uint)value, (uint)(value >> 32)]);
    }

    private void SyncWrite(uint length)
    {
        Span<uint> request = stackalloc uint[VtestProtocol.SyncWriteDwords];
        ReadFixed(VtestCommand.SyncWrite, length, VtestProtocol.SyncWriteDwords, request);
        RequireContext(VtestCommand.SyncWrite);
        if (!_syncs.TryWrite(request[0], request[1] | ((ulong)request[2] << 32)))
            throw Drop($"SYNC_WRITE of unknown sync id {request[0]}");
    }

    private void SyncWait(uint length)
    {
        ulong maxDwords = VtestProtocol.SyncWaitHeaderDwords + (ulong)_options.MaxSyncWaitEntries * VtestProtocol.SyncEntryDwords;
        if (length < VtestProtocol.SyncWaitHeaderDwords || (length - VtestProtocol.SyncWaitHeaderDwords) % VtestProtocol.SyncEntryDwords != 0)
            throw Drop($"SYNC_WAIT of {length} dwords is not 2 + 3 × count");
        if (length > maxDwords)
            throw Drop($"SYNC_WAIT of {(length - VtestProtocol.SyncWaitHeaderDwords) / VtestProtocol.SyncEntryDwords} syncs exceeds the limit of {_options.MaxSyncWaitEntries}");
        RequireContext(VtestCommand.SyncWait);

        uint[] payload = ArrayPool<uint>.Shared.Rent((int)length);
        try
        {
            Span<uint> request = payload.AsSpan(0, (int)length);
            ReadExact(MemoryMarshal.AsBytes(request), "the SYNC_WAIT payload");
            bool any = (request[0] & (uint)VtestSyncWaitFlags.Any) != 0;
            uint timeoutMs = request[1];
            VtestSyncTable.WaitError error = _syncs.BeginWait(any, timeoutMs, request[VtestProtocol.SyncWaitHeaderDwords..],
                out int sendFd, out uint unknownId, out int errno);
            switch (error)
            {
                case VtestSyncTable.WaitError.UnknownSync:
                    throw Drop($"SYNC_WAIT names unknown sync id {unknownId}");
                case VtestSyncTable.WaitError.TooManyWaits:
                    throw Drop($"SYNC_WAIT beyond the limit of {_options.MaxPendingSyncWaitsPerClient} pending waits");
                case VtestSyncTable.WaitError.EventFdFailed:
                    throw Drop($"SYNC_WAIT: eventfd failed: {Libc.Describe(errno)}");
            }
            try
            {
                Reply(VtestCommand.SyncWait, []);
                SendFd(sendFd, "the SYNC_WAIT eventfd");
            }
            finally
            {
                Libc.Close(sendFd);
            }
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(payload);
        }
    }

    private void SubmitCmd2(uint length)
    {
        if ((ulong)length * 4 > (ulong)_options.MaxSubmitBytes)
            throw Drop($"SUBMIT_CMD2 of {(ulong)length * 4} bytes exceeds the limit of {_options.MaxSubmitBytes}");
        RequireContext(VtestCommand.SubmitCmd2);

        uint[] buffer = ArrayPool<uint>.Shared.Rent(Math.Max(1, (int)length));
        try
        {
            Span<uint> payload = buffer.AsSpan(0, (int)length);
            ReadExact(MemoryMarshal.AsBytes(payload), "the SUBMIT_CMD2 payload");
            SubmitBatch(payload);
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(buffer);
        }
    }

    /// <summary>§6.3, read as the server reads it: batch_count at 0, batch n's header at 1 + 8n.</summary>
    private void SubmitBatch(ReadOnlySpan<uint> payload)
    {
        uint length = (uint)payload.Length;
        const int headerEnd = 1 + VtestProtocol.SubmitBatchHeaderDwords;
        if (length < headerEnd)
            throw Drop($"SUBMIT_CMD2 of {length} dwords is shorter than batch_count plus one batch header ({headerEnd})");
        uint batchCount = payload[0];
        if (batchCount != 1)
            throw Drop($"SUBMIT_CMD2 with batch_count {batchCount}; only 1 is accepted (Mesa's 6-dword and the server's 8-dword header strides agree only for batch 0)");

        ReadOnlySpan<uint> batch = payload.Slice(1, VtestProtocol.SubmitBatchHeaderDwords);
        uint flags = batch[0], cmdOffset = batch[1], cmdSize = batch[2], syncOffset = batch[3], syncCount = batch[4], ringIdx = batch[5];
        string what = $"SUBMIT_CMD2(flags 0x{flags:x}, cmd {cmdOffset}+{cmdSize}, syncs {syncOffset}+{syncCount}×3, ring {ringIdx}; payload {length} dwords)";
        if ((flags & ~(uint)VtestSubmitFlags.RingIdx) != 0)
            throw Drop($"{what}: unknown flags");
        if ((ulong)cmdOffset + cmdSize > length)
            throw Drop($"{what}: the command stream lies past the payload");
        if ((ulong)syncOffset + (ulong)syncCount * VtestProtocol.SyncEntryDwords > length)
            throw Drop($"{what}: the syncs lie past the payload");
        if (syncCount > (uint)_options.MaxSubmitSyncs)
            throw Drop($"{what}: more than {_options.MaxSubmitSyncs} syncs");
        if (ringIdx >= VtestProtocol.MaxTimelineCount)
            throw Drop($"{what}: ring_idx must be below {VtestProtocol.MaxTimelineCount}");

        if (!_syncs.TryResolve(payload.Slice((int)syncOffset, (int)syncCount * VtestProtocol.SyncEntryDwords),
                out VtestSyncTable.Sync[] syncs, out ulong[] values, out uint unknownId))
            throw Drop($"{what}: unknown sync id {unknownId}");

        bool onTimeline = (flags & (uint)VtestSubmitFlags.RingIdx) != 0;
        Action retired = NoOp;
        if (onTimeline && syncs.Length > 0)
        {
            VtestSyncTable.PendingSubmit pending = _syncs.Enqueue(ringIdx, syncs, values);
            VtestSyncTable table = _syncs;
            retired = () => table.Retire(pending);
        }

        ReadOnlySpan<byte> stream = MemoryMarshal.AsBytes(payload.Slice((int)cmdOffset, (int)cmdSize));
        try
        {
            Renderer.Submit(stream, ringIdx, retired);
        }
        catch (Exception e)
        {
            throw RendererFailed(what, e);
        }

        // Without RING_IDX the syncs signal once the stream was handed over (vtest_submit_cmd2_batch).
        if (!onTimeline && syncs.Length > 0)
            _syncs.SignalAll(syncs, values);
    }

    // ---- helpers --------------------------------------------------------------------------

    private IVtestRenderer Renderer => _renderer ?? throw new InvalidOperationException("no renderer");

    private void RequireContext(VtestCommand command)
    {
        // virglrenderer would lazily create a GL context here; this server has none.
        if (!_contextInitialized)
            throw Drop($"{VtestProtocol.Name(command)} before CONTEXT_INIT (this server makes venus contexts only)");
    }

    /// <summary>A fixed-size request: the header length must match; the payload is read into <paramref name="payload"/>.</summary>
    private void ReadFixed(VtestCommand command, uint length, int dwords, Span<uint> payload)
    {
        if (length != (uint)dwords)
            throw Drop($"{VtestProtocol.Name(command)} with payload length {length}; it takes {dwords} dwords");
        if (dwords > 0)
            ReadExact(MemoryMarshal.AsBytes(payload[..dwords]), $"the {VtestProtocol.Name(command)} payload");
    }

    private void Reply(VtestCommand command, ReadOnlySpan<uint> payload)
    {
        int errno = new VtestSocket(_fd).WriteMessage(command, payload);
        if (errno != 0)
            throw SendFailed(errno, $"the {VtestProtocol.Name(command)} reply");
    }

    /// <returns>False only when <paramref name="endOfStreamOk"/> and the peer closed before the first byte.</returns>
    private bool ReadExact(Span<byte> buffer, string what, bool endOfStreamOk = false)
    {
        int done = new VtestSocket(_fd).ReadExact(buffer, out int errno);
        if (done == buffer.Length)
            return true;
        if (errno == 0)
        {
            if (done == 0 && endOfStreamOk)
                return false;
            throw Drop($"truncated message: the connection closed after {done} of {buffer.Length} bytes of {what}");
        }
        if (errno == Libc.ECONNRESET)
            throw new ClientEndedException(done == 0 && endOfStreamOk
                ? "disconnected (connection reset)"
                : $"dropped: connection reset after {done} of {buffer.Length} bytes of {what}");
        throw Drop($"reading {what} failed: {Libc.Describe(errno)}");
    }

    private void WriteAll(ReadOnlySpan<byte> data, string what)
    {
        int errno = new VtestSocket(_fd).WriteAll(data);
        if (errno != 0)
            throw SendFailed(errno, what);
    }

    /// <summary>One data byte (0) with one SCM_RIGHTS fd, as <c>vtest_send_fd</c> sends it (§6.1).</summary>
    private void SendFd(int fd, string what)
    {
        nint sent = new VtestSocket(_fd).SendFd(fd);
        if (sent == VtestProtocol.FdMessageDataBytes)
            return;
        if (sent >= 0)
            throw Drop($"sendmsg of the fd of {what} sent {sent} bytes");
        throw SendFailed(Libc.LastError, $"the fd of {what}");
    }

    private ClientEndedException SendFailed(int errno, string what)
    {
        if (errno is Libc.EPIPE or Libc.ECONNRESET)
            return new ClientEndedException($"dropped: the client closed the connection while {what} was being sent");
        if (errno == Libc.EAGAIN)
            return Drop($"the client stopped reading: sending {what} timed out after {_options.SendTimeout.TotalSeconds:0.#} s");
        return Drop($"sending {what} failed: {Libc.Describe(errno)}");
    }

    private static ClientEndedException Drop(string reason) => new("dropped: " + reason);

    private static ClientEndedException RendererFailed(string what, Exception e) =>
        e is VtestRendererException
            ? new ClientEndedException($"dropped: renderer refused {what}: {e.Message}")
            : new ClientEndedException($"dropped: renderer failed {what}: {e.GetType().Name}: {e.Message}");

    private static string Describe(uint id) =>
        Enum.IsDefined((VtestCommand)id) ? $"{VtestProtocol.Name((VtestCommand)id)} ({id})" : $"id {id} (0x{id:x})";

    private static string Sanitize(string name)
    {
        var builder = new StringBuilder(Math.Min(name.Length, MaxLoggedNameChars));
        foreach (char c in name)
        {
            if (builder.Length == MaxLoggedNameChars)
            {
                builder.Append('…');
                break;
            }
            builder.Append(char.IsControl(c) || c == '\'' ? '?' : c);
        }
        return builder.ToString();
    }

    /// <summary>Ends the client; the message is the rest of its log line ("dropped: reason" or "disconnected ...").</summary>
    private sealed class ClientEndedException(string message) : Exception(message);
}
