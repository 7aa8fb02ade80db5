using System.Runtime.InteropServices;
using System.Text;
using Venus.Protocol;
using Venus.Native;

namespace Venus.Transport.Vtest;

/// <summary>
/// The guest side of a vtest connection (fact sheet §6): what Mesa's <c>vn_renderer_vtest.c</c>
/// sends, in the same order. One request/reply exchange runs at a time (like Mesa's
/// <c>sock_mutex</c>); the blocking part of <see cref="SyncWait(ReadOnlySpan{ValueTuple{uint, ulong}}, TimeSpan, bool)"/>
/// runs outside that lock. Any protocol error faults the connection: the byte stream can no
/// longer be trusted, so every later call throws.
/// </summary>
public sealed unsafe class VtestClient : IDisposable
{
    private const int SyncChunk = 32;

    private readonly Lock _lock = new();
    private readonly VtestSocket _socket;
    private bool _disposed;
    private string? _fault;

    private VtestClient(int fd, string socketPath)
    {
        _socket = new VtestSocket(fd);
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    /// <summary>The version the server agreed to (min(3, server's)); always ≥ 3 after <see cref="Connect"/>.</summary>
    public uint ProtocolVersion { get; private set; }

    /// <summary>GET_PARAM MAX_TIMELINE_COUNT: valid ring_idx values are below this (64 on virglrenderer).</summary>
    public uint MaxTimelineCount { get; private set; }

    public bool IsContextInitialized { get; private set; }

    /// <summary>
    /// Connects and runs Mesa's start-up order (§6.4): CREATE_RENDERER, PING_PROTOCOL_VERSION +
    /// RESOURCE_BUSY_WAIT(0, 0) probe, PROTOCOL_VERSION(3), GET_PARAM(MAX_TIMELINE_COUNT).
    /// </summary>
    /// <param name="rendererName">Debug name the server logs (Mesa sends its process name).</param>
    public static VtestClient Connect(string socketPath, string rendererName)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        ArgumentNullException.ThrowIfNull(rendererName);
        if (rendererName.Contains('\0'))
            throw new ArgumentException("the renderer name is sent NUL-terminated and must not contain NUL", nameof(rendererName));
        // Both vtest peers memcpy native values; this implementation writes them the same way.
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("vtest is little-endian only");

        var client = new VtestClient(OpenSocket(socketPath), socketPath);
        try
        {
            lock (client._lock)
            {
                client.CreateRenderer(rendererName);
                client.NegotiateProtocolVersion();
                client.MaxTimelineCount = client.GetParam(VtestParam.MaxTimelineCount);
            }
            if (client.MaxTimelineCount == 0)
                throw new VtestException(VtestErrorKind.NoTimelines,
                    $"vtest server at '{socketPath}' has no timeline support (MAX_TIMELINE_COUNT = 0; VIRGL_DISABLE_MT set or no eventfd)");
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>GET_CAPSET(4, 0): the venus capset (§5). Throws if the server has none.</summary>
    public VenusCapset GetCapset()
    {
        byte[] data;
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> request = [VenusCapset.CapsetId, VenusCapset.CapsetVersion];
            SendMessage(VtestCommand.GetCapset, request);

            uint length = ReadHeader(VtestCommand.GetCapset);
            if (length < 1)
                throw Fault(VtestErrorKind.ShortReply, "the reply to GET_CAPSET has no validity word");
            Span<uint> valid = stackalloc uint[1];
            ReadExact(MemoryMarshal.AsBytes(valid), "GET_CAPSET");
            // Sizes come from the server; refuse absurd ones rather than allocate them.
            if (length - 1 > 64 * 1024)
                throw Fault(VtestErrorKind.ShortReply, $"the reply to GET_CAPSET claims {length - 1} dwords of capset");
            data = new byte[(length - 1) * 4];
            ReadExact(data, "GET_CAPSET");
            if (valid[0] == 0)
                throw new VtestException(VtestErrorKind.CapsetInvalid,
                    $"vtest server at '{SocketPath}' has no venus capset (capset {VenusCapset.CapsetId} version {VenusCapset.CapsetVersion} reported invalid)");
        }

        if (!VenusCapset.TryParse(data, out VenusCapset capset, out string? error))
            throw new VtestException(VtestErrorKind.CapsetInvalid, $"vtest server at '{SocketPath}' sent a bad venus capset: {error}");
        return capset;
    }

    /// <summary>CONTEXT_INIT(4): makes this connection a venus context; required before blobs and submissions.</summary>
    public void ContextInit()
    {
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> request = [VenusCapset.CapsetId];
            SendMessage(VtestCommand.ContextInit, request);
            IsContextInitialized = true;
        }
    }

