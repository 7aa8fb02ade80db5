using Venus.Protocol;
using Venus.Transport.Virtgpu;

namespace Venus.GuestIcd.Transport;

/// <summary>
/// The virtio-gpu transport inside a VM (fact sheet §7): a render node whose driver is virtio_gpu
/// and whose device offers the venus capset. A context is initialised for capset 4 with 64 rings;
/// shared memory and VkDeviceMemory are HOST3D blobs mapped through the host-visible window;
/// virtqueue commands go through EXECBUFFER. Chosen when vtest is not asked for
/// (<see cref="VtestGuestTransport.Requested"/>); <c>VENUS_RENDER_NODE</c> names one node instead of
/// scanning /dev/dri.
/// </summary>
internal sealed unsafe class VirtgpuGuestTransport : IGuestTransport
{
    /// <summary>Timelines the context gets; queues take ring_idx 1..63 (§5 supports_multiple_timelines).</summary>
    public const uint RingCount = 64;

    private readonly VirtgpuDevice _device;

    private VirtgpuGuestTransport(VirtgpuDevice device, VenusCapset capset)
    {
        _device = device;
        Capset = capset;
        _drmInfo = new Lazy<DrmNodeInfo?>(() => DrmNodeInfo.Query(device.Path));
    }

    public string Name => "virtgpu:" + _device.Path;
    public VenusCapset Capset { get; }

    /// <summary>The render node's DRM and PCI identity, read once (null when the node cannot be examined).</summary>
    public DrmNodeInfo? DrmInfo => _drmInfo.Value;
    private readonly Lazy<DrmNodeInfo?> _drmInfo;

    /// <summary>
    /// The first render node that can carry Venus, with its context initialised. Null when none
    /// can; <paramref name="why"/> then says, node by node, why not.
    /// </summary>
    public static VirtgpuGuestTransport? Open(out string why)
    {
        string? only = Environment.GetEnvironmentVariable("VENUS_RENDER_NODE");
        IReadOnlyList<string> nodes = string.IsNullOrEmpty(only) ? VirtgpuDevice.RenderNodes() : [only];
        if (nodes.Count == 0)
        {
            why = "no render node in /dev/dri (is the virtio_gpu module loaded?)";
            return null;
        }
        var reasons = new List<string>();
        foreach (string node in nodes)
        {
            VirtgpuGuestTransport? transport = TryOpen(node, out string reason);
            if (transport is not null)
            {
                why = "";
                return transport;
            }
            reasons.Add(reason);
        }
        why = string.Join("; ", reasons);
        return null;
    }

    private static VirtgpuGuestTransport? TryOpen(string node, out string why)
    {
        VirtgpuDevice device;
        try
        {
            device = VirtgpuDevice.Open(node);
        }
        catch (Exception e)
        {
            why = e.Message;
            return null;
        }
        try
        {
            string? missing = MissingFeatures(device);
            if (missing is not null)
            {
                why = $"{node} (virtio_gpu {device.DriverVersion.Major}.{device.DriverVersion.Minor}.{device.DriverVersion.Patch}): {missing}";
                device.Dispose();
                return null;
            }

            Span<byte> caps = stackalloc byte[VenusCapset.Size];
            device.GetCaps(VenusCapset.CapsetId, VenusCapset.CapsetVersion, caps);
            if (!VenusCapset.TryParse(caps, out VenusCapset capset, out string? error))
            {
                why = $"{node}: the venus capset is malformed: {error}";
                device.Dispose();
                return null;
            }
            device.ContextInit(VenusCapset.CapsetId, RingCount, pollRingsMask: 0);
            why = "";
            return new VirtgpuGuestTransport(device, capset);
        }
        catch (Exception e)
        {
            why = $"{node}: {e.Message}";
            device.Dispose();
            return null;
        }
    }

    /// <summary>What the kernel or device lacks for Venus (<see cref="VenusNodeCheck"/>), or null when nothing is missing.</summary>
    private static string? MissingFeatures(VirtgpuDevice device)
    {
        List<string> missing = VenusNodeCheck.Missing(device);
        return missing.Count == 0 ? null : string.Join(", ", missing);
    }

    public GuestShmem CreateShmem(ulong size) => CreateBlob(0, size, mappable: true);

    public GuestShmem CreateMemoryBlob(ulong memoryId, ulong size, bool mappable) => CreateBlob(memoryId, size, mappable, shareable: false);

    /// <summary>Exportable memory's blob is SHAREABLE, so that the kernel lets it go out as a dma-buf (PRIME).</summary>
    public GuestShmem CreateShareableMemoryBlob(ulong memoryId, ulong size, bool mappable) => CreateBlob(memoryId, size, mappable, shareable: true);

    /// <summary>
    /// Device memory goes out as the PRIME export of its blob: a dma-buf of the GEM object, which
    /// this or another process of the VM imports again by resource id (<see cref="TryImportMemoryFd"/>).
    /// </summary>
    public bool SharesMemoryFds => true;

    /// <summary>The capset is the VMM's, whatever the render server: whether the host imports its exports is found out (ExternalMemory.HostImportsItsExports).</summary>
    public bool ProbesMemoryFds => true;

    public int ExportBlobFd(GuestShmem blob)
    {
        if (blob is not Blob b)
            throw new ArgumentException($"resource {blob.ResourceId} is not a blob of {Name}", nameof(blob));
        return _device.PrimeHandleToFd(b.BoHandle, readWrite: true);
    }

