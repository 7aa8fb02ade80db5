using System.Numerics;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Commands = Venus.Protocol.Commands;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Query status feedback (as Mesa's venus does it): a query pool of a covered type gets, when a
/// command buffer first records a query command on it, a host-visible coherent buffer this driver
/// maps, one slot per query of (values + 1) 64-bit words: the results, then the availability. At
/// <c>vkEndCommandBuffer</c> of a primary command buffer, after the app's commands, every query the
/// buffer ended or wrote is copied into its slot (<c>vkCmdCopyQueryPoolResults</c> with 64-bit,
/// availability and wait), and every query it reset gets its slot zeroed (<c>vkCmdFillBuffer</c>), in
/// recording order, each followed by a barrier to host reads. <c>vkResetQueryPool</c> zeroes the slots
/// here and sends the reset without a reply. <c>vkGetQueryPoolResults</c> then reads the slots (with
/// <c>VK_QUERY_RESULT_WAIT_BIT</c>, polling them with the ring's relax): no round trip.
/// <para>
/// Where this differs from Mesa: Mesa appends the copies at submit time, in a command buffer of its
/// own, and merges the records of secondary command buffers into their primary; here they are
/// recorded into the app's primary command buffer, and a query command in a secondary command buffer,
/// in a command buffer of a queue family without graphics or compute, or on a device that enabled
/// multiview (where a query inside a render pass covers several consecutive queries) makes the pool
/// the host's to answer from then on (<see cref="GuestQueryPool.Covered"/>). Covered types: occlusion,
/// pipeline statistics, timestamp. Off with <c>VENUS_PERF=no_query_feedback</c>, and where the host
/// cannot share mapped memory.
/// </para>
/// </summary>
internal sealed unsafe class GuestQueryPool
{
    private readonly Lock _lock = new();
    private ulong _buffer, _memory;
    private nint _data;

    private GuestQueryPool(ulong id, uint count, uint values, bool saturate)
    {
        Id = id;
        Count = count;
        Values = values;
        Saturate = saturate;
    }

    public ulong Id { get; }
    public uint Count { get; }

    /// <summary>Result values per query (1, or one per pipeline statistic).</summary>
    public uint Values { get; }

    /// <summary>Whether 32-bit results saturate rather than wrap (the host driver's way, as Mesa detects it).</summary>
    public bool Saturate { get; }

    /// <summary>False once a recording the feedback cannot follow touched the pool: then the host answers.</summary>
    public volatile bool Covered = true;

    /// <summary>Bytes of one query's slot: the values and the availability, 64 bits each.</summary>
    public ulong SlotBytes => (Values + 1ul) * 8;

    public ulong Buffer => Volatile.Read(ref _buffer);

    /// <summary>The mapped slots, or null until a command buffer first recorded a query command on the pool.</summary>
    public ulong* Data => (ulong*)Volatile.Read(ref _data);

    /// <summary>
    /// The guest state of a pool of <paramref name="info"/>: its value count (for packing the host's
    /// answers), covered (feedback slots) where its type is occlusion, pipeline statistics or timestamp
    /// and feedback is on; null for types whose result layout this driver does not know.
    /// </summary>
    public static GuestQueryPool? For(Device dev, ulong id, VkQueryPoolCreateInfo* info)
    {
        if (info->queryCount == 0)
            return null;
        uint values;
        bool coverable = false;
        switch (info->queryType)
        {
            case VkQueryType.VK_QUERY_TYPE_OCCLUSION:
            case VkQueryType.VK_QUERY_TYPE_TIMESTAMP:
                values = 1;
                coverable = true;
                break;
            case VkQueryType.VK_QUERY_TYPE_PIPELINE_STATISTICS:
                values = (uint)BitOperations.PopCount(info->pipelineStatistics);
                if (values == 0)
                    return null;
                coverable = true;
                break;
            case VkQueryType.VK_QUERY_TYPE_TRANSFORM_FEEDBACK_STREAM_EXT:
                values = 2;
                break;
            case VkQueryType.VK_QUERY_TYPE_PRIMITIVES_GENERATED_EXT:
            case VkQueryType.VK_QUERY_TYPE_ACCELERATION_STRUCTURE_COMPACTED_SIZE_KHR:
            case VkQueryType.VK_QUERY_TYPE_ACCELERATION_STRUCTURE_SERIALIZATION_SIZE_KHR:
                values = 1;
                break;
            default:
                return null;
        }
        VkDriverId driver = dev.PhysicalDevice.HostDriver;
        bool saturate = driver is VkDriverId.VK_DRIVER_ID_MESA_LLVMPIPE or VkDriverId.VK_DRIVER_ID_ARM_PROPRIETARY or VkDriverId.VK_DRIVER_ID_MESA_TURNIP;
        var pool = new GuestQueryPool(id, info->queryCount, values, saturate);
        if (!coverable || PerfOptions.NoQueryFeedback || dev.MultiviewEnabled || dev.PhysicalDevice.CanMapFeedback is not null)
            pool.Covered = false;
        return pool;
    }

    /// <summary>
    /// The slots' buffer, made at the first query command recorded on the pool; false (and the pool
    /// left to the host) where it could not be made.
    /// </summary>
    public bool EnsureBuffer(Device dev)
    {
        if (Buffer != 0)
            return true;
        lock (_lock)
        {
            if (_buffer != 0)
                return true;
            if (!Covered)
                return false;
            try
            {
                MakeBuffer(dev);
                return true;
            }
            catch (VulkanResultException e)
            {
                IcdLog.Info($"query pool 0x{Id:x}: no feedback buffer ({e.Message}); the host answers its results");
                Covered = false;
                return false;
            }
        }
    }

    private void MakeBuffer(Device dev)
    {
        ulong size = SlotBytes * Count;
        byte* map = FeedbackPool.CreateMappedBuffer(dev, size, VkBufferUsageFlagBits.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
            "query feedback buffer", out ulong buffer, out ulong memory);
        new Span<byte>(map, checked((int)size)).Clear(); // every query unavailable until a copy says otherwise
        _memory = memory;
        Volatile.Write(ref _data, (nint)map);
        Volatile.Write(ref _buffer, buffer);
    }

    /// <summary>vkResetQueryPool: the slots of the range read unavailable at once.</summary>
    public void HostReset(uint first, uint count)
    {
        ulong* data = Data;
        if (data == null || first >= Count || count > Count - first)
            return;
        ulong words = Values + 1ul;
        new Span<ulong>(data + first * words, checked((int)(count * words))).Clear();
    }

    /// <summary>At vkDestroyQueryPool: the slots' buffer and memory.</summary>
    public void Release(Device dev)
    {
        lock (_lock)
        {
            if (_buffer == 0)
                return;
            ref VkDeviceFunctions fn = ref dev.Functions.Table;
            fn.vkDestroyBuffer(dev.Handle, _buffer, null);
            fn.vkFreeMemory(dev.Handle, _memory, null);
            _buffer = _memory = 0;
            _data = 0;
        }
    }

    /// <summary>
    /// vkGetQueryPoolResults from the slots, or false (nothing written) where the call is not one the
    /// slots can answer: the pool is not covered or has no slots yet, the range or the output does not
    /// fit, or a flag asks for something they do not hold.
    /// </summary>
    public bool TryGetResults(Device dev, uint first, uint count, nuint dataSize, void* pData, ulong stride, uint flags, out VkResult result)
    {
        const uint wait = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_WAIT_BIT;
        const uint wide = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_64_BIT;
        const uint availability = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_WITH_AVAILABILITY_BIT;
        const uint partial = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_PARTIAL_BIT;
        const uint known = wait | wide | availability | partial;
        result = VkResult.VK_SUCCESS;
        ulong* data = Data;
        if (!Covered || data == null || (flags & ~known) != 0 || count == 0 || first >= Count || count > Count - first || pData == null)
            return false;
        ulong width = (flags & wide) != 0 ? 8ul : 4ul;
        ulong written = (Values + ((flags & availability) != 0 ? 1ul : 0ul)) * width;
        if ((stride & (width - 1)) != 0 /* width is 4 or 8: no division on the status path */ || (count > 1 && stride < written) || (count - 1ul) * stride + written > dataSize)
            return false;
        ulong words = Values + 1ul;
        ulong* slots = data + first * words;
        if ((flags & wait) != 0)
        {
            var relax = new GuestRing.Relax(dev.Ring);
            for (uint i = 0; i < count; i++)
                while (Volatile.Read(ref slots[i * words + Values]) == 0)
                {
                    if (!Covered)
                        return false; // a recording the feedback cannot follow: the host waits
                    relax.Step();
                }
        }
        bool allAvailable = true;
        for (uint i = 0; i < count; i++)
        {
            ulong* slot = slots + i * words;
            bool available = Volatile.Read(ref slot[Values]) != 0;
            byte* dst = (byte*)pData + i * stride;
            if (!available)
                allAvailable = false;
            if (width == 8)
            {
                var out64 = (ulong*)dst;
                for (uint v = 0; v < Values; v++)
                    if (available || (flags & partial) != 0)
                        out64[v] = available ? slot[v] : 0;
                if ((flags & availability) != 0)
                    out64[Values] = available ? 1ul : 0ul;
            }
            else
            {
                var out32 = (uint*)dst;
                for (uint v = 0; v < Values; v++)
                    if (available || (flags & partial) != 0)
                        out32[v] = available ? Narrow(slot[v]) : 0;
                if ((flags & availability) != 0)
                    out32[Values] = available ? 1u : 0u;
            }
        }
        if (!allAvailable)
        {
            dev.Ring.CheckFatal(); // a lost device is an answer too
            // VK_NOT_READY is for calls that write nothing for unavailable queries; with PARTIAL every
            // query got a value (as drivers answer, anv and lavapipe among them; Mesa's venus says NOT_READY).
            if ((flags & partial) == 0)
                result = VkResult.VK_NOT_READY;
        }
        return true;
    }

    private uint Narrow(ulong value) => value > uint.MaxValue && Saturate ? uint.MaxValue : (uint)value;
}

/// <summary>One query command recorded on a covered pool: a copy of ended or written queries, or a reset.</summary>
internal readonly struct QueryRecord(GuestQueryPool pool, uint first, uint count, bool copy)
{
    public GuestQueryPool Pool { get; } = pool;
    public uint First { get; } = first;
    public uint Count { get; } = count;
    public bool Copy { get; } = copy;
}

/// <summary>Recording side of <see cref="GuestQueryPool"/>: what the query commands note, and what vkEndCommandBuffer adds.</summary>
internal static unsafe class QueryFeedback
{
    /// <summary>After a query command on <paramref name="queryPool"/> in <paramref name="cb"/>: notes it, or leaves the pool to the host.</summary>
    public static void Note(CommandBuffer cb, ulong queryPool, uint first, uint count, bool copy)
    {
        Device dev = cb.Device;
        if (Volatile.Read(ref dev.QueryPoolCount) == 0 || !dev.QueryPools.TryGetValue(queryPool, out GuestQueryPool? pool) || !pool.Covered)
            return;
        if (cb.Level != VkCommandBufferLevel.VK_COMMAND_BUFFER_LEVEL_PRIMARY || !CanCopy(dev, cb.Pool.QueueFamily))
        {
            IcdLog.Info($"query pool 0x{queryPool:x}: used in a {(cb.Level != VkCommandBufferLevel.VK_COMMAND_BUFFER_LEVEL_PRIMARY ? "secondary command buffer" : "queue family without graphics or compute")}; the host answers its results from now on");
            pool.Covered = false;
            return;
        }
        if (!pool.EnsureBuffer(dev))
            return;
        cb.AddQueryRecord(new QueryRecord(pool, first, count, copy));
    }

    private static bool CanCopy(Device dev, uint family)
    {
        ReadOnlySpan<VkQueueFamilyProperties> families = dev.PhysicalDevice.QueueFamilies;
        const uint copyQueues = (uint)(VkQueueFlagBits.VK_QUEUE_GRAPHICS_BIT | VkQueueFlagBits.VK_QUEUE_COMPUTE_BIT);
        return family < families.Length && (families[(int)family].queueFlags & copyQueues) != 0;
    }

    /// <summary>
    /// At vkEndCommandBuffer (outside any render pass): for each noted record, in order, merging
    /// neighbours of one pool and kind, a barrier, the copy or the fill of the slots, a barrier to host
    /// reads. A pool that lost its coverage since is skipped (its slots are no longer read).
    /// </summary>
    public static void EncodeRecords(CommandBuffer cb, ReadOnlySpan<QueryRecord> records)
    {
        int i = 0;
        while (i < records.Length)
        {
            QueryRecord r = records[i];
            uint first = r.First, end = r.First + r.Count;
            int j = i + 1;
            while (j < records.Length && records[j].Pool == r.Pool && records[j].Copy == r.Copy
                   && records[j].First <= end && records[j].First + records[j].Count >= first)
            {
                first = Math.Min(first, records[j].First);
                end = Math.Max(end, records[j].First + records[j].Count);
                j++;
            }
            i = j;
            GuestQueryPool pool = r.Pool;
            ulong buffer = pool.Buffer;
            if (!pool.Covered || buffer == 0 || end > pool.Count || first >= end)
                continue;
            EncodeOne(cb, pool, buffer, first, end - first, r.Copy);
        }
    }

    private static void EncodeOne(CommandBuffer cb, GuestQueryPool pool, ulong buffer, uint first, uint count, bool copy)
    {
        ulong h = cb.Handle;
        ulong slot = pool.SlotBytes;
        var before = new VkBufferMemoryBarrier
        {
            sType = VkBufferMemoryBarrier.SType,
            srcAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_TRANSFER_WRITE_BIT,
            dstAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_TRANSFER_WRITE_BIT,
            srcQueueFamilyIndex = uint.MaxValue,
            dstQueueFamilyIndex = uint.MaxValue,
            buffer = buffer,
            offset = first * slot,
            size = count * slot,
        };
        // A copy waits for its queries itself (WAIT_BIT); it must follow earlier writes of the slots.
        // A reset's fill must follow every earlier command that used the queries.
        uint src = copy ? (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_TRANSFER_BIT : (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
        const uint transfer = (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_TRANSFER_BIT;
        Barrier(cb, src, transfer, &before);
        VnEncoder e;
        if (copy)
        {
            const uint flags = (uint)(VkQueryResultFlagBits.VK_QUERY_RESULT_64_BIT | VkQueryResultFlagBits.VK_QUERY_RESULT_WITH_AVAILABILITY_BIT | VkQueryResultFlagBits.VK_QUERY_RESULT_WAIT_BIT);
            e = cb.Reserve(Commands.vkCmdCopyQueryPoolResults.Size(h, pool.Id, first, count, buffer, first * slot, slot, flags, cb.StreamFilter));
            Commands.vkCmdCopyQueryPoolResults.Encode(ref e, 0, h, pool.Id, first, count, buffer, first * slot, slot, flags);
        }
        else
        {
            e = cb.Reserve(Commands.vkCmdFillBuffer.Size(h, buffer, first * slot, count * slot, 0, cb.StreamFilter));
            Commands.vkCmdFillBuffer.Encode(ref e, 0, h, buffer, first * slot, count * slot, 0);
        }
        cb.Commit(in e);
        var after = before;
        after.dstAccessMask = (uint)(VkAccessFlagBits.VK_ACCESS_HOST_READ_BIT | VkAccessFlagBits.VK_ACCESS_HOST_WRITE_BIT);
        Barrier(cb, transfer, (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_HOST_BIT, &after);
    }

    private static void Barrier(CommandBuffer cb, uint src, uint dst, VkBufferMemoryBarrier* barrier)
    {
        VnEncoder e = cb.Reserve(Commands.vkCmdPipelineBarrier.Size(cb.Handle, src, dst, 0, 0, null, 1, barrier, 0, null, cb.StreamFilter));
        Commands.vkCmdPipelineBarrier.Encode(ref e, 0, cb.Handle, src, dst, 0, 0, null, 1, barrier, 0, null);
        cb.Commit(in e);
    }

    /// <summary>vkCreateQueryPool: the guest picks the id and does not wait (unless <c>no_async_create</c>); covered pools get their state.</summary>
    public static VkResult CreatePool(Device dev, VkQueryPoolCreateInfo* info, ulong* pPool)
    {
        ulong id = dev.Instance.NewObjectId();
        if (PerfOptions.NoAsyncCreate)
        {
            VkResult r = Calls.vkCreateQueryPool(dev.Ring, dev.Handle, info, null, &id);
            if (r < 0)
            {
                *pPool = 0;
                return r;
            }
        }
        else
        {
            Sends.vkCreateQueryPool(dev.Ring, dev.Handle, info, null, &id);
        }
        *pPool = id;
        if (GuestQueryPool.For(dev, id, info) is { } pool)
        {
            dev.QueryPools.Set(id, pool);
            Interlocked.Increment(ref dev.QueryPoolCount);
        }
        return VkResult.VK_SUCCESS;
    }

    public static void DestroyPool(Device dev, ulong queryPool)
    {
        if (queryPool == 0)
            return;
        Sends.vkDestroyQueryPool(dev.Ring, dev.Handle, queryPool, null);
        if (dev.QueryPools.TryGetValue(queryPool, out GuestQueryPool? pool) && dev.QueryPools.Remove(queryPool))
        {
            Interlocked.Decrement(ref dev.QueryPoolCount);
            pool.Release(dev);
        }
    }
}
