using System.Runtime.CompilerServices;

namespace Venus.Transport.Virtgpu;

/// <summary>
/// The ioctl request numbers and constants of drm/virtgpu_drm.h and drm/drm.h (venus-protocol.md §7).
/// Request numbers are computed as the headers compute them, from the direction, the type 'd',
/// the number and <c>sizeof</c> of the argument struct, so a struct of the wrong size shows up as
/// a wrong request number too. The encoding is the generic one of asm-generic/ioctl.h (x86, arm,
/// arm64, riscv), not the one of powerpc, mips or sparc.
/// </summary>
public static unsafe class VirtgpuIoctl
{
    /// <summary>The ioctl type of every DRM ioctl.</summary>
    public const byte DrmIoctlBase = (byte)'d';

    /// <summary>Driver-specific ioctls are numbered from here.</summary>
    public const uint DrmCommandBase = 0x40;

    public const uint DrmVirtgpuMap = 0x01;
    public const uint DrmVirtgpuExecbuffer = 0x02;
    public const uint DrmVirtgpuGetparam = 0x03;
    public const uint DrmVirtgpuResourceCreate = 0x04;
    public const uint DrmVirtgpuResourceInfo = 0x05;
    public const uint DrmVirtgpuTransferFromHost = 0x06;
    public const uint DrmVirtgpuTransferToHost = 0x07;
    public const uint DrmVirtgpuWait = 0x08;
    public const uint DrmVirtgpuGetCaps = 0x09;
    public const uint DrmVirtgpuResourceCreateBlob = 0x0a;
    public const uint DrmVirtgpuContextInit = 0x0b;

    private const uint IocNone = 0, IocWrite = 1, IocRead = 2;

    /// <summary>asm-generic <c>_IOC(dir, type, nr, size)</c>.</summary>
    public static uint Ioc(uint direction, byte type, uint nr, uint size)
    {
        if (direction > 3 || nr > 0xff || size > 0x3fff)
            throw new ArgumentOutOfRangeException(nameof(size), $"_IOC({direction}, {type}, {nr}, {size}) does not fit the encoding");
        return (direction << 30) | (size << 16) | ((uint)type << 8) | nr;
    }

    /// <summary><c>_IOWR(type, nr, T)</c>: the kernel reads and writes the argument.</summary>
    public static uint IoWR<T>(byte type, uint nr) where T : unmanaged => Ioc(IocRead | IocWrite, type, nr, (uint)sizeof(T));

    /// <summary><c>_IOW(type, nr, T)</c>: the kernel only reads the argument.</summary>
    public static uint IoW<T>(byte type, uint nr) where T : unmanaged => Ioc(IocWrite, type, nr, (uint)sizeof(T));

    /// <summary><c>_IO(type, nr)</c>: no argument.</summary>
    public static uint Io(byte type, uint nr) => Ioc(IocNone, type, nr, 0);

    /// <summary><c>DRM_IOWR(DRM_COMMAND_BASE + nr, T)</c>, as every virtgpu ioctl is declared.</summary>
    public static uint DrmCommandIoWR<T>(uint nr) where T : unmanaged => IoWR<T>(DrmIoctlBase, DrmCommandBase + nr);

    /// <summary>DRM_IOCTL_VIRTGPU_MAP (0xc0106441).</summary>
    public static readonly uint Map = DrmCommandIoWR<DrmVirtgpuMap>(DrmVirtgpuMap);

    /// <summary>DRM_IOCTL_VIRTGPU_EXECBUFFER (0xc0406442 with the 64-byte struct).</summary>
    public static readonly uint Execbuffer = DrmCommandIoWR<DrmVirtgpuExecbuffer>(DrmVirtgpuExecbuffer);

    /// <summary>DRM_IOCTL_VIRTGPU_GETPARAM (0xc0106443).</summary>
    public static readonly uint Getparam = DrmCommandIoWR<DrmVirtgpuGetparam>(DrmVirtgpuGetparam);