    /// <summary>
    /// DRM_IOCTL_PRIME_FD_TO_HANDLE attaches the dma-buf's resource to this context (the kernel tells the
    /// host) and RESOURCE_INFO names it; the GEM handle is held until the memory is freed (one of this
    /// transport's own blobs comes back as its own handle, which is not closed here). Only host blobs
    /// (HOST3D) are device memory the host can import.
    /// </summary>
    public bool TryImportMemoryFd(int fd, out uint resourceId, out IDisposable? hold, out string why)
    {
        resourceId = 0;
        hold = null;
        uint handle;
        try
        {
            handle = _device.PrimeFdToHandle(fd);
        }
        catch (Exception e)
        {
            why = $"fd {fd} is not a dma-buf {Name} can import: {e.Message}";
            return false;
        }
        // PRIME gives a file one handle per GEM object: one of our blobs comes back as its own handle,
        // and a second import of the same dma-buf as the first import's (counted, closed with the last).
        ImportedHandle? held = null;
        lock (_handles)
        {
            if (!_handles.Contains(handle))
            {
                _imports[handle] = _imports.GetValueOrDefault(handle) + 1;
                held = new ImportedHandle(this, handle);
            }
        }
        try
        {
            VirtgpuResourceInfo info = _device.ResourceInfo(handle);
            if (info.BlobMem != (uint)VirtgpuBlobMem.Host3d)
            {
                why = $"fd {fd} is a dma-buf of resource {info.ResHandle} with blob_mem {info.BlobMem}, not host device memory (HOST3D)";
                held?.Dispose();
                return false;
            }
            resourceId = info.ResHandle;
            hold = held;
            why = "";
            return true;
        }
        catch (Exception e)
        {
            why = $"fd {fd}: {e.Message}";
            held?.Dispose();
            return false;
        }
    }

    /// <summary>The GEM handles of this transport's blobs, and the import count of handles PRIME import opened (both under the set's lock).</summary>
    private readonly HashSet<uint> _handles = new();
    private readonly Dictionary<uint, int> _imports = new();

    private Blob CreateBlob(ulong blobId, ulong size, bool mappable, bool shareable = false)
    {
        VirtgpuBlobFlags flags = (mappable ? VirtgpuBlobFlags.UseMappable : VirtgpuBlobFlags.None)
            | (shareable ? VirtgpuBlobFlags.UseShareable : VirtgpuBlobFlags.None);
        VirtgpuBlob blob = _device.CreateBlob(VirtgpuBlobMem.Host3d, flags, size, blobId);
        byte* pointer = null;
        if (mappable)
        {
            try
            {
                pointer = (byte*)_device.Map(blob.BoHandle, blob.Size);
            }
            catch
            {
                _device.GemClose(blob.BoHandle);
                throw;
            }
        }
        lock (_handles)
            _handles.Add(blob.BoHandle);
        return new Blob(this, blob, pointer);
    }

    public void SubmitVirtqueue(ReadOnlySpan<byte> stream) => _device.Execbuffer(stream);

    /// <summary>
    /// EXECBUFFER with an out-fence on ring 0, then a wait for it: the VMM handles the control queue in
    /// order (blob creations and attachments before this submission), and the render server retires a
    /// ring-0 fence once the submission before it is done.
    /// </summary>
    public void SyncVirtqueue(ReadOnlySpan<byte> stream)
    {
        int fence = _device.Execbuffer(stream, outFence: true);
        try
        {
            if (!VirtgpuDevice.WaitSyncFile(fence, 10000))
                throw new VirtgpuException("poll", 0, $"{Name}: the host did not retire a virtqueue fence within 10 s");
        }
        finally
        {
            VirtgpuDevice.CloseFd(fence);
        }
    }

    public IRetireSignal? SignalRetire(uint ringIdx, ReadOnlySpan<byte> stream)
    {
        if (ringIdx == 0 || ringIdx >= RingCount)
            return null;
        return new RetireFence(_device.Execbuffer(stream, ringIdx, outFence: true));
    }

    /// <summary>EXECBUFFER's out-fence (a sync_file) on the queue's ring_idx: the VMM signals it when the render server retires the fence.</summary>
    private sealed class RetireFence(int fd) : IRetireSignal
    {
        private int _fd = fd;

        public bool Wait(int timeoutMs) => _fd >= 0 && VirtgpuDevice.WaitSyncFile(_fd, timeoutMs);

        public void Dispose()
        {
            int fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
                VirtgpuDevice.CloseFd(fd);
        }
    }

    /// <summary>The host going away takes the VM with it; the ring's FATAL bit and watchdog cover a dead context.</summary>
    public bool IsHostGone() => false;

    public void Dispose() => _device.Dispose();

    /// <summary>A GEM handle PRIME import opened: closed once, when the imported memory is freed.</summary>
    private sealed class ImportedHandle(VirtgpuGuestTransport owner, uint handle) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            lock (owner._handles)
            {
                int left = owner._imports.GetValueOrDefault(handle) - 1;
                if (left > 0)
                {
                    owner._imports[handle] = left;
                    return;
                }
                owner._imports.Remove(handle);
            }
            owner._device.GemClose(handle);
        }
    }

    private sealed class Blob(VirtgpuGuestTransport owner, VirtgpuBlob blob, byte* pointer) : GuestShmem
    {
        private int _disposed;

        public uint BoHandle => blob.BoHandle;
        public override uint ResourceId => blob.ResHandle;
        public override byte* Pointer => pointer;
        public override ulong Size => blob.Size;

        public override void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            try
            {
                if (pointer != null)
                    VirtgpuDevice.Unmap((nint)pointer, blob.Size);
            }
            finally
            {
                lock (owner._handles)
                    owner._handles.Remove(blob.BoHandle);
                owner._device.GemClose(blob.BoHandle);
            }
        }
    }
}
