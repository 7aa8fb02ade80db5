using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;
using CommandBuffer = Venus.GuestIcd.Runtime.CommandBuffer;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of command pools and buffers, recorded locally. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial VkResult vkCreateCommandPool(ulong device, VkCommandPoolCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pCommandPool)
    {
        var dev = Dev(device);
        ulong id = dev.Instance.NewObjectId();
        VkResult r = Calls.vkCreateCommandPool(dev.Ring, device, pCreateInfo, null, &id);
        if (r != VkResult.VK_SUCCESS)
            return Icd.Trace(r, "vkCreateCommandPool");
        dev.CommandPools[id] = new CommandPool(id, pCreateInfo->flags, pCreateInfo->queueFamilyIndex);
        *pCommandPool = id;
        return VkResult.VK_SUCCESS;
    }

    internal static partial void vkDestroyCommandPool(ulong device, ulong commandPool, VkAllocationCallbacks* pAllocator)
    {
        if (commandPool == 0)
            return;
        var dev = Dev(device);
        Sends.vkDestroyCommandPool(dev.Ring, device, commandPool, null);
        if (dev.CommandPools.TryRemove(commandPool, out CommandPool? p))
            p.FreeAll();
    }

    internal static partial VkResult vkResetCommandPool(ulong device, ulong commandPool, uint flags)
    {
        var dev = Dev(device);
        Sends.vkResetCommandPool(dev.Ring, device, commandPool, flags);
        if (dev.CommandPools.TryGetValue(commandPool, out CommandPool? p))
            lock (p.Buffers)
                foreach (CommandBuffer cb in p.Buffers)
                    cb.ResetStream();
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkAllocateCommandBuffers(ulong device, VkCommandBufferAllocateInfo* pAllocateInfo, ulong* pCommandBuffers)
    {
        var dev = Dev(device);
        if (!dev.CommandPools.TryGetValue(pAllocateInfo->commandPool, out CommandPool? pool))
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        uint n = pAllocateInfo->commandBufferCount;
        var made = new CommandBuffer[n];
        for (uint i = 0; i < n; i++)
        {
            made[i] = new CommandBuffer(dev, pool, pAllocateInfo->level);
            pCommandBuffers[i] = made[i].Handle;
        }
        VkResult r = Calls.vkAllocateCommandBuffers(dev.Ring, device, pAllocateInfo, pCommandBuffers);
        if (r != VkResult.VK_SUCCESS)
        {
            foreach (CommandBuffer cb in made)
                cb.Free();
            for (uint i = 0; i < n; i++)
                pCommandBuffers[i] = 0;
            return Icd.Trace(r, "vkAllocateCommandBuffers");
        }
        lock (pool.Buffers)
            foreach (CommandBuffer cb in made)
                pool.Buffers.Add(cb);
        return VkResult.VK_SUCCESS;
    }

    internal static partial void vkFreeCommandBuffers(ulong device, ulong commandPool, uint commandBufferCount, ulong* pCommandBuffers)
    {
        var dev = Dev(device);
        Sends.vkFreeCommandBuffers(dev.Ring, device, commandPool, commandBufferCount, pCommandBuffers);
        for (uint i = 0; i < commandBufferCount; i++)
        {
            if (pCommandBuffers[i] == 0)
                continue;
            var cb = CommandBuffer.FromHandle(pCommandBuffers[i]);
            lock (cb.Pool.Buffers)
                cb.Pool.Buffers.Remove(cb);
            cb.Free();
        }
    }

    internal static partial VkResult vkBeginCommandBuffer(ulong commandBuffer, VkCommandBufferBeginInfo* pBeginInfo)
    {
        var cb = CommandBuffer.FromHandle(commandBuffer);
        cb.ResetStream();
        VkCommandBufferBeginInfo info = *pBeginInfo;
        if (cb.Level == VkCommandBufferLevel.VK_COMMAND_BUFFER_LEVEL_PRIMARY)
            info.pInheritanceInfo = null; // ignored for primaries; may be garbage
        var e = cb.Reserve(Venus.Protocol.Commands.vkBeginCommandBuffer.Size(commandBuffer, &info, cb.StreamFilter));
        Venus.Protocol.Commands.vkBeginCommandBuffer.Encode(ref e, 0, commandBuffer, &info);
        cb.Commit(in e);
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkEndCommandBuffer(ulong commandBuffer)
    {
        var cb = CommandBuffer.FromHandle(commandBuffer);
        if (!cb.QueryRecords.IsEmpty)
            QueryFeedback.EncodeRecords(cb, cb.QueryRecords);
        var e = cb.Reserve(Venus.Protocol.Commands.vkEndCommandBuffer.Size(commandBuffer, cb.StreamFilter));
        Venus.Protocol.Commands.vkEndCommandBuffer.Encode(ref e, 0, commandBuffer);
        cb.Commit(in e);
        VkResult recorded = cb.RecordResult;
        GuestRing ring = cb.Ring;
        ring.Enter();
        try
        {
            cb.Flush(ring);
        }
        finally
        {
            ring.Exit();
        }
        return recorded;
    }

    internal static partial VkResult vkResetCommandBuffer(ulong commandBuffer, uint flags)
    {
        var cb = CommandBuffer.FromHandle(commandBuffer);
        cb.ResetStream();
        Sends.vkResetCommandBuffer(cb.Ring, commandBuffer, flags);
        return VkResult.VK_SUCCESS;
    }
}
