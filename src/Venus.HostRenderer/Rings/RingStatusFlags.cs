namespace Venus.HostRenderer.Rings;

/// <summary>
/// <c>VkRingStatusFlagBitsMESA</c> (fact sheet §3.1, §4.6): the bits of a ring's status word. The host
/// sets them with an atomic fetch-or; the host (IDLE) and the guest (ALIVE) clear them with fetch-and.
/// </summary>
[Flags]
public enum RingStatusFlags : uint
{
    None = 0,

    /// <summary>The ring thread is asleep; the guest must send <c>vkNotifyRingMESA</c> after publishing a tail.</summary>
    Idle = 0x1,

    /// <summary>The context is dead; a Mesa guest aborts when it sees this.</summary>
    Fatal = 0x2,

    /// <summary>Set by the context's ring monitor every period; the guest's watchdog clears it and expects it back.</summary>
    Alive = 0x4,
}
