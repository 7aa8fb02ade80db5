using Venus.Protocol;
using Venus.Transport.Vtest;

namespace Venus.GuestIcd.Transport;

/// <summary>
/// The vtest transport, chosen like Mesa's driver does: <c>VN_DEBUG</c> containing <c>vtest</c>
/// (or <c>VENUS_TRANSPORT=vtest</c>), socket <c>VTEST_SOCKET_NAME</c> (default /tmp/.virgl_test).
/// </summary>
internal sealed unsafe class VtestGuestTransport : IGuestTransport
{
    private readonly VtestClient _client;

    private VtestGuestTransport(VtestClient client, VenusCapset capset)
    {
        _client = client;
        Capset = capset;
    }

    public static bool Requested() => VtestProtocol.Requested(Environment.GetEnvironmentVariable);

    public static string SocketPath() => VtestProtocol.SocketPath(Environment.GetEnvironmentVariable);

    public static VtestGuestTransport Connect(string socketPath, string rendererName)
    {
        VtestClient client = VtestClient.Connect(socketPath, rendererName);
        try
        {
            VenusCapset capset = client.GetCapset();
            client.ContextInit();
            return new VtestGuestTransport(client, capset);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public string Name => "vtest:" + _client.SocketPath;
    public VenusCapset Capset { get; }

    public GuestShmem CreateShmem(ulong size) =>
        new Blob(_client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, size, 0));

    public GuestShmem CreateMemoryBlob(ulong memoryId, ulong size, bool mappable) =>
        new Blob(_client.CreateBlob(VtestBlobType.Host3D, mappable ? VtestBlobFlags.Mappable : 0, size, memoryId));

    public GuestShmem CreateShareableMemoryBlob(ulong memoryId, ulong size, bool mappable) =>
        new Blob(_client.CreateBlob(VtestBlobType.Host3D,
            VtestBlobFlags.Shareable | (mappable ? VtestBlobFlags.Mappable : 0), size, memoryId));

    /// <summary>
    /// Over vtest every blob arrives as an fd (SCM_RIGHTS): the host's exported fd, which this process
    /// may share, where the host shares device memory as blobs at all (venus-host says so; virglrenderer
    /// 1.1.0 on lavapipe drops the client at a SHAREABLE blob of exportable memory).
    /// </summary>
    public bool SharesMemoryFds => SharesMappedMemory;

    public int ExportBlobFd(GuestShmem blob)
    {
        int fd = Runtime.Posix.DupCloexec(blob.Fd);
        if (fd < 0)
            throw new InvalidOperationException($"fcntl(F_DUPFD_CLOEXEC) of blob resource {blob.ResourceId}'s fd {blob.Fd} failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        return fd;
    }

    public void SubmitVirtqueue(ReadOnlySpan<byte> stream) => _client.SubmitCommands(stream, 0);

    public bool IsHostGone() => _client.IsPeerClosed();

    // One timeline sync per ring_idx, made on first use; each retire signal waits for the next value.
    private readonly Lock _syncLock = new();
    private readonly uint[] _retireSyncs = new uint[64];
    private readonly ulong[] _retireValues = new ulong[64];

    public IRetireSignal? SignalRetire(uint ringIdx, ReadOnlySpan<byte> stream)
    {
        if (ringIdx == 0 || ringIdx >= _retireSyncs.Length)
            return null;
        uint sync;
        ulong value;
        lock (_syncLock)
        {
            if (_retireSyncs[ringIdx] == 0)
                _retireSyncs[ringIdx] = _client.SyncCreate(0);
            sync = _retireSyncs[ringIdx];
            value = ++_retireValues[ringIdx];
            // Under the lock: the server sets the sync to each batch's value, so they must go in order.
            _client.SubmitCommands(stream, ringIdx, [(sync, value)]);
        }
        return new RetireSync(_client, sync, value);
    }

    private sealed class RetireSync(VtestClient client, uint sync, ulong value) : IRetireSignal
    {
        public bool Wait(int timeoutMs) => client.SyncWait(sync, value, TimeSpan.FromMilliseconds(timeoutMs));

        public void Dispose()
        {
        }
    }

    public bool SharesMappedMemory => _shares ??= _client.GetParameter(VtestParam.SharesHostVisibleMemory) != 0;
    private bool? _shares;

    public void Dispose() => _client.Dispose();

    private sealed class Blob(VtestBlob blob) : GuestShmem
    {
        public override uint ResourceId => blob.ResourceId;
        public override byte* Pointer => blob.Pointer;
        public override ulong Size => blob.Size;
        public override int Fd => blob.Fd;
        public override void Dispose() => blob.Dispose();
    }
}
