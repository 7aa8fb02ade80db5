using Venus.GuestIcd.Transport;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Commands = Venus.Protocol.Commands;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Status feedback (what Mesa's venus calls feedback buffers): a host-visible, coherent buffer per
/// device that this driver maps, cut into 8-byte slots. A fence owns a slot; when the app submits
/// with that fence, this driver adds a small command buffer of its own to the submission (a
/// barrier after all earlier work, vkCmdFillBuffer of the slot with VK_SUCCESS, a barrier to host
/// reads), so the fence's status is a read of shared memory instead of a round trip. The guest
/// writes VK_NOT_READY into the slot at vkResetFences. Where the feedback cannot apply (a
/// vkQueueBindSparse, a device-group or protected batch, a queue family without transfer support)
/// the fence is marked and its status comes from the host until the next reset.
/// Off with <c>VENUS_PERF=no_fence_feedback</c>, and on hosts that cannot share mapped memory
/// (<see cref="PhysicalDevice.CanMapFeedback"/>).
/// </summary>
internal sealed unsafe class FeedbackPool
{
    public const int SlotBytes = 8;
    private const int SlotsPerChunk = 512; // 4 KiB buffers
    public const uint Signaled = 0; // VK_SUCCESS
    public const uint Unsignaled = 1; // VK_NOT_READY

    private readonly Device _device;
    private readonly Lock _lock = new();
    private readonly List<(ulong Buffer, ulong Memory)> _chunks = new();
    private readonly Stack<FeedbackSlot> _free = new();
    private readonly ulong[] _commandPools; // per queue family, 0 until needed
    private readonly bool[] _canFill;

    private FeedbackPool(Device device)
    {
        _device = device;
        ReadOnlySpan<VkQueueFamilyProperties> families = device.PhysicalDevice.QueueFamilies;
        _commandPools = new ulong[families.Length];
        _canFill = new bool[families.Length];
        const uint fillQueues = (uint)(VkQueueFlagBits.VK_QUEUE_GRAPHICS_BIT | VkQueueFlagBits.VK_QUEUE_COMPUTE_BIT | VkQueueFlagBits.VK_QUEUE_TRANSFER_BIT);
        for (int i = 0; i < families.Length; i++)
            _canFill[i] = (families[i].queueFlags & fillQueues) != 0;
    }

    /// <summary>
    /// The status feedback of <paramref name="device"/> (fences, timeline semaphores, events), or null
    /// where every kind is switched off or the host cannot share mapped memory (said once in the log).
    /// </summary>
    public static FeedbackPool? ForDevice(Device device)
    {
        if (PerfOptions.NoFenceFeedback && PerfOptions.NoSemaphoreFeedback && PerfOptions.NoEventFeedback)
            return null;
        if (device.PhysicalDevice.CanMapFeedback is { } why)
        {
            IcdLog.Info($"status feedback off (fences, semaphores, events ask the host): {why}");
            return null;
        }
        return new FeedbackPool(device);
    }

    private ref VkDeviceFunctions Fn => ref _device.Functions.Table;

    /// <summary>Whether a queue of <paramref name="family"/> can run the fill.</summary>
    public bool CanFill(uint family) => family < _canFill.Length && _canFill[family];

    public FeedbackSlot Allocate(uint initial)
    {
        FeedbackSlot slot;
        lock (_lock)
        {
            if (_free.Count == 0)
                Grow();
            slot = _free.Pop();
        }
        Volatile.Write(ref *slot.Status, initial);
        return slot;
    }

    /// <summary>
    /// A slot for a new object of <paramref name="dev"/>, or false where the buffer could not grow:
    /// then the object, and the device's later ones, work through the host.
    /// </summary>
    public bool TryAllocate(Device dev, uint initial, out FeedbackSlot slot)
    {
        try
        {
            slot = Allocate(initial);
            return true;
        }
        catch (VulkanResultException e)
        {
            dev.DisableFeedback(e.Message);
            slot = default;
            return false;
        }
    }

    public void Free(FeedbackSlot slot)
    {
        lock (_lock)
            _free.Push(slot);
    }

    /// <summary>One more buffer of slots: buffer, host-visible coherent memory, bind, map.</summary>
    private void Grow()
    {
        byte* map = CreateMappedBuffer(_device, SlotBytes * SlotsPerChunk,
            VkBufferUsageFlagBits.VK_BUFFER_USAGE_TRANSFER_DST_BIT | VkBufferUsageFlagBits.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
            "feedback buffer", out ulong buffer, out ulong memory);
        _chunks.Add((buffer, memory));
        for (int i = SlotsPerChunk - 1; i >= 0; i--)
            _free.Push(new FeedbackSlot(buffer, (ulong)(i * SlotBytes), (uint*)(map + i * SlotBytes)));
    }

    /// <summary>
    /// A buffer of <paramref name="size"/> bytes the device writes and this driver reads: bound to
    /// host-visible coherent memory of its own and mapped (status feedback, query feedback). On any
    /// failure what was made is destroyed and a <see cref="VulkanResultException"/> names the step.
    /// </summary>
    internal static byte* CreateMappedBuffer(Device dev, ulong size, VkBufferUsageFlagBits usage, string purpose, out ulong buffer, out ulong memory)
    {
        ref VkDeviceFunctions fn = ref dev.Functions.Table;
        ulong device = dev.Handle;
        var info = new VkBufferCreateInfo
        {
            sType = VkBufferCreateInfo.SType,
            size = size,
            usage = (uint)usage,
            sharingMode = VkSharingMode.VK_SHARING_MODE_EXCLUSIVE,
        };
        ulong b, m = 0;
        Check(fn.vkCreateBuffer(device, &info, null, &b), $"{purpose}: vkCreateBuffer");
        try
        {
            VkMemoryRequirements req;
            fn.vkGetBufferMemoryRequirements(device, b, &req);
            int type = dev.PhysicalDevice.CoherentMappableType(req.memoryTypeBits);
            if (type < 0)
                throw new VulkanResultException(VkResult.VK_ERROR_OUT_OF_DEVICE_MEMORY, $"{purpose}: no host-visible coherent memory type in bits 0x{req.memoryTypeBits:x}");
            var allocate = new VkMemoryAllocateInfo { sType = VkMemoryAllocateInfo.SType, allocationSize = req.size, memoryTypeIndex = (uint)type };
            Check(fn.vkAllocateMemory(device, &allocate, null, &m), $"{purpose}: vkAllocateMemory");
            Check(fn.vkBindBufferMemory(device, b, m, 0), $"{purpose}: vkBindBufferMemory");
            void* map;
            Check(fn.vkMapMemory(device, m, 0, ulong.MaxValue, 0, &map), $"{purpose}: vkMapMemory");
            buffer = b;
            memory = m;
            return (byte*)map;
        }
        catch
        {
            fn.vkDestroyBuffer(device, b, null);
            if (m != 0)
                fn.vkFreeMemory(device, m, null);
            throw;
        }
    }

    /// <summary>A command buffer of <paramref name="family"/> that writes <paramref name="value"/> into <paramref name="slot"/> after all earlier work.</summary>
    public ulong RecordFill(uint family, FeedbackSlot slot, uint value) =>
        RecordOwn(family, slot, default, value);

    /// <summary>
    /// A command buffer of <paramref name="family"/> that, after all earlier work, copies the 8 bytes
    /// of <paramref name="source"/> into <paramref name="target"/>, then writes <paramref name="doneValue"/>
    /// into <paramref name="done"/> (how the guest knows the command buffer is idle again).
    /// </summary>
    public ulong RecordCopy(uint family, FeedbackSlot source, FeedbackSlot target, FeedbackSlot done, uint doneValue) =>
        RecordOwn(family, done, (source, target), doneValue);

    private ulong RecordOwn(uint family, FeedbackSlot fill, (FeedbackSlot From, FeedbackSlot To) copy, uint value)
    {
        ulong dev = _device.Handle;
        lock (_lock) // the pool is externally synchronised
        {
            if (_commandPools[family] == 0)
            {
                var poolInfo = new VkCommandPoolCreateInfo
                {
                    sType = VkCommandPoolCreateInfo.SType,
                    flags = (uint)VkCommandPoolCreateFlagBits.VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                    queueFamilyIndex = family,
                };
                ulong pool;
                Check(Fn.vkCreateCommandPool(dev, &poolInfo, null, &pool), "feedback command buffer: vkCreateCommandPool");
                _commandPools[family] = pool;
            }
            var alloc = new VkCommandBufferAllocateInfo
            {
                sType = VkCommandBufferAllocateInfo.SType,
                commandPool = _commandPools[family],
                level = VkCommandBufferLevel.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                commandBufferCount = 1,
            };
            ulong cb;
            Check(Fn.vkAllocateCommandBuffers(dev, &alloc, &cb), "feedback command buffer: vkAllocateCommandBuffers");
            var begin = new VkCommandBufferBeginInfo { sType = VkCommandBufferBeginInfo.SType, flags = (uint)VkCommandBufferUsageFlagBits.VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT };
            Check(Fn.vkBeginCommandBuffer(cb, &begin), "feedback command buffer: vkBeginCommandBuffer");
            CommandBuffer recorder = CommandBuffer.FromHandle(cb);
            if (copy.From.Buffer != 0)
                EncodeWrite(recorder, copy.From, copy.To, 0);
            EncodeWrite(recorder, default, fill, value);
            Check(Fn.vkEndCommandBuffer(cb), "feedback command buffer: vkEndCommandBuffer");
            return cb;
        }
    }

    /// <summary>
    /// Encodes into <paramref name="cb"/>: a barrier after all earlier commands, then a write of
    /// <paramref name="target"/> (a copy of <paramref name="source"/>'s 8 bytes when it has a buffer,
    /// else a 4-byte fill with <paramref name="value"/>), then a barrier that makes it visible to host
    /// reads. Outside a render pass only (where vkCmdSetEvent and vkCmdResetEvent are).
    /// </summary>
    public static void EncodeWrite(CommandBuffer cb, FeedbackSlot source, FeedbackSlot target, uint value)
    {
        ulong h = cb.Handle;
        var before = new VkMemoryBarrier
        {
            sType = VkMemoryBarrier.SType,
            srcAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_MEMORY_WRITE_BIT,
            dstAccessMask = (uint)(VkAccessFlagBits.VK_ACCESS_TRANSFER_WRITE_BIT | VkAccessFlagBits.VK_ACCESS_TRANSFER_READ_BIT),
        };
        const uint all = (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
        const uint transfer = (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_TRANSFER_BIT;
        EncodeBarrier(cb, all, transfer, &before, null);
        VnEncoder e;
        if (source.Buffer != 0)
        {
            var region = new VkBufferCopy { srcOffset = source.Offset, dstOffset = target.Offset, size = SlotBytes };
            e = cb.Reserve(Commands.vkCmdCopyBuffer.Size(h, source.Buffer, target.Buffer, 1, &region, cb.StreamFilter));
            Commands.vkCmdCopyBuffer.Encode(ref e, 0, h, source.Buffer, target.Buffer, 1, &region);
        }
        else
        {
            e = cb.Reserve(Commands.vkCmdFillBuffer.Size(h, target.Buffer, target.Offset, 4, value, cb.StreamFilter));
            Commands.vkCmdFillBuffer.Encode(ref e, 0, h, target.Buffer, target.Offset, 4, value);
        }
        cb.Commit(in e);
        var after = new VkBufferMemoryBarrier
        {
            sType = VkBufferMemoryBarrier.SType,
            srcAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_TRANSFER_WRITE_BIT,
            dstAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_HOST_READ_BIT,
            srcQueueFamilyIndex = uint.MaxValue,
            dstQueueFamilyIndex = uint.MaxValue,
            buffer = target.Buffer,
            offset = target.Offset,
            size = SlotBytes,
        };
        EncodeBarrier(cb, transfer, (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_HOST_BIT, null, &after);
    }

    private static void EncodeBarrier(CommandBuffer cb, uint src, uint dst, VkMemoryBarrier* memory, VkBufferMemoryBarrier* buffer)
    {
        uint nm = memory == null ? 0u : 1u, nb = buffer == null ? 0u : 1u;
        VnEncoder e = cb.Reserve(Commands.vkCmdPipelineBarrier.Size(cb.Handle, src, dst, 0, nm, memory, nb, buffer, 0, null, cb.StreamFilter));
        Commands.vkCmdPipelineBarrier.Encode(ref e, 0, cb.Handle, src, dst, 0, nm, memory, nb, buffer, 0, null);
        cb.Commit(in e);
    }

    public void FreeCommandBuffer(uint family, ulong cb)
    {
        lock (_lock)
            Fn.vkFreeCommandBuffers(_device.Handle, _commandPools[family], 1, &cb);
    }

    /// <summary>Before vkDestroyDevice: the pools (with their command buffers), buffers and memory.</summary>
    public void Destroy()
    {
        ulong dev = _device.Handle;
        lock (_lock)
        {
            foreach (ulong pool in _commandPools)
                if (pool != 0)
                    Fn.vkDestroyCommandPool(dev, pool, null);
            foreach ((ulong buffer, ulong memory) in _chunks)
            {
                Fn.vkDestroyBuffer(dev, buffer, null);
                Fn.vkFreeMemory(dev, memory, null);
            }
            _chunks.Clear();
            _free.Clear();
        }
    }

    private static void Check(VkResult r, string what)
    {
        if (r != VkResult.VK_SUCCESS)
            throw new VulkanResultException(r, $"{what} failed");
    }
}

/// <summary>One 8-byte slot of a feedback buffer: where the device writes (buffer, offset) and where the guest reads.</summary>
internal readonly unsafe struct FeedbackSlot(ulong buffer, ulong offset, uint* status)
{
    public ulong Buffer { get; } = buffer;
    public ulong Offset { get; } = offset;
    public uint* Status { get; } = status;
}

/// <summary>
/// A VkFence with a feedback slot. <see cref="Covered"/> is false from a submission the feedback
/// could not cover until the next reset: then the host answers.
/// </summary>
internal sealed unsafe class GuestFence(ulong id, FeedbackSlot slot, int families)
{
    private readonly ulong[] _fills = new ulong[families];

    public ulong Id { get; } = id;
    public FeedbackSlot Slot { get; } = slot;
    public volatile bool Covered = true;

    /// <summary>The queue it was last submitted to, whose retire signal a long wait for it sleeps on.</summary>
    public volatile Queue? LastQueue;

    public bool IsSignaled => Volatile.Read(ref *Slot.Status) == FeedbackPool.Signaled;

    /// <summary>The fill command buffer for <paramref name="family"/>, recorded on first use.</summary>
    public ulong FillFor(FeedbackPool pool, uint family)
    {
        ulong cb = Volatile.Read(ref _fills[family]);
        if (cb != 0)
            return cb;
        cb = pool.RecordFill(family, Slot, FeedbackPool.Signaled);
        Volatile.Write(ref _fills[family], cb); // a fence is externally synchronised: one recorder
        return cb;
    }

    public void Reset()
    {
        Volatile.Write(ref *Slot.Status, FeedbackPool.Unsignaled);
        Covered = true;
    }

    public void Release(FeedbackPool pool)
    {
        for (uint f = 0; f < _fills.Length; f++)
            if (_fills[f] != 0)
                pool.FreeCommandBuffer(f, _fills[f]);
        pool.Free(Slot);
    }
}

/// <summary><c>VENUS_PERF</c>: comma-separated switches that turn a fast path off (for comparison and diagnosis).</summary>
internal static class PerfOptions
{
    private static readonly string[] Switches =
        (Environment.GetEnvironmentVariable("VENUS_PERF") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary><c>no_fence_feedback</c>: fence status and waits ask the host (a round trip per query).</summary>
    public static readonly bool NoFenceFeedback = Switches.Contains("no_fence_feedback");

    /// <summary><c>no_semaphore_feedback</c>: timeline semaphore values and waits ask the host.</summary>
    public static readonly bool NoSemaphoreFeedback = Switches.Contains("no_semaphore_feedback");

    /// <summary><c>no_event_feedback</c>: event status asks the host, and host sets and resets wait for its reply.</summary>
    public static readonly bool NoEventFeedback = Switches.Contains("no_event_feedback");

    /// <summary><c>no_query_feedback</c>: query results come from the host (a round trip per vkGetQueryPoolResults, polled with WAIT_BIT).</summary>
    public static readonly bool NoQueryFeedback = Switches.Contains("no_query_feedback");

    /// <summary><c>no_async_create</c>: object creation waits for the host's answer (buffers, views, samplers, layouts, ...).</summary>
    public static readonly bool NoAsyncCreate = Switches.Contains("no_async_create");

    /// <summary>
    /// <c>thread_rings</c>: every call with a reply goes through a call ring of its own (a ring per call
    /// in flight, as the per-thread rings before issue 12's thread work), not only the slow ones. Off by
    /// default: on the 2-core lavapipe host it made round trips slower (more host ring threads for the
    /// same cores; README, issue 12).
    /// </summary>
    public static readonly bool ThreadRings = Switches.Contains("thread_rings");

    /// <summary>
    /// <c>serial_calls</c>: a call keeps the instance ring's lock while it waits for the host, so every
    /// other thread waits behind its round trip, and slow calls stay on the instance ring (the
    /// behaviour before issue 12's thread work, for comparison).
    /// </summary>
    public static readonly bool SerialCalls = Switches.Contains("serial_calls");

    /// <summary><c>spin_relax</c>: waits on the host spin for some 40 µs before yielding (the relax before issue 12's round-trip work).</summary>
    public static readonly bool SpinRelax = Switches.Contains("spin_relax");

    /// <summary><c>no_host_wake</c>: long fence waits poll their slots with growing sleeps instead of sleeping on the host's retire signal (<see cref="HostWake"/>).</summary>
    public static readonly bool NoHostWake = Switches.Contains("no_host_wake");
}

/// <summary>The fence commands with feedback (see <see cref="FeedbackPool"/>); without it they ask the host as before.</summary>
internal static unsafe class Fences
{
    public static VkResult Create(Device dev, VkFenceCreateInfo* info, ulong* pFence)
    {
        ulong id = dev.Instance.NewObjectId();
        VkFenceCreateInfo hostInfo = *info;
        hostInfo.pNext = ExternalSync.WithoutFenceExport(info->pNext); // SYNC_FD export is this driver's (ExternalSync.cs)
        VkResult r = Generated.Calls.vkCreateFence(dev.Ring, dev.Handle, &hostInfo, null, &id);
        if (r < 0)
        {
            *pFence = 0;
            return r;
        }
        *pFence = id;
        if (dev.FenceFeedback is { } pool)
        {
            bool signaled = (info->flags & (uint)VkFenceCreateFlagBits.VK_FENCE_CREATE_SIGNALED_BIT) != 0;
            if (pool.TryAllocate(dev, signaled ? FeedbackPool.Signaled : FeedbackPool.Unsignaled, out FeedbackSlot slot))
                dev.Fences[id] = new GuestFence(id, slot, dev.PhysicalDevice.QueueFamilies.Length);
        }
        return r;
    }

    public static void Destroy(Device dev, ulong fence)
    {
        if (fence == 0)
            return;
        ExternalSync.Restore(dev, fence);
        if (dev.Fences.TryRemove(fence, out GuestFence? f) && dev.FenceFeedback is { } pool)
            f.Release(pool);
        Generated.Sends.vkDestroyFence(dev.Ring, dev.Handle, fence, null);
    }

    /// <summary>The slots go back to VK_NOT_READY at once; the host's reset follows in the ring without a reply (as Mesa's).</summary>
    public static VkResult Reset(Device dev, uint count, ulong* fences)
    {
        dev.Ring.ThrowIfLost();
        for (uint i = 0; i < count; i++)
        {
            ExternalSync.Restore(dev, fences[i]);
            if (dev.Fences.TryGetValue(fences[i], out GuestFence? f))
                f.Reset();
        }
        Generated.Sends.vkResetFences(dev.Ring, dev.Handle, count, fences);
        return VkResult.VK_SUCCESS;
    }

    public static VkResult Status(Device dev, ulong fence)
    {
        if (ExternalSync.ImportedStatus(dev, fence) is { } imported)
            return imported;
        if (dev.Fences.TryGetValue(fence, out GuestFence? f) && f.Covered)
        {
            if (f.IsSignaled)
                return VkResult.VK_SUCCESS;
            dev.Ring.CheckHost(); // a lost device is an answer too
            return VkResult.VK_NOT_READY;
        }
        return Generated.Calls.vkGetFenceStatus(dev.Ring, dev.Handle, fence);
    }

    /// <summary>
    /// vkWaitForFences from the slots alone when every fence has one (else false: the caller asks
    /// the host): <paramref name="result"/> is VK_SUCCESS or VK_TIMEOUT.
    /// </summary>
    public static bool TryWait(Device dev, uint count, ulong* fences, uint waitAll, ulong timeout, long deadline, out VkResult result)
    {
        result = VkResult.VK_TIMEOUT;
        if (dev.FenceFeedback is null)
            return false;
        for (uint i = 0; i < count; i++)
            if (!dev.Fences.TryGetValue(fences[i], out GuestFence? f) || !f.Covered)
                return false;
        var relax = new GuestRing.Relax(dev.Ring);
        long wakeAfter = System.Diagnostics.Stopwatch.GetTimestamp() + HostWake.AfterMs * System.Diagnostics.Stopwatch.Frequency / 1000;
        IRetireSignal? wake = null;
        bool asked = false, woke = false;
        try
        {
            while (true)
            {
                uint signaled = 0;
                Queue? pending = null;
                bool oneQueue = true;
                for (uint i = 0; i < count; i++)
                {
                    if (!dev.Fences.TryGetValue(fences[i], out GuestFence? f))
                        continue;
                    if (f.IsSignaled)
                    {
                        signaled++;
                        continue;
                    }
                    Queue? q = f.LastQueue;
                    oneQueue &= q is not null && (pending is null || pending == q);
                    pending ??= q;
                }
                if (waitAll != 0 ? signaled == count : signaled != 0)
                {
                    result = VkResult.VK_SUCCESS;
                    return true;
                }
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                if (timeout == 0 || now >= deadline)
                {
                    dev.Ring.CheckHost();
                    return true;
                }
                // A wait that has lasted HostWake.AfterMs sleeps on the host's retire signal when the
                // fences still pending were all submitted to one queue: one signal per wait, as the
                // queue's work retires in order; after it fired, the slots are read again and the wait
                // goes on polling (a fence reset and submitted again meanwhile).
                if (relax.Sleeping && now >= wakeAfter && !woke && oneQueue && pending is not null)
                {
                    if (!asked)
                    {
                        asked = true;
                        wake = HostWake.Begin(pending);
                    }
                    if (wake is not null)
                    {
                        // Divided first: an infinite timeout's deadline is long.MaxValue, and (deadline - now) * 1000 would overflow.
                        long left = (deadline - now) / Math.Max(1, System.Diagnostics.Stopwatch.Frequency / 1000);
                        if (wake.Wait((int)Math.Clamp(left, 1, HostWake.ChunkMs)))
                        {
                            woke = true;
                            IcdLog.WaitInfo($"fence wait: the host's retire signal on ring_idx {pending.RingIdx} fired");
                        }
                        dev.Ring.CheckHost();
                        continue;
                    }
                }
                relax.Step();
            }
        }
        finally
        {
            wake?.Dispose();
        }
    }

    /// <summary>The fence's fill, or 0 where none applies (then the fence is left to the host until reset).</summary>
    public static ulong FillFor(Queue q, ulong fence, bool fits)
    {
        if (fence == 0 || !q.Device.Fences.TryGetValue(fence, out GuestFence? f) || q.Device.FenceFeedback is not { } pool)
            return 0;
        f.LastQueue = q;
        if (fits && pool.CanFill(q.Family))
            return f.FillFor(pool, q.Family);
        f.Covered = false;
        return 0;
    }
}