    /// <summary>
    /// RESOURCE_CREATE_BLOB: the server answers with a resource id and an fd (§6.2), mapped here
    /// MAP_SHARED read/write over <paramref name="size"/> bytes when <see cref="VtestBlobFlags.Mappable"/> is set.
    /// Mesa's shared memory (rings, reply pools) is Host3D + Mappable with blob id 0.
    /// </summary>
    public VtestBlob CreateBlob(VtestBlobType type, VtestBlobFlags flags, ulong size, ulong blobId)
    {
        ArgumentOutOfRangeException.ThrowIfZero(size);
        uint resourceId;
        int fd;
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> request =
            [
                (uint)type, (uint)flags,
                (uint)size, (uint)(size >> 32),
                (uint)blobId, (uint)(blobId >> 32),
            ];
            SendMessage(VtestCommand.ResourceCreateBlob, request);
            string what = $"RESOURCE_CREATE_BLOB (type {type}, flags {flags}, size {size}, blob id {blobId})";
            Span<uint> reply = stackalloc uint[1];
            ReadReply(VtestCommand.ResourceCreateBlob, reply, what);
            resourceId = reply[0];
            fd = ReceiveFd(what);
        }

        byte* pointer = null;
        if ((flags & VtestBlobFlags.Mappable) != 0)
        {
            // A host that hands over less memory than it claims would make every access past the
            // end of its fd a SIGBUS in the app: the fd's size (memfd, shm, dma-buf) must cover the blob.
            long fdSize = Libc.Lseek(fd, 0, Libc.SEEK_END);
            if (fdSize < 0 || (ulong)fdSize < size)
            {
                int errno = fdSize < 0 ? Libc.LastError : 0;
                Libc.Close(fd);
                TryUnrefResource(resourceId);
                throw new VtestException(VtestErrorKind.MapFailed,
                    fdSize < 0
                        ? $"blob resource {resourceId} ({size} bytes): the server's fd has no size ({Libc.Describe(errno)}); not memory"
                        : $"blob resource {resourceId}: the server's fd holds {fdSize} bytes, less than the {size} bytes asked for", errno);
            }
            void* mapped = Libc.Mmap(null, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
            if (mapped == Libc.MAP_FAILED)
            {
                int errno = Libc.LastError;
                Libc.Close(fd);
                TryUnrefResource(resourceId);
                throw new VtestException(VtestErrorKind.MapFailed,
                    $"mmap of blob resource {resourceId} ({size} bytes) failed: {Libc.Describe(errno)}", errno);
            }
            pointer = (byte*)mapped;
        }
        return new VtestBlob(this, resourceId, fd, pointer, size, type, flags, blobId);
    }

