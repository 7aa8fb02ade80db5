using System.Diagnostics;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// A timeline semaphore with a feedback counter: an 8-byte slot that holds the semaphore's value as
/// far as the guest can tell. A submission that signals value V gets one command buffer of the
/// driver's appended to that batch: it copies V from a source slot (written by the guest before the
/// submit) into the counter, then marks itself done in a third slot, so it can be reused for a later
/// value. vkSignalSemaphore from the host writes the counter at once. <see cref="Covered"/> goes false
/// for good once a signal the feedback cannot follow happens (vkQueueBindSparse, a device-group or
/// protected batch, a queue family without transfer support): then the host answers.
/// </summary>
internal sealed unsafe class GuestTimeline(ulong id, FeedbackPool pool, FeedbackSlot counter)
{
    private const uint Done = 1, Pending = 0;
    private readonly List<SignalCommand> _signals = new();

    public ulong Id { get; } = id;
    public FeedbackSlot Counter { get; } = counter;
    public volatile bool Covered = true;

    public ulong Value => Volatile.Read(ref *(ulong*)Counter.Status);

    public void HostSignal(ulong value) => Volatile.Write(ref *(ulong*)Counter.Status, value);

    /// <summary>A command buffer of <paramref name="family"/> that sets the counter to <paramref name="value"/>: an idle one reused, else a new one.</summary>
    public ulong SignalCommandFor(uint family, ulong value)
    {
        lock (_signals)
        {
            SignalCommand? idle = null;
            foreach (SignalCommand s in _signals)
                if (s.Family == family && Volatile.Read(ref *s.Done.Status) == Done)
                {
                    idle = s;
                    break;
                }
            if (idle == null)
            {
                FeedbackSlot source = pool.Allocate(Done), done = pool.Allocate(Done);
                ulong cb;
                try
                {
                    cb = pool.RecordCopy(family, source, Counter, done, Done);
                }
                catch
                {
                    pool.Free(source);
                    pool.Free(done);
                    throw;
                }
                idle = new SignalCommand(family, cb, source, done);
                _signals.Add(idle);
            }
            Volatile.Write(ref *(ulong*)idle.Source.Status, value);
            Volatile.Write(ref *idle.Done.Status, Pending);
            return idle.CommandBuffer;
        }
    }

    /// <summary>At vkDestroySemaphore (no submission that uses it may be pending): the command buffers and slots go back.</summary>
    public void Release()
    {
        lock (_signals)
        {
            foreach (SignalCommand s in _signals)
            {
                pool.FreeCommandBuffer(s.Family, s.CommandBuffer);
                pool.Free(s.Source);
                pool.Free(s.Done);
            }
            _signals.Clear();
        }
        pool.Free(Counter);
    }

    private sealed class SignalCommand(uint family, ulong commandBuffer, FeedbackSlot source, FeedbackSlot done)
    {
        public uint Family { get; } = family;
        public ulong CommandBuffer { get; } = commandBuffer;
        public FeedbackSlot Source { get; } = source;
        public FeedbackSlot Done { get; } = done;
    }
}

