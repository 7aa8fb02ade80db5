using Venus.Protocol;

namespace Venus.GuestIcd.Transport;

/// <summary>
/// What the driver needs from a transport (vtest here; virtgpu ioctls later): the capset, shared
/// memory blobs, the virtqueue path for commands that cannot go through a ring, and a liveness
/// probe. Failures throw; a lost connection throws <see cref="Runtime.DeviceLostException"/> or a
/// transport exception that the export wrappers turn into VK_ERROR_DEVICE_LOST.
/// </summary>
internal interface IGuestTransport : IDisposable
{
    /// <summary>E.g. "vtest:/tmp/.virgl_test", for logs.</summary>
    string Name { get; }

    VenusCapset Capset { get; }

    /// <summary>Host-allocated shared memory the guest maps (rings, reply buffers, uploads): HOST3D, MAPPABLE, blob id 0.</summary>
    GuestShmem CreateShmem(ulong size);

    /// <summary>The blob of a VkDeviceMemory (blob id = the memory's object id), mapped when <paramref name="mappable"/>.</summary>
    GuestShmem CreateMemoryBlob(ulong memoryId, ulong size, bool mappable);

    /// <summary>
    /// The blob of exportable memory (Runtime/ExternalMemory.cs): SHAREABLE, so the host backs it with the
    /// fd its driver exported. Only where <see cref="SharesMemoryFds"/>.
    /// </summary>
    GuestShmem CreateShareableMemoryBlob(ulong memoryId, ulong size, bool mappable) =>
        throw new NotSupportedException($"{Name} does not share device memory as file descriptors");

    /// <summary>Whether device memory can be exported as an fd and imported again (vtest: the blob's fd).</summary>
    bool SharesMemoryFds => false;

    /// <summary>
    /// Whether the host cannot say if it imports its own exports, so the driver finds out by doing it
    /// (virtio-gpu: the VMM fills in the capset, the same for every render server).
    /// </summary>
    bool ProbesMemoryFds => false;

    /// <summary>A new fd (the caller owns it) of a shareable blob, for vkGetMemoryFdKHR.</summary>
    int ExportBlobFd(GuestShmem blob) => throw new NotSupportedException($"{Name} does not export blobs");

    /// <summary>
    /// The resource behind an fd this process did not export through this transport, where the
    /// transport can take fds from elsewhere (virtio-gpu: a dma-buf of a host blob, through PRIME);
    /// <paramref name="hold"/> keeps the resource attached to this context until the import is done
    /// with (null when nothing needs holding). False with the reason where it cannot (vtest has no
    /// message that carries an fd to the host).
    /// </summary>
    bool TryImportMemoryFd(int fd, out uint resourceId, out IDisposable? hold, out string why)
    {
        resourceId = 0;
        hold = null;
        why = $"fd {fd} is not memory this driver exported through {Name} in this process (or that memory was freed): {Name} cannot pass an fd to the host, which can import only its own exports";
        return false;
    }

    /// <summary>Sends a command stream outside any ring (vkCreateRingMESA, vkNotifyRingMESA, ...).</summary>
    void SubmitVirtqueue(ReadOnlySpan<byte> stream);

    /// <summary>
    /// <see cref="SubmitVirtqueue"/>, returning once the host has handled it and everything sent this
    /// way before (blob creations, resource attachments). vtest: one socket, already in order.
    /// </summary>
    void SyncVirtqueue(ReadOnlySpan<byte> stream) => SubmitVirtqueue(stream);

    /// <summary>
    /// Sends <paramref name="stream"/> on the timeline of <paramref name="ringIdx"/> (a queue's, §8.5)
    /// and returns what signals once the host has retired it, i.e. once the queue's work submitted
    /// before it is done (vtest: SUBMIT_CMD2 signalling a timeline sync, waited on with SYNC_WAIT's
    /// eventfd; virtio-gpu: EXECBUFFER's out-fence). Long waits sleep on it instead of polling. Null
    /// where the transport has no such signal.
    /// </summary>
    IRetireSignal? SignalRetire(uint ringIdx, ReadOnlySpan<byte> stream) => null;

    /// <summary>True once the host is known to be gone (connection closed or reset).</summary>
    bool IsHostGone();

    /// <summary>
    /// The DRM device the transport runs on (virtio-gpu's render node, its primary node and PCI
    /// address) for VK_EXT_physical_device_drm and VK_EXT_pci_bus_info; null where there is none
    /// (vtest is a socket).
    /// </summary>
    DrmNodeInfo? DrmInfo => null;

    /// <summary>
    /// Whether the host shares host-visible device memory as mappable blobs, so that the driver may
    /// map memory of its own (feedback slots) without the app asking. A VMM does (as Mesa assumes);
    /// over vtest venus-host says so (GET_PARAM SHARES_HOST_VISIBLE_MEMORY), virglrenderer's
    /// server does not, and on lavapipe it drops the client at such a blob.
    /// </summary>
    bool SharesMappedMemory => true;
}

/// <summary>What <see cref="IGuestTransport.SignalRetire"/> returns: a host-signalled point on a queue's timeline.</summary>
internal interface IRetireSignal : IDisposable
{
    /// <summary>Sleeps until the host retired it (true) or <paramref name="timeoutMs"/> passed (false).</summary>
    bool Wait(int timeoutMs);
}

/// <summary>A mapped blob resource.</summary>
internal abstract unsafe class GuestShmem : IDisposable
{
    public abstract uint ResourceId { get; }
    public abstract byte* Pointer { get; }
    public abstract ulong Size { get; }

    /// <summary>A file descriptor of the shared pages another local process can map (vtest: the memfd), or -1.</summary>
    public virtual int Fd => -1;

    public abstract void Dispose();
}
