using Venus.Protocol.Ring;

namespace Venus.HostRenderer.Rings;

/// <summary>
/// Where a ring lives inside its shared-memory resource: the fields of <c>VkRingCreateInfoMESA</c>
/// (fact sheet §3.1) plus the optional <c>VkRingMonitorInfoMESA</c>. Every <c>*Offset</c> is relative
/// to <see cref="Offset"/> (as in virglrenderer's <c>vkr_ring_layout_init</c>); <see cref="Offset"/>
/// and <see cref="Size"/> place the ring inside the resource. Validate with
/// <see cref="HostRing.TryValidate(in RingLayout, ulong, out string)"/> before use.
/// </summary>
public struct RingLayout
{
    /// <summary>Largest accepted <see cref="BufferSize"/> (virglrenderer's <c>VKR_RING_BUFFER_MAX_SIZE</c>).</summary>
    public const ulong MaxBufferSize = 16u * 1024 * 1024;

    /// <summary>Mesa's <c>idleTimeout</c>: 5 ms, in nanoseconds.</summary>
    public const ulong MesaIdleTimeoutNs = 5_000_000;

    /// <summary>Mesa's <c>maxReportingPeriodMicroseconds</c>: 3 s.</summary>
    public const uint MesaMonitorPeriodMicroseconds = 3_000_000;

    /// <summary>Start of the ring inside the resource (<c>VkRingCreateInfoMESA.offset</c>).</summary>
    public ulong Offset;

    /// <summary>Bytes of the resource the ring may use (<c>VkRingCreateInfoMESA.size</c>).</summary>
    public ulong Size;

    public ulong HeadOffset;
    public ulong TailOffset;
    public ulong StatusOffset;
    public ulong BufferOffset;

    /// <summary>Size of the circular command buffer: a non-zero power of two, at most <see cref="MaxBufferSize"/>.</summary>
    public ulong BufferSize;

    public ulong ExtraOffset;
    public ulong ExtraSize;

    /// <summary>Nanoseconds without work before the ring thread sets IDLE and sleeps until notified.</summary>
    public ulong IdleTimeoutNs;

    /// <summary>
    /// <c>VkRingMonitorInfoMESA.maxReportingPeriodMicroseconds</c>, or null when the create info had no
    /// monitor pNext (0.10.4 guests). Zero is invalid.
    /// </summary>
    public uint? MonitorPeriodMicroseconds;

    /// <summary>
    /// The layout Mesa's <c>vn_ring_get_layout</c> produces (fact sheet §4.1): head 0, tail 64, status 128,
    /// buffer 192, extra right after the buffer; offset 0 and size = the whole shmem.
    /// </summary>
    public static RingLayout Mesa(ulong bufferSize, ulong extraSize = VnRing.MesaExtraSize, ulong idleTimeoutNs = MesaIdleTimeoutNs,
        uint? monitorPeriodMicroseconds = MesaMonitorPeriodMicroseconds) => new()
    {
        Offset = 0,
        Size = VnRing.MesaBufferOffset + bufferSize + extraSize,
        HeadOffset = VnRing.MesaHeadOffset,
        TailOffset = VnRing.MesaTailOffset,
        StatusOffset = VnRing.MesaStatusOffset,
        BufferOffset = VnRing.MesaBufferOffset,
        BufferSize = bufferSize,
        ExtraOffset = 192 + bufferSize,
        ExtraSize = extraSize,
        IdleTimeoutNs = idleTimeoutNs,
        MonitorPeriodMicroseconds = monitorPeriodMicroseconds,
    };

    /// <summary>Bytes of shared memory <see cref="Mesa"/> needs (128 KiB buffer + 4 extra → 131 268).</summary>
    public readonly ulong RequiredResourceSize => Offset + Size;
}