    /// <summary>
    /// SUBMIT_CMD2 with exactly one batch (§6.3: Mesa's and the server's batch strides agree only
    /// for batch 0). <paramref name="stream"/> goes to the context's virtqueue decoder, and each of
    /// <paramref name="syncs"/> is set to its value once timeline <paramref name="ringIdx"/> has
    /// retired the batch (ring 0 = the CPU timeline: right after the stream was decoded; rings
    /// 1..63 exist only once a device queue was bound to them with VkDeviceQueueTimelineInfoMESA).
    /// </summary>
    /// <remarks>
    /// The RING_IDX flag is always set, as Mesa does on a host with supports_multiple_timelines.
    /// Without it the vtest server signals the syncs as soon as it has forwarded the stream to
    /// its render server, before anything was decoded (measured on 1.1.0: 16 of 200 replies were
    /// not yet written when such a sync signalled; none with the flag).
    /// </remarks>
    public void SubmitCommands(ReadOnlySpan<byte> stream, uint ringIdx = 0,
        ReadOnlySpan<(uint SyncId, ulong Value)> syncs = default)
    {
        if (stream.Length % 4 != 0)
            throw new ArgumentException($"a venus command stream is a whole number of dwords; got {stream.Length} bytes", nameof(stream));
        uint commandDwords = (uint)(stream.Length / 4);
        ulong payloadDwords = VtestProtocol.SingleBatchCommandOffsetDwords + commandDwords
            + (ulong)syncs.Length * VtestProtocol.SyncEntryDwords;
        if (payloadDwords > uint.MaxValue / 4)
            throw new ArgumentException($"SUBMIT_CMD2 of {payloadDwords} dwords is too large", nameof(stream));

        lock (_lock)
        {
            EnsureUsable();
            if (ringIdx >= MaxTimelineCount)
                throw new ArgumentOutOfRangeException(nameof(ringIdx), ringIdx, $"the server has {MaxTimelineCount} timelines");

            uint syncOffset = (uint)VtestProtocol.SingleBatchCommandOffsetDwords + commandDwords;
            Span<uint> head =
            [
                (uint)payloadDwords, (uint)VtestCommand.SubmitCmd2,
                1, // batch_count
                (uint)VtestSubmitFlags.RingIdx,
                (uint)VtestProtocol.SingleBatchCommandOffsetDwords,
                commandDwords,
                syncOffset,
                (uint)syncs.Length,
                ringIdx,
            ];
            WriteAll(MemoryMarshal.AsBytes(head), "SUBMIT_CMD2");
            WriteAll(stream, "SUBMIT_CMD2");
            WriteSyncEntries(syncs, "SUBMIT_CMD2");
        }
    }

