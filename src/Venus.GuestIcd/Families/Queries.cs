using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using CommandBuffer = Venus.GuestIcd.Runtime.CommandBuffer;
using Commands = Venus.Protocol.Commands;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written query commands: pools with feedback slots (Runtime/QueryFeedback.cs). See Families/IcdCommands.cs for how to add one.</summary>
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

    /// <summary>The slots go unavailable at once; the host's reset follows without a reply (as Mesa's).</summary>
    internal static partial void vkResetQueryPool(ulong device, ulong queryPool, uint firstQuery, uint queryCount)
    {
        var dev = Dev(device);
        if (dev.QueryPools.TryGetValue(queryPool, out GuestQueryPool? pool))
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
        const uint waitBit = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_WAIT_BIT;
        try
        {
            var dev = Dev(device);
            if (dev.QueryPools.TryGetValue(queryPool, out GuestQueryPool? pool)
                && pool.TryGetResults(dev, firstQuery, queryCount, dataSize, pData, stride, flags, out VkResult local))
                return Icd.Trace(local, "vkGetQueryPoolResults");
            uint hostFlags = flags & ~waitBit;
            var relax = new GuestRing.Relax(dev.Ring);
            while (true)
            {
                VkResult r = Calls.vkGetQueryPoolResults(dev.Ring, device, queryPool, firstQuery, queryCount, dataSize, pData, stride, hostFlags);
                if (r != VkResult.VK_NOT_READY || (flags & waitBit) == 0)
                    return Icd.Trace(r, "vkGetQueryPoolResults");
                relax.Step();
            }
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetQueryPoolResults");
        }
    }

    internal static partial void vkCmdResetQueryPool(ulong commandBuffer, ulong queryPool, uint firstQuery, uint queryCount)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            VnEncoder e = cb.Reserve(Commands.vkCmdResetQueryPool.Size(commandBuffer, queryPool, firstQuery, queryCount, cb.StreamFilter));
            Commands.vkCmdResetQueryPool.Encode(ref e, 0, commandBuffer, queryPool, firstQuery, queryCount);
            cb.Commit(in e);
            QueryFeedback.Note(cb, queryPool, firstQuery, queryCount, copy: false);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdResetQueryPool");
        }
    }

    internal static partial void vkCmdEndQuery(ulong commandBuffer, ulong queryPool, uint query)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            VnEncoder e = cb.Reserve(Commands.vkCmdEndQuery.Size(commandBuffer, queryPool, query, cb.StreamFilter));
            Commands.vkCmdEndQuery.Encode(ref e, 0, commandBuffer, queryPool, query);
            cb.Commit(in e);
            QueryFeedback.Note(cb, queryPool, query, 1, copy: true);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdEndQuery");
        }
    }

    internal static partial void vkCmdEndQueryIndexedEXT(ulong commandBuffer, ulong queryPool, uint query, uint index)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            VnEncoder e = cb.Reserve(Commands.vkCmdEndQueryIndexedEXT.Size(commandBuffer, queryPool, query, index, cb.StreamFilter));
            Commands.vkCmdEndQueryIndexedEXT.Encode(ref e, 0, commandBuffer, queryPool, query, index);
            cb.Commit(in e);
            QueryFeedback.Note(cb, queryPool, query, 1, copy: true);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdEndQueryIndexedEXT");
        }
    }

    internal static partial void vkCmdWriteTimestamp(ulong commandBuffer, VkPipelineStageFlagBits pipelineStage, ulong queryPool, uint query)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            VnEncoder e = cb.Reserve(Commands.vkCmdWriteTimestamp.Size(commandBuffer, pipelineStage, queryPool, query, cb.StreamFilter));
            Commands.vkCmdWriteTimestamp.Encode(ref e, 0, commandBuffer, pipelineStage, queryPool, query);
            cb.Commit(in e);
            QueryFeedback.Note(cb, queryPool, query, 1, copy: true);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdWriteTimestamp");
        }
    }

    internal static partial void vkCmdWriteTimestamp2(ulong commandBuffer, ulong stage, ulong queryPool, uint query)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            VnEncoder e = cb.Reserve(Commands.vkCmdWriteTimestamp2.Size(commandBuffer, stage, queryPool, query, cb.StreamFilter));
            Commands.vkCmdWriteTimestamp2.Encode(ref e, 0, commandBuffer, stage, queryPool, query);
            cb.Commit(in e);
            QueryFeedback.Note(cb, queryPool, query, 1, copy: true);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdWriteTimestamp2");
        }
    }
}
