using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of the device: queues, buffers and images (their shapes size host image copies), graphics pipelines, calibrated timestamps, host image copies. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial void vkDestroyDevice(ulong device, VkAllocationCallbacks* pAllocator)
    {
        if (device != 0)
            Dev(device).Destroy();
    }

    internal static partial void vkGetDeviceQueue(ulong device, uint queueFamilyIndex, uint queueIndex, ulong* pQueue)
    {
        *pQueue = Dev(device).FindQueue(queueFamilyIndex, queueIndex, 0)?.Handle ?? 0;
    }

    internal static partial void vkGetDeviceQueue2(ulong device, VkDeviceQueueInfo2* pQueueInfo, ulong* pQueue)
    {
        *pQueue = Dev(device).FindQueue(pQueueInfo->queueFamilyIndex, pQueueInfo->queueIndex, pQueueInfo->flags)?.Handle ?? 0;
    }

    internal static partial VkResult vkGetCalibratedTimestampsKHR(ulong device, uint timestampCount, VkCalibratedTimestampInfoKHR* pTimestampInfos, ulong* pTimestamps, ulong* pMaxDeviation)
    {
        return Icd.Trace(Timestamps.Get(Dev(device), timestampCount, pTimestampInfos, pTimestamps, pMaxDeviation), "vkGetCalibratedTimestampsKHR");
    }

    /// <summary>A buffer's requirements never change: asked of the host once per buffer, then answered here.</summary>
    internal static partial void vkGetBufferMemoryRequirements(ulong device, ulong buffer, VkMemoryRequirements* pMemoryRequirements)
    {
        var dev = Dev(device);
        if (dev.BufferRequirements.TryGetValue(buffer, out VkMemoryRequirements cached))
        {
            *pMemoryRequirements = cached;
            return;
        }
        Calls.vkGetBufferMemoryRequirements(dev.Ring, device, buffer, pMemoryRequirements);
        dev.BufferRequirements.Set(buffer, *pMemoryRequirements);
    }

    internal static partial VkResult vkCreateBuffer(ulong device, VkBufferCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pBuffer)
    {
        try
        {
            return Icd.Trace(BufferCache.Create(Dev(device), pCreateInfo, pBuffer), "vkCreateBuffer");
        }
        catch (Exception e)
        {
            *pBuffer = 0;
            return Icd.Fail(e, "vkCreateBuffer");
        }
    }

    internal static partial void vkDestroyBuffer(ulong device, ulong buffer, VkAllocationCallbacks* pAllocator)
    {
        if (buffer == 0)
            return;
        var dev = Dev(device);
        dev.BufferRequirements.Remove(buffer);
        Sends.vkDestroyBuffer(dev.Ring, device, buffer, null);
    }

    internal static partial VkResult vkCreateGraphicsPipelines(ulong device, ulong pipelineCache, uint createInfoCount, VkGraphicsPipelineCreateInfo* pCreateInfos, VkAllocationCallbacks* pAllocator, ulong* pPipelines)
    {
        var dev = Dev(device);
        var clean = (VkGraphicsPipelineCreateInfo*)NativeMemory.Alloc((nuint)Math.Max(createInfoCount, 1u), (nuint)sizeof(VkGraphicsPipelineCreateInfo));
        var copies = (Pipelines.StateCopies*)NativeMemory.Alloc((nuint)Math.Max(createInfoCount, 1u), (nuint)sizeof(Pipelines.StateCopies));
        try
        {
            for (uint i = 0; i < createInfoCount; i++)
            {
                clean[i] = pCreateInfos[i];
                Pipelines.Sanitize(&clean[i], &copies[i], dev);
                pPipelines[i] = dev.Instance.NewObjectId();
            }
            return Icd.Trace(Calls.vkCreateGraphicsPipelines(dev.Ring, device, pipelineCache, createInfoCount, clean, null, pPipelines), "vkCreateGraphicsPipelines");
        }
        finally
        {
            NativeMemory.Free(copies);
            NativeMemory.Free(clean);
        }
    }

    internal static partial VkResult vkCreateImage(ulong device, VkImageCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pImage)
    {
        try
        {
            return Icd.Trace(ImageCache.Create(Dev(device), pCreateInfo, pImage), "vkCreateImage");
        }
        catch (Exception e)
        {
            *pImage = 0;
            return Icd.Fail(e, "vkCreateImage");
        }
    }

    internal static partial void vkDestroyImage(ulong device, ulong image, VkAllocationCallbacks* pAllocator)
    {
        if (image == 0)
            return;
        var dev = Dev(device);
        dev.Images.Remove(image);
        dev.ImageRequirements.Remove(image);
        Sends.vkDestroyImage(dev.Ring, device, image, null);
    }

    /// <summary>An image's requirements never change: known from its creation (<see cref="ImageCache"/>), else asked of the host once.</summary>
    internal static partial void vkGetImageMemoryRequirements(ulong device, ulong image, VkMemoryRequirements* pMemoryRequirements)
    {
        var dev = Dev(device);
        if (dev.ImageRequirements.TryGetValue(image, out ImageRequirements known))
        {
            *pMemoryRequirements = known.Memory;
            return;
        }
        Calls.vkGetImageMemoryRequirements(dev.Ring, device, image, pMemoryRequirements);
    }

    /// <summary>Answered locally for a whole (not per-plane) query whose output chain holds only VkMemoryDedicatedRequirements; else by the host.</summary>
    internal static partial void vkGetImageMemoryRequirements2(ulong device, VkImageMemoryRequirementsInfo2* pInfo, VkMemoryRequirements2* pMemoryRequirements)
    {
        var dev = Dev(device);
        if (pInfo->pNext == null && dev.ImageRequirements.TryGetValue(pInfo->image, out ImageRequirements known) && ImageCache.TryFill(in known, pMemoryRequirements))
            return;
        Calls.vkGetImageMemoryRequirements2(dev.Ring, device, pInfo, pMemoryRequirements);
    }

    internal static partial VkResult vkCopyMemoryToImage(ulong device, VkCopyMemoryToImageInfo* pCopyMemoryToImageInfo)
    {
        return Icd.Trace(HostImageCopy.ToImage(Dev(device), pCopyMemoryToImageInfo), "vkCopyMemoryToImage");
    }

    internal static partial VkResult vkCopyImageToMemory(ulong device, VkCopyImageToMemoryInfo* pCopyImageToMemoryInfo)
    {
        return Icd.Trace(HostImageCopy.FromImage(Dev(device), pCopyImageToMemoryInfo), "vkCopyImageToMemory");
    }
}
