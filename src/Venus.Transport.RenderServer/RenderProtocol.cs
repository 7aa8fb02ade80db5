namespace Venus.Transport.RenderServer;

/// <summary>
/// virglrenderer 1.1.0's render-server protocol (<c>server/render_protocol.h</c>; facts in the shared
/// docs' <c>render-server.md</c>): one request per SOCK_SEQPACKET packet, little-endian, a u32 op
/// first; fds travel as SCM_RIGHTS. Offsets and sizes are x86-64's.
/// </summary>
public static class RenderProtocol
{
    // ---- main socket (the library's "client") ----
    /// <summary>A request that does nothing (both sockets accept op 0).</summary>
    public const uint OpNop = 0;
    public const uint ClientOpInit = 1;
    public const uint ClientOpReset = 2;
    public const uint ClientOpCreateContext = 3;
    public const uint ClientOpDestroyContext = 4;

    /// <summary><c>{u32 op, u32 flags}</c>.</summary>
    public const int ClientInitSize = 8;
    public const int ClientResetSize = 4;
    /// <summary><c>{u32 op, u32 ctx_id, char ctx_name[32]}</c>.</summary>
    public const int CreateContextSize = 40;
    public const int ContextNameSize = 32;
    /// <summary><c>{u32 op, u32 ctx_id}</c>.</summary>
    public const int DestroyContextSize = 8;
    /// <summary>The CREATE_CONTEXT reply: <c>bool ok</c>, with the context's socket as the one fd when ok.</summary>
    public const int CreateContextReplySize = 1;

    // ---- per-context socket ----
    public const uint ContextOpInit = 1;
    public const uint ContextOpCreateResource = 2;
    public const uint ContextOpImportResource = 3;
    public const uint ContextOpDestroyResource = 4;
    public const uint ContextOpSubmitCmd = 5;
    public const uint ContextOpSubmitFence = 6;

    /// <summary><c>{u32 op, u32 flags (the capset id), u64 shmem_size}</c> + the shmem fd and an optional eventfd.</summary>
    public const int ContextInitSize = 16;
    /// <summary><c>{u32 op, u32 res_id, u64 blob_id @8, u64 blob_size @16, u32 blob_flags @24}</c>, padded to 32.</summary>
    public const int CreateResourceSize = 32;
    /// <summary><c>{i32 fd_type, u32 map_info, vulkan_info {u8 device_uuid[16], u8 driver_uuid[16], u64 allocation_size @40, u32 memory_type_index @48}}</c>, padded to 56.</summary>
    public const int CreateResourceReplySize = 56;
    /// <summary><c>{u32 op, u32 res_id, i32 fd_type, u64 size @16}</c>, padded to 24, + the fd.</summary>
    public const int ImportResourceSize = 24;
    public const int DestroyResourceSize = 8;
    /// <summary>SUBMIT_CMD is always this packet, <c>{u32 op, u32 size, u8 cmd[256]}</c>; a larger command's rest follows in one more packet.</summary>
    public const int SubmitCmdSize = 264;
    public const int SubmitCmdInline = 256;
    /// <summary><c>{u32 op, u32 flags, u32 ring_index, u32 seqno}</c>.</summary>
    public const int SubmitFenceSize = 16;
    public const uint FenceFlagMergeable = 1;

    /// <summary>Fence timelines per context: the shmem holds one u32 seqno per ring.</summary>
    public const int TimelineCount = 64;
    public const int FenceShmemSize = TimelineCount * sizeof(uint);

    /// <summary>The capset id of Venus (the context INIT's flags).</summary>
    public const uint CapsetVenus = 4;

    /// <summary>Blob flags of CREATE_RESOURCE (VIRGL_RENDERER_BLOB_FLAG_*).</summary>
    public const uint BlobFlagMappable = 1, BlobFlagShareable = 2, BlobFlagCrossDevice = 4;
}

/// <summary>The fd types of virglrenderer's resources (<c>enum virgl_resource_fd_type</c>).</summary>
public enum RenderFdType
{
    DmaBuf = 0,
    Opaque = 1,
    Shm = 2,
}

/// <summary>How the VMM maps a blob into the guest (<c>VIRGL_RENDERER_MAP_CACHE_*</c>; NONE is refused by the library).</summary>
public enum RenderMapInfo : uint
{
    None = 0,
    Cached = 1,
    Uncached = 2,
    WriteCombined = 3,
}