    /// <summary>DRM_IOCTL_VIRTGPU_RESOURCE_INFO (0xc0106445).</summary>
    public static readonly uint ResourceInfo = DrmCommandIoWR<DrmVirtgpuResourceInfo>(DrmVirtgpuResourceInfo);

    /// <summary>DRM_IOCTL_VIRTGPU_WAIT (0xc0086448).</summary>
    public static readonly uint Wait = DrmCommandIoWR<DrmVirtgpu3dWait>(DrmVirtgpuWait);

    /// <summary>DRM_IOCTL_VIRTGPU_GET_CAPS (0xc0186449).</summary>
    public static readonly uint GetCaps = DrmCommandIoWR<DrmVirtgpuGetCaps>(DrmVirtgpuGetCaps);

    /// <summary>DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB (0xc030644a).</summary>
    public static readonly uint ResourceCreateBlob = DrmCommandIoWR<DrmVirtgpuResourceCreateBlob>(DrmVirtgpuResourceCreateBlob);

    /// <summary>DRM_IOCTL_VIRTGPU_CONTEXT_INIT (0xc010644b).</summary>
    public static readonly uint ContextInit = DrmCommandIoWR<DrmVirtgpuContextInit>(DrmVirtgpuContextInit);

    /// <summary>DRM_IOCTL_VERSION (0xc0406400 on LP64: the struct holds size_t and pointers).</summary>
    public static readonly uint Version = IoWR<DrmVersion>(DrmIoctlBase, 0x00);

    /// <summary>DRM_IOCTL_GEM_CLOSE (0x40086409).</summary>
    public static readonly uint GemClose = IoW<DrmGemClose>(DrmIoctlBase, 0x09);

    /// <summary>DRM_IOCTL_PRIME_HANDLE_TO_FD (0xc00c642d).</summary>
    public static readonly uint PrimeHandleToFd = IoWR<DrmPrimeHandle>(DrmIoctlBase, 0x2d);

    /// <summary>DRM_IOCTL_PRIME_FD_TO_HANDLE (0xc00c642e).</summary>
    public static readonly uint PrimeFdToHandle = IoWR<DrmPrimeHandle>(DrmIoctlBase, 0x2e);

    /// <summary>VIRTGPU_WAIT_NOWAIT: DRM_IOCTL_VIRTGPU_WAIT only tests, it does not block.</summary>
    public const uint WaitNoWait = 1;

    /// <summary>VIRTGPU_EXECBUF_SYNCOBJ_RESET.</summary>
    public const uint ExecbufSyncobjReset = 1;

    /// <summary>VIRTGPU_EVENT_FENCE_SIGNALED: the drm_event type read from the fd with POLL_RINGS_MASK.</summary>
    public const uint EventFenceSignaled = 0x90000000;

    /// <summary>DRM_CLOEXEC (= O_CLOEXEC) for PRIME_HANDLE_TO_FD.</summary>
    public const uint DrmCloexec = 0x80000;

    /// <summary>DRM_RDWR (= O_RDWR) for PRIME_HANDLE_TO_FD: a mappable dma-buf.</summary>
    public const uint DrmRdwr = 2;

    /// <summary>VIRTIO_GPU_CAPSET_VENUS (linux/virtio_gpu.h): the capset id of Venus contexts.</summary>
    public const uint CapsetVenus = 4;

    /// <summary>The DRM driver name of a virtio-gpu device (DRM_IOCTL_VERSION).</summary>
    public const string DriverName = "virtio_gpu";

    /// <summary>Blob sizes are whole pages (Mesa rounds every blob up to 4096).</summary>
    public const ulong BlobAlignment = 4096;

    internal static nint Request(uint request) => (nint)(nuint)request;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Pointer(void* p) => (ulong)(nuint)p;
}

