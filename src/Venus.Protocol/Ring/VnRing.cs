using System.Runtime.CompilerServices;
using Venus.Native;
using Venus.Protocol.Vulkan;

namespace Venus.Protocol.Ring;

/// <summary>
/// <c>VkRingStatusFlagBitsMESA</c> (venus-protocol.md §3.1, §4.6), the generated enum's values under
/// short names: the bits of a ring's status word. The host sets them with an atomic fetch-or; the
/// host (IDLE) and the guest (ALIVE) clear them with fetch-and.
/// </summary>
[Flags]
public enum RingStatusFlags : uint
{
    None = VkRingStatusFlagBitsMESA.VK_RING_STATUS_NONE_MESA,

    /// <summary>The ring thread is asleep; the guest must send <c>vkNotifyRingMESA</c> after publishing a tail.</summary>
    Idle = VkRingStatusFlagBitsMESA.VK_RING_STATUS_IDLE_BIT_MESA,

    /// <summary>The context is dead; a Mesa guest aborts when it sees this.</summary>
    Fatal = VkRingStatusFlagBitsMESA.VK_RING_STATUS_FATAL_BIT_MESA,

    /// <summary>Set by the context's ring monitor every period; the guest's watchdog clears it and expects it back.</summary>
    Alive = VkRingStatusFlagBitsMESA.VK_RING_STATUS_ALIVE_BIT_MESA,
}

/// <summary>The ring facts the guest and the host share: Mesa's layout, the wrap-aware seqno compare, the back-off sleep.</summary>
public static unsafe class VnRing
{
    /// <summary>Mesa's <c>vn_ring_get_layout</c> (venus-protocol.md §4.1): head, tail and status each on their own cache line, then the buffer.</summary>
    public const uint MesaHeadOffset = 0, MesaTailOffset = 64, MesaStatusOffset = 128, MesaBufferOffset = 192;

    /// <summary>The extra region Mesa puts right after the buffer (one u32).</summary>
    public const uint MesaExtraSize = 4;

    /// <summary>Whether a head at <paramref name="current"/> has passed <paramref name="seqno"/>, across the u32 wrap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool SeqnoReached(uint current, uint seqno) => (int)(current - seqno) >= 0;

    /// <summary>Whether <paramref name="seqno"/> comes strictly after <paramref name="current"/>, across the u32 wrap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool SeqnoAfter(uint seqno, uint current) => (int)(seqno - current) > 0;

    private static bool s_native = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    /// <summary>
    /// Sleeps about <paramref name="microseconds"/> µs in one nanosleep (an interrupted sleep just ends
    /// early), for the back-off of both sides' ring waits (Thread.Sleep has 1 ms granularity).
    /// </summary>
    public static void SleepMicroseconds(long microseconds)
    {
        if (microseconds <= 0)
            return;
        if (s_native)
        {
            try
            {
                var ts = new Libc.Timespec
                {
                    tv_sec = (nint)(microseconds / 1_000_000),
                    tv_nsec = (nint)(microseconds % 1_000_000 * 1000),
                };
                Libc.NanoSleep(&ts, null);
                return;
            }
            catch (EntryPointNotFoundException) { s_native = false; }
            catch (DllNotFoundException) { s_native = false; }
        }

        if (microseconds >= 1000)
            Thread.Sleep((int)Math.Min(microseconds / 1000, int.MaxValue));
        else
            Thread.Sleep(0);
    }
}
