using System.Diagnostics;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Host waits done the way Mesa's driver does them (venus-protocol.md §8.5): the host's ring thread
/// must never block (virglrenderer refuses waits with a timeout), so the guest polls with a zero
/// timeout and relaxes between polls — spin, yield, growing sleeps — checking the host's health.
/// </summary>
internal static unsafe class Sync
{
    public static VkResult WaitFences(Device device, uint count, ulong* fences, uint waitAll, ulong timeout) =>
        ExternalSync.AnyImported
            ? ExternalSync.WaitFences(device, count, fences, waitAll, timeout) // imported sync_fd payloads (ExternalSync.cs)
            : WaitFencesDirect(device, count, fences, waitAll, timeout);

    public static VkResult WaitFencesDirect(Device device, uint count, ulong* fences, uint waitAll, ulong timeout)
    {
        GuestRing ring = device.Ring;
        long deadline = Deadline(timeout);
        if (Fences.TryWait(device, count, fences, waitAll, timeout, deadline, out VkResult fed))
            return fed;
        var relax = new GuestRing.Relax(ring);
        while (true)
        {
            VkResult r = Calls.vkWaitForFences(ring, device.Handle, count, fences, waitAll, 0);
            if (r != VkResult.VK_TIMEOUT)
                return r;
            if (timeout == 0 || Stopwatch.GetTimestamp() >= deadline)
                return VkResult.VK_TIMEOUT;
            relax.Step();
        }
    }

    public static VkResult WaitSemaphores(Device device, VkSemaphoreWaitInfo* info, ulong timeout)
    {
        GuestRing ring = device.Ring;
        long deadline = Deadline(timeout);
        if (Timelines.TryWait(device, info, timeout, deadline, out VkResult fed))
            return fed;
        var relax = new GuestRing.Relax(ring);
        while (true)
        {
            VkResult r = Calls.vkWaitSemaphores(ring, device.Handle, info, 0);
            if (r != VkResult.VK_TIMEOUT)
                return r;
            if (timeout == 0 || Stopwatch.GetTimestamp() >= deadline)
                return VkResult.VK_TIMEOUT;
            relax.Step();
        }
    }

    private static long Deadline(ulong timeoutNs)
    {
        if (timeoutNs >= long.MaxValue / 2)
            return long.MaxValue;
        long ticks = (long)((double)timeoutNs * Stopwatch.Frequency / 1e9);
        long now = Stopwatch.GetTimestamp();
        return ticks > long.MaxValue - now ? long.MaxValue : now + ticks;
    }
}