    /// <summary>SYNC_CREATE: a new timeline sync (a 64-bit counter on the server).</summary>
    public uint SyncCreate(ulong initialValue)
    {
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> request = [(uint)initialValue, (uint)(initialValue >> 32)];
            SendMessage(VtestCommand.SyncCreate, request);
            Span<uint> reply = stackalloc uint[1];
            ReadReply(VtestCommand.SyncCreate, reply);
            return reply[0];
        }
    }

    /// <summary>SYNC_READ: the sync's current value. An unknown id makes the server drop the connection.</summary>
    public ulong SyncRead(uint syncId)
    {
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> request = [syncId];
            SendMessage(VtestCommand.SyncRead, request);
            Span<uint> reply = stackalloc uint[2];
            ReadReply(VtestCommand.SyncRead, reply);
            return reply[0] | ((ulong)reply[1] << 32);
        }
    }

    /// <summary>SYNC_WRITE: sets the value and wakes satisfied waits.</summary>
    public void SyncWrite(uint syncId, ulong value)
    {
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> request = [syncId, (uint)value, (uint)(value >> 32)];
            SendMessage(VtestCommand.SyncWrite, request);
        }
    }

    public void SyncUnref(uint syncId)
    {
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> request = [syncId];
            SendMessage(VtestCommand.SyncUnref, request);
        }
    }

    /// <summary>Waits until the sync reaches <paramref name="value"/>; false on timeout.</summary>
    public bool SyncWait(uint syncId, ulong value, TimeSpan timeout) =>
        SyncWait([(syncId, value)], timeout);

    /// <summary>
    /// SYNC_WAIT: the server answers with an eventfd that becomes readable once all (or, with
    /// <paramref name="waitAny"/>, any) syncs reach their values; it is polled here with the
    /// timeout, as Mesa does. <see cref="Timeout.InfiniteTimeSpan"/> waits forever.
    /// </summary>
    public bool SyncWait(ReadOnlySpan<(uint SyncId, ulong Value)> syncs, TimeSpan timeout, bool waitAny = false)
    {
        int pollTimeoutMs = ToPollTimeout(timeout);
        int eventFd;
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> head =
            [
                (uint)(VtestProtocol.SyncWaitHeaderDwords + syncs.Length * VtestProtocol.SyncEntryDwords),
                (uint)VtestCommand.SyncWait,
                (uint)(waitAny ? VtestSyncWaitFlags.Any : VtestSyncWaitFlags.None),
                pollTimeoutMs < 0 ? VtestProtocol.InfiniteTimeoutMs : (uint)pollTimeoutMs,
            ];
            WriteAll(MemoryMarshal.AsBytes(head), "SYNC_WAIT");
            WriteSyncEntries(syncs, "SYNC_WAIT");
            ReadReply(VtestCommand.SyncWait, []);
            eventFd = ReceiveFd("SYNC_WAIT");
        }

        try
        {
            return PollReadable(eventFd, pollTimeoutMs);
        }
        finally
        {
            Libc.Close(eventFd);
        }
    }

    /// <summary>
    /// True once the server has closed or reset the connection (poll with no wait: hang-up, error,
    /// or end of stream). A guest driver polls this while it waits on shared memory (ring head,
    /// fence status) so that a dead host turns into a device-lost error instead of a hang.
    /// </summary>
    public bool IsPeerClosed()
    {
        if (Volatile.Read(ref _disposed) || _fault is not null)
            return true;
        Libc.PollFd pollFd = new() { fd = _socket.Fd, events = (short)(Libc.POLLIN | Libc.POLLRDHUP) };
        int ready = Libc.Poll(&pollFd, 1, 0);
        if (ready <= 0)
            return false;
        if ((pollFd.revents & (Libc.POLLHUP | Libc.POLLERR | Libc.POLLNVAL | Libc.POLLRDHUP)) != 0)
            return true;
        // Readable with no request outstanding: only an end of stream can be there. Peek, never consume.
        if ((pollFd.revents & Libc.POLLIN) != 0 && !_lock.IsHeldByCurrentThread && _lock.TryEnter())
        {
            try
            {
                byte b;
                nint n = Libc.Recv(_socket.Fd, &b, 1, Libc.MSG_PEEK | Libc.MSG_DONTWAIT);
                return n == 0;
            }
            finally
            {
                _lock.Exit();
            }
        }
        return false;
    }

    /// <summary>RESOURCE_UNREF; called by <see cref="VtestBlob.Dispose"/>.</summary>
    internal void ResourceUnref(uint resourceId)
    {
        lock (_lock)
        {
            EnsureUsable();
            Span<uint> request = [resourceId];
            SendMessage(VtestCommand.ResourceUnref, request);
        }
    }

    internal bool TryUnrefResource(uint resourceId)
    {
        try
        {
            ResourceUnref(resourceId);
            return true;
        }
        catch (Exception e) when (e is VtestException or ObjectDisposedException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (Volatile.Read(ref _disposed))
            return;
        // Wake a thread blocked in recv on this socket before waiting for the lock it holds.
        Libc.Shutdown(_socket.Fd, Libc.SHUT_RDWR);
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            Libc.Close(_socket.Fd);
        }
    }

    private static int OpenSocket(string socketPath)
    {
        int pathBytes = Encoding.UTF8.GetByteCount(socketPath);
        if (pathBytes >= Libc.SockaddrUn.PathCapacity)
            throw new VtestException(VtestErrorKind.ConnectFailed,
                $"vtest socket path '{socketPath}' is {pathBytes} bytes; a unix socket path must be under {Libc.SockaddrUn.PathCapacity}");

        int fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Libc.LastError;
            throw new VtestException(VtestErrorKind.ConnectFailed, $"socket(AF_UNIX) failed: {Libc.Describe(errno)}", errno);
        }

        Libc.SockaddrUn address = default;
        address.sun_family = Libc.AF_UNIX;
        Encoding.UTF8.GetBytes(socketPath, new Span<byte>(address.sun_path, Libc.SockaddrUn.PathCapacity));
        uint addressLength = (uint)(sizeof(ushort) + pathBytes + 1);
        int result;
        int error;
        do
        {
            result = Libc.Connect(fd, &address, addressLength);
            error = result < 0 ? Libc.LastError : 0;
        } while (result < 0 && error == Libc.EINTR);

        if (result == 0)
            return fd;

        Libc.Close(fd);
        throw error switch
        {
            Libc.ENOENT => new VtestException(VtestErrorKind.SocketMissing,
                $"vtest socket '{socketPath}' does not exist (is the server running?)", error),
            Libc.ECONNREFUSED => new VtestException(VtestErrorKind.ConnectFailed,
                $"nothing is listening on vtest socket '{socketPath}' (connection refused)", error),
            _ => new VtestException(VtestErrorKind.ConnectFailed,
                $"connect to vtest socket '{socketPath}' failed: {Libc.Describe(error)}", error),
        };
    }

    private void CreateRenderer(string rendererName)
    {
        // CREATE_RENDERER is the one message whose length counts bytes: the name plus its NUL, unpadded (§6.1).
        int nameBytes = Encoding.UTF8.GetByteCount(rendererName);
        byte[] message = new byte[VtestProtocol.HeaderSize + nameBytes + 1];
        VtestSocket.WriteHeader(MemoryMarshal.Cast<byte, uint>(message.AsSpan(0, VtestProtocol.HeaderSize)), (uint)(nameBytes + 1), VtestCommand.CreateRenderer);
        Encoding.UTF8.GetBytes(rendererName, message.AsSpan(VtestProtocol.HeaderSize));
        WriteAll(message, "CREATE_RENDERER");
    }

    private void NegotiateProtocolVersion()
    {
        // Mesa's probe: a server without PING answers only the busy-wait, which tells the client
        // it speaks protocol 0. RESOURCE_BUSY_WAIT with handle 0 is special-cased server-side for this.
        Span<uint> probe =
        [
            0, (uint)VtestCommand.PingProtocolVersion,
            VtestProtocol.ResourceBusyWaitDwords, (uint)VtestCommand.ResourceBusyWait, 0, 0,
        ];
        WriteAll(MemoryMarshal.AsBytes(probe), "PING_PROTOCOL_VERSION");

        Span<uint> header = stackalloc uint[VtestProtocol.HeaderDwords];
        ReadExact(MemoryMarshal.AsBytes(header), "PING_PROTOCOL_VERSION");
        bool pingAnswered = header[VtestProtocol.HeaderIdIndex] == (uint)VtestCommand.PingProtocolVersion;
        if (pingAnswered)
        {
            if (header[VtestProtocol.HeaderLengthIndex] != 0)
                throw Fault(VtestErrorKind.ShortReply,
                    $"the reply to PING_PROTOCOL_VERSION has {header[VtestProtocol.HeaderLengthIndex]} dwords, expected 0");
            ReadExact(MemoryMarshal.AsBytes(header), "RESOURCE_BUSY_WAIT");
        }
        CheckHeader(header, VtestCommand.ResourceBusyWait, 1, "RESOURCE_BUSY_WAIT");
        Span<uint> busy = stackalloc uint[1];
        ReadExact(MemoryMarshal.AsBytes(busy), "RESOURCE_BUSY_WAIT");
        if (!pingAnswered)
            throw Fault(VtestErrorKind.ProtocolVersion,
                $"vtest server at '{SocketPath}' does not answer PING_PROTOCOL_VERSION (protocol 0); venus needs protocol {VtestProtocol.MinimumVenusVersion}");

        Span<uint> request = [VtestProtocol.Version];
        SendMessage(VtestCommand.ProtocolVersion, request);
        Span<uint> reply = stackalloc uint[1];
        ReadReply(VtestCommand.ProtocolVersion, reply);
        ProtocolVersion = reply[0];
        if (ProtocolVersion < VtestProtocol.MinimumVenusVersion)
            throw Fault(VtestErrorKind.ProtocolVersion,
                $"vtest server at '{SocketPath}' agreed to protocol version {ProtocolVersion}; venus needs {VtestProtocol.MinimumVenusVersion} (a server without shared-memory support falls back to 0)");
    }

    /// <summary>GET_PARAM of any parameter; 0 where the server does not know it.</summary>
    public uint GetParameter(VtestParam param)
    {
        lock (_lock)
        {
            EnsureUsable();
            return GetParam(param);
        }
    }

    private uint GetParam(VtestParam param)
    {
        Span<uint> request = [(uint)param];
        SendMessage(VtestCommand.GetParam, request);
        Span<uint> reply = stackalloc uint[2];
        ReadReply(VtestCommand.GetParam, reply);
        // Mesa's vtest_vcmd_get_param: an invalid parameter reads as 0.
        return reply[0] != 0 ? reply[1] : 0;
    }

    private void EnsureUsable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_fault is not null)
            throw new VtestException(VtestErrorKind.Faulted, $"the vtest connection to '{SocketPath}' is unusable after an earlier error: {_fault}");
    }

    private VtestException Fault(VtestErrorKind kind, string message, int errno = 0)
    {
        _fault ??= message;
        return new VtestException(kind, message, errno);
    }

    private void SendMessage(VtestCommand command, ReadOnlySpan<uint> payload) =>
        CheckSent(_socket.WriteMessage(command, payload), VtestProtocol.Name(command));

    private void WriteSyncEntries(ReadOnlySpan<(uint SyncId, ulong Value)> syncs, string what)
    {
        Span<uint> chunk = stackalloc uint[SyncChunk * VtestProtocol.SyncEntryDwords];
        while (!syncs.IsEmpty)
        {
            int count = Math.Min(syncs.Length, SyncChunk);
            for (int i = 0; i < count; i++)
            {
                chunk[3 * i] = syncs[i].SyncId;
                chunk[3 * i + 1] = (uint)syncs[i].Value;
                chunk[3 * i + 2] = (uint)(syncs[i].Value >> 32);
            }
            WriteAll(MemoryMarshal.AsBytes(chunk[..(count * VtestProtocol.SyncEntryDwords)]), what);
            syncs = syncs[count..];
        }
    }

    private void WriteAll(ReadOnlySpan<byte> data, string what) => CheckSent(_socket.WriteAll(data), what);

    private void CheckSent(int errno, string what)
    {
        if (errno == 0)
            return;
        if (errno is Libc.EPIPE or Libc.ECONNRESET)
            throw Fault(VtestErrorKind.ConnectionClosed,
                $"vtest server at '{SocketPath}' closed the connection while {what} was being sent ({Libc.Describe(errno)}); the server drops a client after any failed command — see its log",
                errno);
        throw Fault(VtestErrorKind.IoError, $"sending {what} to '{SocketPath}' failed: {Libc.Describe(errno)}", errno);
    }

    private void ReadExact(Span<byte> buffer, string what)
    {
        int done = _socket.ReadExact(buffer, out int errno);
        if (done == buffer.Length)
            return;
        if (errno == 0)
            throw Fault(VtestErrorKind.ConnectionClosed, done == 0
                ? $"vtest server at '{SocketPath}' closed the connection while waiting for the reply to {what}; the server drops a client after any failed command — see its log"
                : $"vtest server at '{SocketPath}' closed the connection after {done} of {buffer.Length} bytes of the reply to {what}");
        if (errno == Libc.ECONNRESET)
            throw Fault(VtestErrorKind.ConnectionClosed,
                $"vtest server at '{SocketPath}' reset the connection while waiting for the reply to {what}", errno);
        throw Fault(VtestErrorKind.IoError, $"reading the reply to {what} from '{SocketPath}' failed: {Libc.Describe(errno)}", errno);
    }

    private uint ReadHeader(VtestCommand expected)
    {
        string what = VtestProtocol.Name(expected);
        Span<uint> header = stackalloc uint[VtestProtocol.HeaderDwords];
        ReadExact(MemoryMarshal.AsBytes(header), what);
        CheckHeader(header, expected, null, what);
        return header[VtestProtocol.HeaderLengthIndex];
    }

    /// <param name="what">Names the request in errors; defaults to the command's name.</param>
    private void ReadReply(VtestCommand expected, Span<uint> payload, string? what = null)
    {
        what ??= VtestProtocol.Name(expected);
        Span<uint> header = stackalloc uint[VtestProtocol.HeaderDwords];
        ReadExact(MemoryMarshal.AsBytes(header), what);
        CheckHeader(header, expected, (uint)payload.Length, what);
        if (!payload.IsEmpty)
            ReadExact(MemoryMarshal.AsBytes(payload), what);
    }

    private void CheckHeader(ReadOnlySpan<uint> header, VtestCommand expected, uint? expectedLength, string what)
    {
        uint id = header[VtestProtocol.HeaderIdIndex];
        uint length = header[VtestProtocol.HeaderLengthIndex];
        if (id != (uint)expected)
            throw Fault(VtestErrorKind.BadHeader,
                $"the reply to {what} has header (length {length}, id {id}); expected id {(uint)expected} ({VtestProtocol.Name(expected)})");
        if (expectedLength is uint want && length != want)
            throw Fault(VtestErrorKind.ShortReply,
                $"the reply to {what} has {length} payload dwords; expected {want}");
    }

    /// <summary>The fd of an fd-carrying reply (with its data byte, §6.1).</summary>
    private int ReceiveFd(string what)
    {
        nint received = _socket.ReceiveFd(out int fd, out bool truncated, out int errno);
        if (received == 0)
            throw Fault(VtestErrorKind.ConnectionClosed,
                $"vtest server at '{SocketPath}' closed the connection before sending the fd of {what}");
        if (received < 0)
            throw Fault(VtestErrorKind.IoError, $"recvmsg for the fd of {what} failed: {Libc.Describe(errno)}", errno);
        if (fd < 0)
            throw Fault(VtestErrorKind.FdMissing, $"the reply to {what} carried no SCM_RIGHTS fd");
        if (truncated)
        {
            Libc.Close(fd);
            throw Fault(VtestErrorKind.FdMissing, $"the reply to {what} carried more control data than one fd");
        }
        return fd;
    }

    private static int ToPollTimeout(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
            return -1;
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        // Round up like Mesa (a 0.5 ms wait must not become a poll); past int range is forever.
        double ms = Math.Ceiling(timeout.TotalMilliseconds);
        return ms > int.MaxValue ? -1 : (int)ms;
    }

    private static bool PollReadable(int fd, int timeoutMs)
    {
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        Libc.PollFd pollFd = new() { fd = fd, events = Libc.POLLIN };
        while (true)
        {
            int remaining = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            int ready = Libc.Poll(&pollFd, 1, remaining);
            if (ready > 0)
            {
                if ((pollFd.revents & Libc.POLLIN) != 0)
                    return true;
                throw new VtestException(VtestErrorKind.IoError, $"the SYNC_WAIT eventfd reported poll events 0x{pollFd.revents:x}");
            }
            if (ready == 0)
                return false;
            int errno = Libc.LastError;
            if (errno is Libc.EINTR or Libc.EAGAIN)
                continue;
            throw new VtestException(VtestErrorKind.IoError, $"poll on the SYNC_WAIT eventfd failed: {Libc.Describe(errno)}", errno);
        }
    }
}
