using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;
using Device = Venus.GuestIcd.Runtime.Device;
using CommandBuffer = Venus.GuestIcd.Runtime.CommandBuffer;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of fences, semaphores and events from feedback slots, and the waits on them. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial VkResult vkDeviceWaitIdle(ulong device)
    {
        Device dev = Dev(device);
        foreach (Queue q in dev.Queues)
        {
            VkResult r = q.WaitIdle();
            if (r != VkResult.VK_SUCCESS)
                return r;
        }
        return Completed(dev, VkResult.VK_SUCCESS);
    }

    internal static partial VkResult vkWaitForFences(ulong device, uint fenceCount, ulong* pFences, uint waitAll, ulong timeout)
    {
        Device dev = Dev(device);
        return Icd.Trace(Completed(dev, Sync.WaitFences(dev, fenceCount, pFences, waitAll, timeout)), "vkWaitForFences");
    }

    internal static partial VkResult vkWaitSemaphores(ulong device, VkSemaphoreWaitInfo* pWaitInfo, ulong timeout)
    {
        Device dev = Dev(device);
        return Icd.Trace(Completed(dev, Sync.WaitSemaphores(dev, pWaitInfo, timeout)), "vkWaitSemaphores");
    }

    internal static partial VkResult vkCreateFence(ulong device, VkFenceCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pFence)
    {
        try
        {
            return Icd.Trace(Fences.Create(Dev(device), pCreateInfo, pFence), "vkCreateFence");
        }
        catch (Exception e)
        {
            *pFence = 0;
            return Icd.Fail(e, "vkCreateFence");
        }
    }

    internal static partial void vkDestroyFence(ulong device, ulong fence, VkAllocationCallbacks* pAllocator)
    {
        Fences.Destroy(Dev(device), fence);
    }

    internal static partial VkResult vkResetFences(ulong device, uint fenceCount, ulong* pFences)
    {
        return Icd.Trace(Fences.Reset(Dev(device), fenceCount, pFences), "vkResetFences");
    }

    internal static partial VkResult vkGetFenceStatus(ulong device, ulong fence)
    {
        Device dev = Dev(device);
        return Icd.Trace(Completed(dev, Fences.Status(dev, fence)), "vkGetFenceStatus");
    }

    internal static partial VkResult vkCreateSemaphore(ulong device, VkSemaphoreCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pSemaphore)
    {
        try
        {
            return Icd.Trace(Timelines.Create(Dev(device), pCreateInfo, pSemaphore), "vkCreateSemaphore");
        }
        catch (Exception e)
        {
            *pSemaphore = 0;
            return Icd.Fail(e, "vkCreateSemaphore");
        }
    }

    internal static partial void vkDestroySemaphore(ulong device, ulong semaphore, VkAllocationCallbacks* pAllocator)
    {
        Timelines.Destroy(Dev(device), semaphore);
    }

    internal static partial VkResult vkGetSemaphoreCounterValue(ulong device, ulong semaphore, ulong* pValue)
    {
        Device dev = Dev(device);
        return Icd.Trace(Completed(dev, Timelines.CounterValue(dev, semaphore, pValue)), "vkGetSemaphoreCounterValue");
    }

    /// <summary>A host signal can release device work that reads imported host memory: the app's writes go first.</summary>
    internal static partial VkResult vkSignalSemaphore(ulong device, VkSemaphoreSignalInfo* pSignalInfo)
    {
        Device dev = Dev(device);
        dev.PushHostWrites();
        return Icd.Trace(Timelines.Signal(dev, pSignalInfo), "vkSignalSemaphore");
    }

    internal static partial VkResult vkCreateEvent(ulong device, VkEventCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pEvent)
    {
        try
        {
            return Icd.Trace(Events.Create(Dev(device), pCreateInfo, pEvent), "vkCreateEvent");
        }
        catch (Exception e)
        {
            *pEvent = 0;
            return Icd.Fail(e, "vkCreateEvent");
        }
    }

    internal static partial void vkDestroyEvent(ulong device, ulong @event, VkAllocationCallbacks* pAllocator)
    {
        Events.Destroy(Dev(device), @event);
    }

    internal static partial VkResult vkGetEventStatus(ulong device, ulong @event)
    {
        Device dev = Dev(device);
        return Icd.Trace(Completed(dev, Events.Status(dev, @event)), "vkGetEventStatus");
    }

    /// <summary>A host-set event can release device work that reads imported host memory: the app's writes go first.</summary>
    internal static partial VkResult vkSetEvent(ulong device, ulong @event)
    {
        Device dev = Dev(device);
        dev.PushHostWrites();
        return Icd.Trace(Events.HostWrite(dev, @event, VkResult.VK_EVENT_SET), "vkSetEvent");
    }

    internal static partial VkResult vkResetEvent(ulong device, ulong @event)
    {
        return Icd.Trace(Events.HostWrite(Dev(device), @event, VkResult.VK_EVENT_RESET), "vkResetEvent");
    }

    internal static partial void vkCmdSetEvent(ulong commandBuffer, ulong @event, uint stageMask)
    {
        try
        {
            Events.Record(commandBuffer, @event, stageMask, VkResult.VK_EVENT_SET);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdSetEvent");
        }
    }

    internal static partial void vkCmdResetEvent(ulong commandBuffer, ulong @event, uint stageMask)
    {
        try
        {
            Events.Record(commandBuffer, @event, stageMask, VkResult.VK_EVENT_RESET);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdResetEvent");
        }
    }

    internal static partial void vkCmdSetEvent2(ulong commandBuffer, ulong @event, VkDependencyInfo* pDependencyInfo)
    {
        try
        {
            Events.RecordSet2(commandBuffer, @event, pDependencyInfo);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdSetEvent2");
        }
    }

    internal static partial void vkCmdResetEvent2(ulong commandBuffer, ulong @event, ulong stageMask)
    {
        try
        {
            Events.RecordReset2(commandBuffer, @event, stageMask);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdResetEvent2");
        }
    }
}
