using System.Runtime.InteropServices;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Loader;

/// <summary>
/// Semaphore and event commands answered from feedback slots where the device has them
/// (<see cref="GuestTimeline"/>, <see cref="GuestEvent"/>), else by the host. Every alias is
/// registered too, so that no entry point reaches the host behind the slots' back.
/// </summary>
internal static unsafe class FeedbackCommands
{
    private const uint V10 = 1u << 22, V12 = (1u << 22) | (2u << 12), V13 = (1u << 22) | (3u << 12);

    public static void Add(Action<string, nint, ProcScope, uint, string?> put)
    {
        void Both(string core, uint version, string ext, nint fn, string suffix)
        {
            put(core, fn, ProcScope.Device, version, null);
            put(core + suffix, fn, ProcScope.Device, 0, ext);
        }
        put("vkCreateSemaphore", (nint)(delegate* unmanaged<ulong, VkSemaphoreCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateSemaphore, ProcScope.Device, V10, null);
        put("vkDestroySemaphore", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroySemaphore, ProcScope.Device, V10, null);
        Both("vkGetSemaphoreCounterValue", V12, "VK_KHR_timeline_semaphore", (nint)(delegate* unmanaged<ulong, ulong, ulong*, VkResult>)&vkGetSemaphoreCounterValue, "KHR");
        Both("vkSignalSemaphore", V12, "VK_KHR_timeline_semaphore", (nint)(delegate* unmanaged<ulong, VkSemaphoreSignalInfo*, VkResult>)&vkSignalSemaphore, "KHR");
        put("vkCreateEvent", (nint)(delegate* unmanaged<ulong, VkEventCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateEvent, ProcScope.Device, V10, null);
        put("vkDestroyEvent", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroyEvent, ProcScope.Device, V10, null);
        put("vkGetEventStatus", (nint)(delegate* unmanaged<ulong, ulong, VkResult>)&vkGetEventStatus, ProcScope.Device, V10, null);
        put("vkSetEvent", (nint)(delegate* unmanaged<ulong, ulong, VkResult>)&vkSetEvent, ProcScope.Device, V10, null);
        put("vkResetEvent", (nint)(delegate* unmanaged<ulong, ulong, VkResult>)&vkResetEvent, ProcScope.Device, V10, null);
        put("vkCmdSetEvent", (nint)(delegate* unmanaged<ulong, ulong, uint, void>)&vkCmdSetEvent, ProcScope.Device, V10, null);
        put("vkCmdResetEvent", (nint)(delegate* unmanaged<ulong, ulong, uint, void>)&vkCmdResetEvent, ProcScope.Device, V10, null);
        Both("vkCmdSetEvent2", V13, "VK_KHR_synchronization2", (nint)(delegate* unmanaged<ulong, ulong, VkDependencyInfo*, void>)&vkCmdSetEvent2, "KHR");
        Both("vkCmdResetEvent2", V13, "VK_KHR_synchronization2", (nint)(delegate* unmanaged<ulong, ulong, ulong, void>)&vkCmdResetEvent2, "KHR");
    }

    private static Device Dev(ulong handle) => DispatchableObject.From<Device>(handle);

    [UnmanagedCallersOnly]
    private static VkResult vkCreateSemaphore(ulong device, VkSemaphoreCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pSemaphore)
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

    [UnmanagedCallersOnly]
    private static void vkDestroySemaphore(ulong device, ulong semaphore, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            Timelines.Destroy(Dev(device), semaphore);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroySemaphore");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetSemaphoreCounterValue(ulong device, ulong semaphore, ulong* pValue)
    {
        try
        {
            Device dev = Dev(device);
            return Icd.Trace(HandWritten.Completed(dev, Timelines.CounterValue(dev, semaphore, pValue)), "vkGetSemaphoreCounterValue");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetSemaphoreCounterValue");
        }
    }

    /// <summary>A host signal can release device work that reads imported host memory: the app's writes go first.</summary>
    [UnmanagedCallersOnly]
    private static VkResult vkSignalSemaphore(ulong device, VkSemaphoreSignalInfo* pSignalInfo)
    {
        try
        {
            Device dev = Dev(device);
            dev.PushHostWrites();
            return Icd.Trace(Timelines.Signal(dev, pSignalInfo), "vkSignalSemaphore");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkSignalSemaphore");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCreateEvent(ulong device, VkEventCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pEvent)
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

    [UnmanagedCallersOnly]
    private static void vkDestroyEvent(ulong device, ulong @event, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            Events.Destroy(Dev(device), @event);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyEvent");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetEventStatus(ulong device, ulong @event)
    {
        try
        {
            Device dev = Dev(device);
            return Icd.Trace(HandWritten.Completed(dev, Events.Status(dev, @event)), "vkGetEventStatus");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetEventStatus");
        }
    }

    /// <summary>A host-set event can release device work that reads imported host memory: the app's writes go first.</summary>
    [UnmanagedCallersOnly]
    private static VkResult vkSetEvent(ulong device, ulong @event)
    {
        try
        {
            Device dev = Dev(device);
            dev.PushHostWrites();
            return Icd.Trace(Events.HostWrite(dev, @event, VkResult.VK_EVENT_SET), "vkSetEvent");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkSetEvent");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkResetEvent(ulong device, ulong @event)
    {
        try
        {
            return Icd.Trace(Events.HostWrite(Dev(device), @event, VkResult.VK_EVENT_RESET), "vkResetEvent");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkResetEvent");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkCmdSetEvent(ulong commandBuffer, ulong @event, uint stageMask)
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

    [UnmanagedCallersOnly]
    private static void vkCmdResetEvent(ulong commandBuffer, ulong @event, uint stageMask)
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

    [UnmanagedCallersOnly]
    private static void vkCmdSetEvent2(ulong commandBuffer, ulong @event, VkDependencyInfo* pDependencyInfo)
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

    [UnmanagedCallersOnly]
    private static void vkCmdResetEvent2(ulong commandBuffer, ulong @event, ulong stageMask)
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