/// <summary>The semaphore commands with timeline feedback (<see cref="GuestTimeline"/>); binary semaphores and uncovered timelines go to the host.</summary>
internal static unsafe class Timelines
{
    public static VkResult Create(Device dev, VkSemaphoreCreateInfo* info, ulong* pSemaphore)
    {
        ulong id = dev.Instance.NewObjectId();
        VkResult r = Calls.vkCreateSemaphore(dev.Ring, dev.Handle, info, null, &id);
        if (r < 0)
        {
            *pSemaphore = 0;
            return r;
        }
        *pSemaphore = id;
        ulong initial = 0;
        bool timeline = false;
        for (var s = (VkBaseInStructure*)info->pNext; s != null; s = s->pNext)
        {
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO)
            {
                var type = (VkSemaphoreTypeCreateInfo*)s;
                timeline = type->semaphoreType == VkSemaphoreType.VK_SEMAPHORE_TYPE_TIMELINE;
                initial = type->initialValue;
            }
            else if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO)
            {
                return r; // its payload can leave this driver: the host keeps the answer
            }
        }
        if (timeline && dev.SemaphoreFeedback is { } pool && pool.TryAllocate(dev, 0, out FeedbackSlot counter))
        {
            Volatile.Write(ref *(ulong*)counter.Status, initial);
            dev.Timelines[id] = new GuestTimeline(id, pool, counter);
        }
        return r;
    }

    public static void Destroy(Device dev, ulong semaphore)
    {
        if (semaphore == 0)
            return;
        if (dev.Timelines.TryRemove(semaphore, out GuestTimeline? t))
            t.Release();
        Generated.Sends.vkDestroySemaphore(dev.Ring, dev.Handle, semaphore, null);
    }

    public static VkResult CounterValue(Device dev, ulong semaphore, ulong* pValue)
    {
        if (dev.Timelines.TryGetValue(semaphore, out GuestTimeline? t) && t.Covered)
        {
            dev.Ring.ThrowIfLost();
            *pValue = t.Value;
            return VkResult.VK_SUCCESS;
        }
        return Calls.vkGetSemaphoreCounterValue(dev.Ring, dev.Handle, semaphore, pValue);
    }

    /// <summary>The counter takes the value at once; the host's signal follows without a reply (as Mesa's).</summary>
    public static VkResult Signal(Device dev, VkSemaphoreSignalInfo* info)
    {
        if (dev.Timelines.TryGetValue(info->semaphore, out GuestTimeline? t) && t.Covered)
        {
            dev.Ring.ThrowIfLost();
            t.HostSignal(info->value);
            Generated.Sends.vkSignalSemaphore(dev.Ring, dev.Handle, info);
            return VkResult.VK_SUCCESS;
        }
        return Calls.vkSignalSemaphore(dev.Ring, dev.Handle, info);
    }

    /// <summary>
    /// vkWaitSemaphores from the counters alone when every semaphore has one (else false: the
    /// caller asks the host): <paramref name="result"/> is VK_SUCCESS or VK_TIMEOUT.
    /// </summary>
    public static bool TryWait(Device dev, VkSemaphoreWaitInfo* info, ulong timeout, long deadline, out VkResult result)
    {
        result = VkResult.VK_TIMEOUT;
        if (dev.SemaphoreFeedback is null || info->semaphoreCount == 0)
            return false;
        for (uint i = 0; i < info->semaphoreCount; i++)
            if (!dev.Timelines.TryGetValue(info->pSemaphores[i], out GuestTimeline? t) || !t.Covered)
                return false;
        bool any = (info->flags & (uint)VkSemaphoreWaitFlagBits.VK_SEMAPHORE_WAIT_ANY_BIT) != 0;
        var relax = new GuestRing.Relax(dev.Ring);
        while (true)
        {
            uint reached = 0;
            for (uint i = 0; i < info->semaphoreCount; i++)
                if (dev.Timelines.TryGetValue(info->pSemaphores[i], out GuestTimeline? t) && t.Value >= info->pValues[i])
                    reached++;
            if (any ? reached != 0 : reached == info->semaphoreCount)
            {
                result = VkResult.VK_SUCCESS;
                return true;
            }
            if (timeout == 0 || Stopwatch.GetTimestamp() >= deadline)
            {
                dev.Ring.CheckHost();
                return true;
            }
            relax.Step();
        }
    }

    /// <summary>
    /// The command buffer that makes <paramref name="semaphore"/>'s counter follow a signal of
    /// <paramref name="value"/> on <paramref name="q"/>, or 0 where there is none to add: a binary
    /// semaphore, a timeline the host answers for, or a batch the command cannot join
    /// (<paramref name="fits"/> false), which leaves the timeline to the host from now on.
    /// </summary>
    public static ulong SignalCommand(Queue q, ulong semaphore, ulong value, bool fits)
    {
        if (!q.Device.Timelines.TryGetValue(semaphore, out GuestTimeline? t) || !t.Covered)
            return 0;
        if (!fits || q.Device.Feedback is not { } pool || !pool.CanFill(q.Family))
        {
            t.Covered = false;
            return 0;
        }
        return t.SignalCommandFor(q.Family, value);
    }

    /// <summary>vkQueueBindSparse's signals cannot carry a command: those timelines are the host's to answer from now on.</summary>
    public static void Uncover(Device dev, uint count, ulong* semaphores)
    {
        for (uint i = 0; i < count; i++)
            if (dev.Timelines.TryGetValue(semaphores[i], out GuestTimeline? t))
                t.Covered = false;
    }
}
