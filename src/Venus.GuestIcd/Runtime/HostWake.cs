using Venus.GuestIcd.Transport;
using Venus.Protocol.Wire;
using Commands = Venus.Protocol.Commands;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Long fence waits sleep on something the host signals instead of polling with growing sleeps. A
/// fence wait that has lasted <see cref="AfterMs"/> asks the transport for a retire signal on the
/// timeline of the queue the fences went to (<see cref="IGuestTransport.SignalRetire"/>): a
/// virtqueue stream holding <c>vkWaitRingSeqnoMESA</c> for the ring's tail (so the host takes it only
/// after the submission the wait is for) goes on that queue's ring_idx, and the host signals it once
/// the queue's work submitted so far is done: over vtest a timeline sync that SYNC_WAIT's eventfd
/// reports, on virtio-gpu EXECBUFFER's out-fence. Both hosts do this (venus-host and virglrenderer,
/// Mesa's own path for external fences); the wait then sleeps in poll(2) until the host says so, in
/// chunks of <see cref="ChunkMs"/> between which the host's liveness is checked.
/// <c>VENUS_PERF=no_host_wake</c> turns it off.
/// </summary>
internal static class HostWake
{
    /// <summary>Longest single sleep on the signal before the wait checks the host and its deadline again.</summary>
    public const int ChunkMs = 20;

    /// <summary>
    /// How long a wait polls before it asks for the signal. Asking costs a socket round trip (SYNC_WAIT),
    /// and on the host a fence, a queue submission and, the first time, a timeline thread; a shorter
    /// wait is over sooner by polling: on the H100 the compute job's 0.3 ms wait took 1.3 ms when it
    /// asked from its first sleep on (native 0.37 ms in that run), 0.6 ms polling in an earlier run
    /// (native 0.25 ms).
    /// </summary>
    public const int AfterMs = 2;

    private static int s_logged;

    /// <summary>The retire signal for the work submitted to <paramref name="queue"/> so far, or null where there is none.</summary>
    public static IRetireSignal? Begin(Queue queue)
    {
        if (PerfOptions.NoHostWake || queue.RingIdx == 0 || queue.Device.NoHostWake)
            return null;
        GuestRing ring = queue.Ring;
        try
        {
            Span<byte> stream = stackalloc byte[32];
            var e = new VnEncoder(stream);
            Commands.vkWaitRingSeqnoMESA.Encode(ref e, 0, ring.RingId, ring.Published);
            IRetireSignal? signal = queue.Instance.Transport.SignalRetire(queue.RingIdx, e.Written);
            if (signal is not null && Interlocked.Exchange(ref s_logged, 1) == 0)
                IcdLog.Info($"long fence waits sleep on the host's retire signal (ring_idx {queue.RingIdx}, {queue.Instance.Transport.Name})");
            return signal;
        }
        catch (Exception ex) when (ex is not DeviceLostException)
        {
            // The transport refused (an old server, a closed socket): this device polls from now on;
            // a lost host is still reported by the wait's own liveness checks.
            queue.Device.NoHostWake = true;
            IcdLog.Error($"the host's retire signal is unavailable ({ex.GetType().Name}: {ex.Message}); fence waits poll their slots instead");
            return null;
        }
    }
}
