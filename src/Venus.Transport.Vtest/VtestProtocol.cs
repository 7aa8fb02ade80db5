namespace Venus.Transport.Vtest;

/// <summary>
/// vtest message ids (virglrenderer <c>vtest/vtest_protocol.h</c>; fact sheet §6.2). Shared by the
/// client here and by a vtest host.
/// </summary>
public enum VtestCommand : uint
{
    ResourceUnref = 3,
    ResourceBusyWait = 7,
    /// <summary>The only message whose header length counts bytes, not dwords (§6.1).</summary>
    CreateRenderer = 8,
    PingProtocolVersion = 10,
    ProtocolVersion = 11,
    GetParam = 15,
    GetCapset = 16,
    ContextInit = 17,
    ResourceCreateBlob = 18,
    SyncCreate = 19,
    SyncUnref = 20,
    SyncRead = 21,
    SyncWrite = 22,
    SyncWait = 23,
    SubmitCmd2 = 24,
}

/// <summary><c>enum vcmd_param</c>.</summary>
public enum VtestParam : uint
{
    MaxTimelineCount = 1,

    /// <summary>
    /// venus-host's own (not in virglrenderer): 1 when the server shares host-visible device memory as
    /// blobs a client can map. virglrenderer answers "not valid" (read as 0), as for any parameter it
    /// does not know.
    /// </summary>
    SharesHostVisibleMemory = 0x56450001,
}

/// <summary><c>enum vcmd_blob_type</c> (= virtio-gpu blob_mem).</summary>
public enum VtestBlobType : uint
{
    Guest = 1,
    /// <summary>Host-allocated; with blob_id 0 the host hands out shared memory (Mesa's rings and reply pools).</summary>
    Host3D = 2,
    Host3DGuest = 3,
}

/// <summary><c>enum vcmd_blob_flag</c>.</summary>
[Flags]
public enum VtestBlobFlags : uint
{
    None = 0,
    Mappable = 1 << 0,
    Shareable = 1 << 1,
    CrossDevice = 1 << 2,
}

/// <summary><c>enum vcmd_submit_cmd2_flag</c>.</summary>
[Flags]
public enum VtestSubmitFlags : uint
{
    None = 0,
    /// <summary>
    /// The batch's ring_idx is meaningful; its syncs signal when that timeline's fence retires.
    /// Without it they signal as soon as the server has forwarded the commands, before decoding.
    /// </summary>
    RingIdx = 1 << 0,
}

/// <summary><c>enum vcmd_sync_wait_flag</c>.</summary>
[Flags]
public enum VtestSyncWaitFlags : uint
{
    None = 0,
    /// <summary>Ready when any one sync reaches its value (default: all of them).</summary>
    Any = 1 << 0,
}

/// <summary>Framing constants of the vtest socket protocol (fact sheet §6).</summary>
public static class VtestProtocol
{
    /// <summary>Socket path used when neither side is told otherwise (Mesa: env <c>VTEST_SOCKET_NAME</c>).</summary>
    public const string DefaultSocketPath = "/tmp/.virgl_test";

    /// <summary>
    /// Whether a guest driver is asked to use vtest, as Mesa's venus decides it: <c>VN_DEBUG</c>
    /// containing <c>vtest</c>, or (ours) <c>VENUS_TRANSPORT=vtest</c>. <paramref name="env"/> reads
    /// an environment variable (the ICD's own environment, or the one <c>venus doctor</c> checks).
    /// </summary>
    public static bool Requested(Func<string, string?> env)
    {
        string? debug = env("VN_DEBUG");
        return env("VENUS_TRANSPORT") == "vtest" || (debug is not null && debug.Split(',').Contains("vtest"));
    }

    /// <summary>The socket a guest driver connects to: <c>VTEST_SOCKET_NAME</c>, else <see cref="DefaultSocketPath"/>.</summary>
    public static string SocketPath(Func<string, string?> env) =>
        env("VTEST_SOCKET_NAME") is { Length: > 0 } path ? path : DefaultSocketPath;

