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

    public GuestShmem CreateMemoryBlob(ulong memoryId, ulong size, bool mappable) => CreateBlob(memoryId, size, mappable);

    private Blob CreateBlob(ulong blobId, ulong size, bool mappable)
    {
        VirtgpuBlob blob = _device.CreateBlob(VirtgpuBlobMem.Host3d,
            mappable ? VirtgpuBlobFlags.UseMappable : VirtgpuBlobFlags.None, size, blobId);
        if (!mappable)
            return new Blob(_device, blob, null);
        try
        {
            return new Blob(_device, blob, (byte*)_device.Map(blob.BoHandle, blob.Size));
        }
        catch
        {
            _device.GemClose(blob.BoHandle);
            throw;
        }
    }

    public void SubmitVirtqueue(ReadOnlySpan<byte> stream) => _device.Execbuffer(stream);

    /// <summary>The host going away takes the VM with it; the ring's FATAL bit and watchdog cover a dead context.</summary>
    public bool IsHostGone() => false;

    public void Dispose() => _device.Dispose();

    private sealed class Blob(VirtgpuDevice device, VirtgpuBlob blob, byte* pointer) : GuestShmem
    {
        private int _disposed;

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
                device.GemClose(blob.BoHandle);
            }
        }
    }
}
