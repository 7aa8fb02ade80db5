using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Loader;

/// <summary>
/// Vulkan 1.4's commands that need this driver's own logic: map_memory2 (the mapping is the
/// guest's), maintenance6's push descriptors (cleaned writes; templates live here) and
/// VkBindMemoryStatus (a result per bind), and host image copies (<see cref="HostImageCopy"/>),
/// with vkCreateImage / vkDestroyImage keeping the image shapes the copies are sized by.
/// </summary>
internal static unsafe class Vulkan14Commands
{
    private static readonly uint V10 = 1u << 22, V11 = (1u << 22) | (1u << 12), V14 = (1u << 22) | (4u << 12);

    public static void Add(Action<string, nint, ProcScope, uint, string?> put)
    {
        void Both(string core, uint version, string ext, nint fn, string suffix)
        {
            put(core, fn, ProcScope.Device, version, null);
            put(core + suffix, fn, ProcScope.Device, 0, ext);
        }
        Both("vkMapMemory2", V14, "VK_KHR_map_memory2", (nint)(delegate* unmanaged<ulong, VkMemoryMapInfo*, void**, VkResult>)&vkMapMemory2, "KHR");
        Both("vkUnmapMemory2", V14, "VK_KHR_map_memory2", (nint)(delegate* unmanaged<ulong, VkMemoryUnmapInfo*, VkResult>)&vkUnmapMemory2, "KHR");
        Both("vkCmdPushDescriptorSet2", V14, "VK_KHR_maintenance6", (nint)(delegate* unmanaged<ulong, VkPushDescriptorSetInfo*, void>)&vkCmdPushDescriptorSet2, "KHR");
        Both("vkCmdPushDescriptorSetWithTemplate2", V14, "VK_KHR_maintenance6",
            (nint)(delegate* unmanaged<ulong, VkPushDescriptorSetWithTemplateInfo*, void>)&vkCmdPushDescriptorSetWithTemplate2, "KHR");
        Both("vkBindBufferMemory2", V11, "VK_KHR_bind_memory2", (nint)(delegate* unmanaged<ulong, uint, VkBindBufferMemoryInfo*, VkResult>)&vkBindBufferMemory2, "KHR");
        Both("vkBindImageMemory2", V11, "VK_KHR_bind_memory2", (nint)(delegate* unmanaged<ulong, uint, VkBindImageMemoryInfo*, VkResult>)&vkBindImageMemory2, "KHR");
        Both("vkCopyMemoryToImage", V14, "VK_EXT_host_image_copy", (nint)(delegate* unmanaged<ulong, VkCopyMemoryToImageInfo*, VkResult>)&vkCopyMemoryToImage, "EXT");
        Both("vkCopyImageToMemory", V14, "VK_EXT_host_image_copy", (nint)(delegate* unmanaged<ulong, VkCopyImageToMemoryInfo*, VkResult>)&vkCopyImageToMemory, "EXT");
        put("vkCreateImage", (nint)(delegate* unmanaged<ulong, VkImageCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateImage, ProcScope.Device, V10, null);
        put("vkDestroyImage", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroyImage, ProcScope.Device, V10, null);
    }

    private static Device Dev(ulong handle) => DispatchableObject.From<Device>(handle);

    private const uint MapPlacedFlag = 0x1;   // VK_MEMORY_MAP_PLACED_BIT_EXT (VK_EXT_map_memory_placed, not offered)

    [UnmanagedCallersOnly]
    private static VkResult vkMapMemory2(ulong device, VkMemoryMapInfo* pMemoryMapInfo, void** ppData)
    {
        try
        {
            var dev = Dev(device);
            dev.Ring.ThrowIfLost();
            if ((pMemoryMapInfo->flags & MapPlacedFlag) != 0 || !dev.Memories.TryGetValue(pMemoryMapInfo->memory, out DeviceMemory? m))
                return Icd.Trace(VkResult.VK_ERROR_MEMORY_MAP_FAILED, "vkMapMemory2");
            return Icd.Trace(m.Map(pMemoryMapInfo->offset, pMemoryMapInfo->size, ppData), "vkMapMemory2");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkMapMemory2");
        }
    }

    // As vkUnmapMemory: the blob stays mapped until vkFreeMemory.
    [UnmanagedCallersOnly]
    private static VkResult vkUnmapMemory2(ulong device, VkMemoryUnmapInfo* pMemoryUnmapInfo) => VkResult.VK_SUCCESS;

    [UnmanagedCallersOnly]
    private static void vkCmdPushDescriptorSet2(ulong commandBuffer, VkPushDescriptorSetInfo* pPushDescriptorSetInfo)
    {
        try
        {
            Descriptors.Push2(CommandBuffer.FromHandle(commandBuffer), pPushDescriptorSetInfo);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdPushDescriptorSet2");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkCmdPushDescriptorSetWithTemplate2(ulong commandBuffer, VkPushDescriptorSetWithTemplateInfo* pInfo)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            if (!cb.Device.Templates.TryGetValue(pInfo->descriptorUpdateTemplate, out DescriptorUpdateTemplate? t))
                throw new InvalidOperationException($"unknown descriptor update template 0x{pInfo->descriptorUpdateTemplate:x}");
            Descriptors.PushWithTemplate2(cb, t, pInfo);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdPushDescriptorSetWithTemplate2");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkBindBufferMemory2(ulong device, uint bindInfoCount, VkBindBufferMemoryInfo* pBindInfos)
    {
        try
        {
            var dev = Dev(device);
            return Icd.Trace(BindEach(dev, bindInfoCount, pBindInfos, &Calls.vkBindBufferMemory2), "vkBindBufferMemory2");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkBindBufferMemory2");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkBindImageMemory2(ulong device, uint bindInfoCount, VkBindImageMemoryInfo* pBindInfos)
    {
        try
        {
            var dev = Dev(device);
            return Icd.Trace(BindEach(dev, bindInfoCount, pBindInfos, &Calls.vkBindImageMemory2), "vkBindImageMemory2");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkBindImageMemory2");
        }
    }

    private static readonly VkStructureType[] BindStatus = [VkStructureType.VK_STRUCTURE_TYPE_BIND_MEMORY_STATUS];

    /// <summary>
    /// Without a VkBindMemoryStatus the binds go to the host in one call. With one, its result
    /// pointer is the app's and cannot travel: each bind goes alone (the struct unlinked for it) and
    /// its result is written to the app's pResult; the first failure is the command's result.
    /// </summary>
    private static VkResult BindEach<T>(Device dev, uint count, T* infos, delegate*<GuestRing, ulong, uint, T*, VkResult> call) where T : unmanaged
    {
        bool anyStatus = false;
        for (uint i = 0; i < count && !anyStatus; i++)
            anyStatus = FindStatus((VkBaseOutStructure*)&infos[i]) != null;
        if (!anyStatus)
            return call(dev.Ring, dev.Handle, count, infos);
        VkResult first = VkResult.VK_SUCCESS;
        for (uint i = 0; i < count; i++)
        {
            var head = (VkBaseOutStructure*)&infos[i];
            var status = (VkBindMemoryStatus*)FindStatus(head);
            var splice = new ChainSplice();
            splice.Unlink(head, BindStatus);
            VkResult r;
            try
            {
                r = call(dev.Ring, dev.Handle, 1, &infos[i]);
            }
            finally
            {
                splice.Relink();
            }
            if (status != null && status->pResult != null)
                *status->pResult = r;
            if (r != VkResult.VK_SUCCESS && first == VkResult.VK_SUCCESS)
                first = r;
        }
        return first;
    }

    private static VkBaseOutStructure* FindStatus(VkBaseOutStructure* head)
    {
        int guard = 0;
        for (VkBaseOutStructure* s = head->pNext; s != null && guard++ < 1024; s = s->pNext)
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_BIND_MEMORY_STATUS)
                return s;
        return null;
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCreateImage(ulong device, VkImageCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pImage)
    {
        try
        {
            var dev = Dev(device);
            ulong id = dev.Instance.NewObjectId();
            VkResult r = Calls.vkCreateImage(dev.Ring, device, pCreateInfo, null, &id);
            if (r != VkResult.VK_SUCCESS)
            {
                *pImage = 0;
                return Icd.Trace(r, "vkCreateImage");
            }
            dev.Images[id] = new ImageShape(pCreateInfo->format, pCreateInfo->arrayLayers);
            *pImage = id;
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            *pImage = 0;
            return Icd.Fail(e, "vkCreateImage");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkDestroyImage(ulong device, ulong image, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            if (image == 0)
                return;
            var dev = Dev(device);
            dev.Images.TryRemove(image, out _);
            Sends.vkDestroyImage(dev.Ring, device, image, null);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyImage");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCopyMemoryToImage(ulong device, VkCopyMemoryToImageInfo* pCopyMemoryToImageInfo)
    {
        try
        {
            return Icd.Trace(HostImageCopy.ToImage(Dev(device), pCopyMemoryToImageInfo), "vkCopyMemoryToImage");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCopyMemoryToImage");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCopyImageToMemory(ulong device, VkCopyImageToMemoryInfo* pCopyImageToMemoryInfo)
    {
        try
        {
            return Icd.Trace(HostImageCopy.FromImage(Dev(device), pCopyImageToMemoryInfo), "vkCopyImageToMemory");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCopyImageToMemory");
        }
    }
}