    /// <summary>The version this implementation speaks; venus needs at least 3 (blobs, syncs, SUBMIT_CMD2).</summary>
    public const uint Version = 3;
    public const uint MinimumVenusVersion = 3;

    /// <summary>Every message starts with <c>u32 length, u32 id</c>; length counts payload dwords.</summary>
    public const int HeaderDwords = 2;
    public const int HeaderSize = HeaderDwords * 4;
    public const int HeaderLengthIndex = 0;
    public const int HeaderIdIndex = 1;

    /// <summary>Fixed request payload sizes in dwords.</summary>
    public const int ResourceUnrefDwords = 1;
    public const int ResourceBusyWaitDwords = 2;
    public const int ProtocolVersionDwords = 1;
    public const int GetParamDwords = 1;
    public const int GetCapsetDwords = 2;
    public const int ContextInitDwords = 1;
    public const int ResourceCreateBlobDwords = 6;
    public const int SyncCreateDwords = 2;
    public const int SyncUnrefDwords = 1;
    public const int SyncReadDwords = 1;
    public const int SyncWriteDwords = 3;

    /// <summary>SYNC_WAIT payload: flags, timeout_ms, then <see cref="SyncEntryDwords"/> per sync.</summary>
    public const int SyncWaitHeaderDwords = 2;

    /// <summary>A sync reference on the wire: sync_id, value_lo, value_hi.</summary>
    public const int SyncEntryDwords = 3;

    /// <summary>SYNC_WAIT timeout that never expires.</summary>
    public const uint InfiniteTimeoutMs = uint.MaxValue;

    /// <summary>Timelines the server keeps per context; SUBMIT_CMD2 rejects ring_idx ≥ this.</summary>
    public const uint MaxTimelineCount = 64;

    /// <summary>
    /// SUBMIT_CMD2 batch header: flags, cmd_offset, cmd_size, sync_offset, sync_count, ring_idx
    /// (offsets and sizes in dwords from the payload start). Mesa writes headers 6 dwords apart
    /// but the server reads batch n at dword <c>1 + 8n</c> (§6.3): they agree only for batch 0,
    /// so a client sends exactly one batch.
    /// </summary>
    public const int SubmitBatchHeaderDwords = 6;

    /// <summary>The server's stride between batch headers (see <see cref="SubmitBatchHeaderDwords"/>).</summary>
    public const int ServerSubmitBatchStrideDwords = 8;

    /// <summary>Payload dword where a one-batch SUBMIT_CMD2's command stream starts (batch_count + one header).</summary>
    public const int SingleBatchCommandOffsetDwords = 1 + SubmitBatchHeaderDwords;

    /// <summary>fd-carrying replies are followed by one data byte sent with the SCM_RIGHTS message (§6.1).</summary>
    public const int FdMessageDataBytes = 1;

    /// <summary>The C name without its <c>VCMD_</c> prefix, for logs and errors (no allocation).</summary>
    public static string Name(VtestCommand command) => command switch
    {
        VtestCommand.ResourceUnref => "RESOURCE_UNREF",
        VtestCommand.ResourceBusyWait => "RESOURCE_BUSY_WAIT",
        VtestCommand.CreateRenderer => "CREATE_RENDERER",
        VtestCommand.PingProtocolVersion => "PING_PROTOCOL_VERSION",
        VtestCommand.ProtocolVersion => "PROTOCOL_VERSION",
        VtestCommand.GetParam => "GET_PARAM",
        VtestCommand.GetCapset => "GET_CAPSET",
        VtestCommand.ContextInit => "CONTEXT_INIT",
        VtestCommand.ResourceCreateBlob => "RESOURCE_CREATE_BLOB",
        VtestCommand.SyncCreate => "SYNC_CREATE",
        VtestCommand.SyncUnref => "SYNC_UNREF",
        VtestCommand.SyncRead => "SYNC_READ",
        VtestCommand.SyncWrite => "SYNC_WRITE",
        VtestCommand.SyncWait => "SYNC_WAIT",
        VtestCommand.SubmitCmd2 => "SUBMIT_CMD2",
        _ => "command " + ((uint)command).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
