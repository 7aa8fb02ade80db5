using System.Runtime.InteropServices;

namespace Venus.Transport.Virtgpu;

// The ioctl argument structs of the Linux uapi headers drm/virtgpu_drm.h and drm/drm.h, field for
// field. Sequential layout gives every field its natural C alignment, which is what the headers
// rely on ("keep fields aligned to their size"). Field names are the C names in PascalCase; the
// layout tests compile the kernel's own headers and compare sizeof and every offsetof.
// User pointers travel as u64 in the virtgpu structs; drm_version alone has real pointers and
// size_t (so its size follows the ABI: 64 bytes on LP64).

/// <summary><c>struct drm_virtgpu_map</c> (DRM_IOCTL_VIRTGPU_MAP): the mmap offset of a buffer object.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuMap
{
    /// <summary>Out: the offset to pass to mmap on the DRM fd.</summary>
    public ulong Offset;
    public uint Handle;
    public uint Pad;
}

/// <summary><c>struct drm_virtgpu_execbuffer_syncobj</c>: one entry of the execbuffer syncobj arrays.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuExecbufferSyncobj
{
    public uint Handle;
    public uint Flags;
    public ulong Point;
}

/// <summary><c>struct drm_virtgpu_execbuffer</c> (DRM_IOCTL_VIRTGPU_EXECBUFFER), the current 64-byte version.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuExecbuffer
{
    /// <summary><see cref="VirtgpuExecbufferFlags"/>.</summary>
    public uint Flags;
    /// <summary>Bytes at <see cref="Command"/>.</summary>
    public uint Size;
    /// <summary>User pointer to the command stream.</summary>
    public ulong Command;
    /// <summary>User pointer to <see cref="NumBoHandles"/> u32 GEM handles.</summary>
    public ulong BoHandles;
    public uint NumBoHandles;
    /// <summary>In: a sync_file fd with FENCE_FD_IN. Out: the new sync_file fd with FENCE_FD_OUT (-1 otherwise).</summary>
    public int FenceFd;
    /// <summary>The ring (timeline) the commands go to, with RING_IDX.</summary>
    public uint RingIdx;
    public uint SyncobjStride;
    public uint NumInSyncobjs;
    public uint NumOutSyncobjs;
    public ulong InSyncobjs;
    public ulong OutSyncobjs;
}

/// <summary><c>struct drm_virtgpu_getparam</c> (DRM_IOCTL_VIRTGPU_GETPARAM).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuGetparam
{
    /// <summary><see cref="VirtgpuParam"/>.</summary>
    public ulong Param;
    /// <summary>User pointer the kernel writes the answer through (an <c>int</c>, 4 bytes).</summary>
    public ulong Value;
}

/// <summary><c>struct drm_virtgpu_resource_info</c> (DRM_IOCTL_VIRTGPU_RESOURCE_INFO).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuResourceInfo
{
    public uint BoHandle;
    public uint ResHandle;
    public uint Size;
    public uint BlobMem;
}

/// <summary><c>struct drm_virtgpu_3d_wait</c> (DRM_IOCTL_VIRTGPU_WAIT).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpu3dWait
{
    public uint Handle;
    /// <summary><see cref="VirtgpuIoctl.WaitNoWait"/> or 0.</summary>
    public uint Flags;
}

/// <summary><c>struct drm_virtgpu_get_caps</c> (DRM_IOCTL_VIRTGPU_GET_CAPS).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuGetCaps
{
    public uint CapSetId;
    public uint CapSetVer;
    /// <summary>User pointer to <see cref="Size"/> bytes the kernel fills.</summary>
    public ulong Addr;
    public uint Size;
    public uint Pad;
}

/// <summary><c>struct drm_virtgpu_resource_create_blob</c> (DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuResourceCreateBlob
{
    /// <summary><see cref="VirtgpuBlobMem"/>; zero is invalid.</summary>
    public uint BlobMem;
    /// <summary><see cref="VirtgpuBlobFlags"/>.</summary>
    public uint BlobFlags;
    /// <summary>Out: the GEM handle.</summary>
    public uint BoHandle;
    /// <summary>Out: the host resource id.</summary>
    public uint ResHandle;
    public ulong Size;
    public uint Pad;
    /// <summary>Bytes at <see cref="Cmd"/>: commands the host runs before creating the blob (HOST3D / HOST3D_GUEST only).</summary>
    public uint CmdSize;
    public ulong Cmd;
    public ulong BlobId;
}

/// <summary><c>struct drm_virtgpu_context_set_param</c>: one parameter of DRM_IOCTL_VIRTGPU_CONTEXT_INIT.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuContextSetParam
{
    /// <summary><see cref="VirtgpuContextParam"/>.</summary>
    public ulong Param;
    public ulong Value;
}

/// <summary><c>struct drm_virtgpu_context_init</c> (DRM_IOCTL_VIRTGPU_CONTEXT_INIT).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmVirtgpuContextInit
{
    public uint NumParams;
    public uint Pad;
    /// <summary>User pointer to <see cref="NumParams"/> <see cref="DrmVirtgpuContextSetParam"/>.</summary>
    public ulong CtxSetParams;
}

/// <summary><c>struct drm_gem_close</c> (DRM_IOCTL_GEM_CLOSE).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmGemClose
{
    public uint Handle;
    public uint Pad;
}

/// <summary><c>struct drm_prime_handle</c> (DRM_IOCTL_PRIME_HANDLE_TO_FD / DRM_IOCTL_PRIME_FD_TO_HANDLE).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct DrmPrimeHandle
{
    public uint Handle;
    /// <summary>HANDLE_TO_FD only: <see cref="VirtgpuIoctl.DrmCloexec"/> and <see cref="VirtgpuIoctl.DrmRdwr"/>.</summary>
    public uint Flags;
    public int Fd;
}

/// <summary>
/// <c>struct drm_version</c> (DRM_IOCTL_VERSION). The kernel copies at most each <c>*_len</c>
/// bytes (no terminating zero) and then stores the full length in <c>*_len</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct DrmVersion
{
    public int VersionMajor;
    public int VersionMinor;
    public int VersionPatchlevel;
    public nuint NameLen;
    public byte* Name;
    public nuint DateLen;
    public byte* Date;
    public nuint DescLen;
    public byte* Desc;
}
