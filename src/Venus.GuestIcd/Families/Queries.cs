using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;
using CommandBuffer = Venus.GuestIcd.Runtime.CommandBuffer;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written query commands and the query vkCmd* hooks: pools with feedback slots (Runtime/QueryFeedback.cs). See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial VkResult vkCreateQueryPool(ulong device, VkQueryPoolCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pQueryPool)
    {
        try
        {
            return Icd.Trace(QueryFeedback.CreatePool(Dev(device), pCreateInfo, pQueryPool), "vkCreateQueryPool");
        }
        catch (Exception e)
        {
            *pQueryPool = 0;
            return Icd.Fail(e, "vkCreateQueryPool");
        }
    }

    internal static partial void vkDestroyQueryPool(ulong device, ulong queryPool, VkAllocationCallbacks* pAllocator)
    {
        QueryFeedback.DestroyPool(Dev(device), queryPool);
    }

    /// <summary>
    /// The slots (made here if the pool has none yet, so that the reset queries read unavailable
    /// without asking) go unavailable at once; the host's reset follows without a reply (as Mesa's).
    /// </summary>
    internal static partial void vkResetQueryPool(ulong device, ulong queryPool, uint firstQuery, uint queryCount)
    {
        var dev = Dev(device);
        if (dev.QueryPools.TryGetValue(queryPool, out GuestQueryPool? pool) && pool.Covered && pool.EnsureBuffer(dev))
            pool.HostReset(firstQuery, queryCount);
        Sends.vkResetQueryPool(dev.Ring, device, queryPool, firstQuery, queryCount);
    }

    /// <summary>
    /// From the pool's feedback slots where it has them; else from the host, where
    /// VK_QUERY_RESULT_WAIT_BIT would block the host's ring thread, so the wait happens here instead,
    /// polling without the bit while the host answers VK_NOT_READY.
    /// </summary>
    internal static partial VkResult vkGetQueryPoolResults(ulong device, ulong queryPool, uint firstQuery, uint queryCount, nuint dataSize, void* pData, ulong stride, uint flags)
    {
        try
        {
            var dev = Dev(device);
            GuestQueryPool? pool = dev.QueryPools.Find(queryPool);
            if (pool is not null && pool.TryGetResults(dev, firstQuery, queryCount, dataSize, pData, stride, flags, out VkResult local))
                return Icd.Trace(local, "vkGetQueryPoolResults");
            return Icd.Trace(HostQueryResults(dev, queryPool, pool?.Values ?? 0, firstQuery, queryCount, dataSize, pData, stride, flags), "vkGetQueryPoolResults");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetQueryPoolResults");
        }
    }

    /// <summary>
    /// vkGetQueryPoolResults from the host, into a packed block (results back to back, with the
    /// availability asked for whenever the app's flags could leave a query unwritten) that is then
    /// copied out query by query: the host's reply covers its whole buffer, so asking with the app's
    /// stride would overwrite the app's bytes between results, and those of queries the call must
    /// leave alone. WAIT is done here, polling, so that the host's ring thread never blocks.
    /// </summary>
    private static VkResult HostQueryResults(Device dev, ulong queryPool, uint poolValues, uint first, uint count, nuint dataSize, void* pData, ulong stride, uint flags)
    {
        const uint wait = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_WAIT_BIT;
        const uint wide = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_64_BIT;
        const uint availability = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_WITH_AVAILABILITY_BIT;
        const uint partial = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_PARTIAL_BIT;
        const uint status = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_WITH_STATUS_BIT_KHR;
        ulong width = (flags & wide) != 0 ? 8ul : 4ul;
        // One query's results as the app asked them (values, and availability if asked); the pool's
        // value count is known for every type this driver tracks (0: unknown, asked as given).
        ulong values = poolValues;
        ulong copy = (values + ((flags & availability) != 0 ? 1ul : 0ul)) * width;
        bool packable = values != 0 && count > 0 && (flags & status) == 0 && (count == 1 || stride >= copy) && (count - 1ul) * stride + copy <= dataSize;
        uint hostFlags = flags & ~wait;
        if (!packable)
            return PollHost(dev, queryPool, first, count, dataSize, pData, stride, flags, hostFlags);
        bool alwaysWritten = (flags & (wait | partial)) != 0;
        if (!alwaysWritten)
            hostFlags |= availability;
        ulong packedStride = (values + ((hostFlags & availability) != 0 ? 1ul : 0ul)) * width;
        ulong packedSize = packedStride * count;
        if (packedSize > int.MaxValue)
            return PollHost(dev, queryPool, first, count, dataSize, pData, stride, flags, flags & ~wait);
        byte* packed = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)packedSize);
        try
        {
            VkResult r = PollHost(dev, queryPool, first, count, (nuint)packedSize, packed, packedStride, flags, hostFlags);
            if (r != VkResult.VK_SUCCESS && r != VkResult.VK_NOT_READY)
                return r;
            for (uint i = 0; i < count; i++)
            {
                byte* src = packed + i * packedStride;
                byte* dst = (byte*)pData + i * stride;
                bool available = alwaysWritten || (width == 8 ? *(ulong*)(src + values * 8) != 0 : *(uint*)(src + values * 4) != 0);
                if (available)
                    System.Buffer.MemoryCopy(src, dst, copy, copy);
                else if ((flags & availability) != 0)
                {
                    if (width == 8)
                        *(ulong*)(dst + values * 8) = 0;
                    else
                        *(uint*)(dst + values * 4) = 0;
                }
            }
            return r;
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(packed);
        }
    }

    /// <summary>The host's answer, asked again while it says VK_NOT_READY where the app asked to wait.</summary>
    private static VkResult PollHost(Device dev, ulong queryPool, uint first, uint count, nuint dataSize, void* pData, ulong stride, uint flags, uint hostFlags)
    {
        const uint waitBit = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_WAIT_BIT;
        var relax = new GuestRing.Relax(dev.Ring);
        while (true)
        {
            VkResult r = Calls.vkGetQueryPoolResults(dev.Ring, dev.Handle, queryPool, first, count, dataSize, pData, stride, hostFlags & ~waitBit);
            if (r != VkResult.VK_NOT_READY || (flags & waitBit) == 0)
                return r;
            relax.Step();
        }
    }

    // Hooks (icd.xml <hook>): the generated vkCmd* export has recorded the command; the queries it
    // resets or writes are noted for the feedback copy that vkEndCommandBuffer adds.

    internal static partial void vkCmdResetQueryPoolRecorded(CommandBuffer cb, ulong queryPool, uint firstQuery, uint queryCount) =>
        QueryFeedback.Note(cb, queryPool, firstQuery, queryCount, copy: false);

    internal static partial void vkCmdEndQueryRecorded(CommandBuffer cb, ulong queryPool, uint query) =>
        QueryFeedback.Note(cb, queryPool, query, 1, copy: true);

    internal static partial void vkCmdEndQueryIndexedEXTRecorded(CommandBuffer cb, ulong queryPool, uint query, uint index) =>
        QueryFeedback.Note(cb, queryPool, query, 1, copy: true);

    internal static partial void vkCmdWriteTimestampRecorded(CommandBuffer cb, VkPipelineStageFlagBits pipelineStage, ulong queryPool, uint query) =>
        QueryFeedback.Note(cb, queryPool, query, 1, copy: true);

    internal static partial void vkCmdWriteTimestamp2Recorded(CommandBuffer cb, ulong stage, ulong queryPool, uint query) =>
        QueryFeedback.Note(cb, queryPool, query, 1, copy: true);
}
