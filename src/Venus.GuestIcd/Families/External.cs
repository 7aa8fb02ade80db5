using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;
using Device = Venus.GuestIcd.Runtime.Device;
using PhysicalDevice = Venus.GuestIcd.Runtime.PhysicalDevice;

namespace Venus.GuestIcd.Families;

/// <summary>
/// Hand-written commands of external memory, fence and semaphore fds (VK_KHR_external_memory_fd,
/// VK_EXT_external_memory_dma_buf, VK_KHR_external_fence_fd, VK_KHR_external_semaphore_fd) and the
/// image-format query that limits their handle types: no fd number is ever sent to the host
/// (Runtime/ExternalHandles.cs, Runtime/ExternalMemory.cs, Runtime/ExternalSync.cs). See
/// Families/IcdCommands.cs for how to add one.
/// </summary>
internal static unsafe partial class IcdCommands
{
    /// <summary>
    /// The host's answer, with the external memory properties of an fd handle type limited as for
    /// buffers (ExternalHandles.Limit): a type this driver cannot export and import is not supported.
    /// </summary>
    internal static partial VkResult vkGetPhysicalDeviceImageFormatProperties2(ulong physicalDevice, VkPhysicalDeviceImageFormatInfo2* pImageFormatInfo, VkImageFormatProperties2* pImageFormatProperties)
    {
        var pd = DispatchableObject.From<PhysicalDevice>(physicalDevice);
        VkResult r = Calls.vkGetPhysicalDeviceImageFormatProperties2(pd.Ring, physicalDevice, pImageFormatInfo, pImageFormatProperties);
        if (r != VkResult.VK_SUCCESS)
            return Icd.Trace(r, "vkGetPhysicalDeviceImageFormatProperties2");
        uint type = 0;
        for (var s = (VkBaseInStructure*)pImageFormatInfo->pNext; s != null; s = s->pNext)
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_IMAGE_FORMAT_INFO)
                type = (uint)((VkPhysicalDeviceExternalImageFormatInfo*)s)->handleType;
        if ((type & ExternalMemory.FdTypes) == 0)
            return VkResult.VK_SUCCESS;
        for (var s = (VkBaseOutStructure*)pImageFormatProperties->pNext; s != null; s = s->pNext)
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_EXTERNAL_IMAGE_FORMAT_PROPERTIES)
            {
                var ext = (VkExternalImageFormatProperties*)s;
                ext->externalMemoryProperties = ExternalHandles.Limit(ext->externalMemoryProperties, type, ExternalMemory.SupportedTypes(pd));
                if (ext->externalMemoryProperties.externalMemoryFeatures == 0)
                    return Icd.Trace(VkResult.VK_ERROR_FORMAT_NOT_SUPPORTED, "vkGetPhysicalDeviceImageFormatProperties2");
            }
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkGetMemoryFdKHR(ulong device, VkMemoryGetFdInfoKHR* pGetFdInfo, int* pFd)
    {
        Device dev = Dev(device);
        dev.Ring.ThrowIfLost();
        uint type = (uint)pGetFdInfo->handleType;
        if (!dev.Memories.TryGetValue(pGetFdInfo->memory, out DeviceMemory? m) || (m.ExternalHandleTypes & type) == 0 || (type & ExternalMemory.FdTypes) != type)
        {
            IcdLog.Error($"vkGetMemoryFdKHR: memory 0x{pGetFdInfo->memory:x} was not allocated exportable as handle type 0x{type:x}");
            return Icd.Trace(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, "vkGetMemoryFdKHR");
        }
        Transport.GuestShmem blob = m.ShareableBlob();
        // The import of this fd names the blob's resource on the ring: the host must have it first.
        dev.Ring.SyncVirtqueue();
        int fd = dev.Instance.Transport.ExportBlobFd(blob);
        ExternalMemory.Remember(dev.Instance.Transport, blob, fd);
        *pFd = fd;
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkGetMemoryFdPropertiesKHR(ulong device, VkExternalMemoryHandleTypeFlagBits handleType, int fd, VkMemoryFdPropertiesKHR* pMemoryFdProperties)
    {
        Device dev = Dev(device);
        // Opaque fds have no properties to ask for (the spec forbids the query); dma-bufs do.
        if ((uint)handleType != ExternalMemory.DmaBuf || (ExternalMemory.SupportedTypes(dev.PhysicalDevice) & ExternalMemory.DmaBuf) == 0)
            return Icd.Trace(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, "vkGetMemoryFdPropertiesKHR");
        uint? resource = ExternalMemory.ResourceOf(dev.Instance.Transport, fd, out IDisposable? hold, out string why);
        using IDisposable? held = hold;
        if (resource is null)
        {
            IcdLog.Error($"vkGetMemoryFdPropertiesKHR: {why}");
            return Icd.Trace(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, "vkGetMemoryFdPropertiesKHR");
        }
        if (held is not null)
            dev.Ring.SyncVirtqueue(); // the PRIME import's attachment reaches the host before the ring's query
        var props = new VkMemoryResourcePropertiesMESA { sType = VkMemoryResourcePropertiesMESA.SType };
        VkResult r = Calls.vkGetMemoryResourcePropertiesMESA(dev.Ring, device, resource.Value, &props);
        if (r == VkResult.VK_SUCCESS)
            pMemoryFdProperties->memoryTypeBits = props.memoryTypeBits;
        return Icd.Trace(r, "vkGetMemoryFdPropertiesKHR");
    }

    internal static partial VkResult vkImportFenceFdKHR(ulong device, VkImportFenceFdInfoKHR* pImportFenceFdInfo)
    {
        return Icd.Trace(ExternalSync.ImportFence(Dev(device), pImportFenceFdInfo), "vkImportFenceFdKHR");
    }

    internal static partial VkResult vkGetFenceFdKHR(ulong device, VkFenceGetFdInfoKHR* pGetFdInfo, int* pFd)
    {
        return Icd.Trace(ExternalSync.ExportFence(Dev(device), pGetFdInfo, pFd), "vkGetFenceFdKHR");
    }

    internal static partial VkResult vkImportSemaphoreFdKHR(ulong device, VkImportSemaphoreFdInfoKHR* pImportSemaphoreFdInfo)
    {
        return Icd.Trace(ExternalSync.ImportSemaphore(Dev(device), pImportSemaphoreFdInfo), "vkImportSemaphoreFdKHR");
    }

    internal static partial VkResult vkGetSemaphoreFdKHR(ulong device, VkSemaphoreGetFdInfoKHR* pGetFdInfo, int* pFd)
    {
        return Icd.Trace(ExternalSync.ExportSemaphore(Dev(device), pGetFdInfo, pFd), "vkGetSemaphoreFdKHR");
    }
}