/// <summary>VIRTGPU_PARAM_* of DRM_IOCTL_VIRTGPU_GETPARAM.</summary>
public enum VirtgpuParam : ulong
{
    /// <summary>VIRTGPU_PARAM_3D_FEATURES: the device has 3D (virgl) features.</summary>
    ThreeDFeatures = 1,
    /// <summary>VIRTGPU_PARAM_CAPSET_QUERY_FIX.</summary>
    CapsetQueryFix = 2,
    /// <summary>VIRTGPU_PARAM_RESOURCE_BLOB: DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB works.</summary>
    ResourceBlob = 3,
    /// <summary>VIRTGPU_PARAM_HOST_VISIBLE: HOST3D blobs are mappable (the device has a host-visible region).</summary>
    HostVisible = 4,
    /// <summary>VIRTGPU_PARAM_CROSS_DEVICE: resources can be shared with other virtio devices.</summary>
    CrossDevice = 5,
    /// <summary>VIRTGPU_PARAM_CONTEXT_INIT: DRM_IOCTL_VIRTGPU_CONTEXT_INIT works.</summary>
    ContextInit = 6,
    /// <summary>VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs: bit n set when capset n is supported.</summary>
    SupportedCapsetIds = 7,
    /// <summary>VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME: VIRTGPU_CONTEXT_PARAM_DEBUG_NAME is accepted (6.6+).</summary>
    ExplicitDebugName = 8,
}

/// <summary>VIRTGPU_CONTEXT_PARAM_* of DRM_IOCTL_VIRTGPU_CONTEXT_INIT.</summary>
public enum VirtgpuContextParam : ulong
{
    /// <summary>VIRTGPU_CONTEXT_PARAM_CAPSET_ID (Venus: <see cref="VirtgpuIoctl.CapsetVenus"/>).</summary>
    CapsetId = 1,
    /// <summary>VIRTGPU_CONTEXT_PARAM_NUM_RINGS (Mesa's venus: 64).</summary>
    NumRings = 2,
    /// <summary>VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK: rings whose fences post an event on the fd.</summary>
    PollRingsMask = 3,
    /// <summary>VIRTGPU_CONTEXT_PARAM_DEBUG_NAME: value is a user pointer to a NUL-terminated name.</summary>
    DebugName = 4,
}

/// <summary>VIRTGPU_BLOB_MEM_*. (Mesa's copy of the header also has GUEST_VRAM 4; the kernel's has not.)</summary>
public enum VirtgpuBlobMem : uint
{
    /// <summary>VIRTGPU_BLOB_MEM_GUEST: guest memory only.</summary>
    Guest = 1,
    /// <summary>VIRTGPU_BLOB_MEM_HOST3D: host memory of a 3D context, mapped through the host-visible region.</summary>
    Host3d = 2,
    /// <summary>VIRTGPU_BLOB_MEM_HOST3D_GUEST: guest memory the host 3D context also uses.</summary>
    Host3dGuest = 3,
}

/// <summary>VIRTGPU_BLOB_FLAG_*.</summary>
[Flags]
public enum VirtgpuBlobFlags : uint
{
    None = 0,
    /// <summary>VIRTGPU_BLOB_FLAG_USE_MAPPABLE: the guest will mmap it.</summary>
    UseMappable = 1,
    /// <summary>VIRTGPU_BLOB_FLAG_USE_SHAREABLE: it may be exported (dma-buf).</summary>
    UseShareable = 2,
    /// <summary>VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE: it may be shared with other virtio devices.</summary>
    UseCrossDevice = 4,
}

/// <summary>VIRTGPU_EXECBUF_* flags of DRM_IOCTL_VIRTGPU_EXECBUFFER.</summary>
[Flags]
public enum VirtgpuExecbufferFlags : uint
{
    None = 0,
    /// <summary>VIRTGPU_EXECBUF_FENCE_FD_IN: wait for the sync_file in fence_fd first.</summary>
    FenceFdIn = 1,
    /// <summary>VIRTGPU_EXECBUF_FENCE_FD_OUT: return a sync_file for this submission in fence_fd.</summary>
    FenceFdOut = 2,
    /// <summary>VIRTGPU_EXECBUF_RING_IDX: ring_idx is valid.</summary>
    RingIdx = 4,
}
