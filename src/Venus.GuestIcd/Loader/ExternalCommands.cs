using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Loader;

/// <summary>
/// The fd commands of VK_KHR_external_memory_fd, VK_EXT_external_memory_dma_buf (through
/// <see cref="ExternalMemory"/>), VK_KHR_external_fence_fd and VK_KHR_external_semaphore_fd
/// (through <see cref="ExternalSync"/>), and the external-handle property queries: none of them
/// sends an fd number to the host.
/// </summary>
internal static unsafe class ExternalCommands
{
    public static void Add(Action<string, nint, ProcScope, uint, string?> put)
    {
        put("vkGetMemoryFdKHR", (nint)(delegate* unmanaged<ulong, VkMemoryGetFdInfoKHR*, int*, VkResult>)&vkGetMemoryFdKHR, ProcScope.Device, 0, "VK_KHR_external_memory_fd");
        put("vkGetMemoryFdPropertiesKHR", (nint)(delegate* unmanaged<ulong, VkExternalMemoryHandleTypeFlagBits, int, VkMemoryFdPropertiesKHR*, VkResult>)&vkGetMemoryFdPropertiesKHR, ProcScope.Device, 0, "VK_KHR_external_memory_fd");
        put("vkImportFenceFdKHR", (nint)(delegate* unmanaged<ulong, VkImportFenceFdInfoKHR*, VkResult>)&vkImportFenceFdKHR, ProcScope.Device, 0, "VK_KHR_external_fence_fd");
        put("vkGetFenceFdKHR", (nint)(delegate* unmanaged<ulong, VkFenceGetFdInfoKHR*, int*, VkResult>)&vkGetFenceFdKHR, ProcScope.Device, 0, "VK_KHR_external_fence_fd");
        put("vkImportSemaphoreFdKHR", (nint)(delegate* unmanaged<ulong, VkImportSemaphoreFdInfoKHR*, VkResult>)&vkImportSemaphoreFdKHR, ProcScope.Device, 0, "VK_KHR_external_semaphore_fd");
        put("vkGetSemaphoreFdKHR", (nint)(delegate* unmanaged<ulong, VkSemaphoreGetFdInfoKHR*, int*, VkResult>)&vkGetSemaphoreFdKHR, ProcScope.Device, 0, "VK_KHR_external_semaphore_fd");
        var formats = (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceImageFormatInfo2*, VkImageFormatProperties2*, VkResult>)&vkGetPhysicalDeviceImageFormatProperties2;
        put("vkGetPhysicalDeviceImageFormatProperties2", formats, ProcScope.PhysicalDevice, (1u << 22) | (1u << 12), null);
        put("vkGetPhysicalDeviceImageFormatProperties2KHR", formats, ProcScope.PhysicalDevice, 0, "VK_KHR_get_physical_device_properties2");
    }

    /// <summary>
    /// The host's answer, with the external memory properties of an fd handle type limited as for
    /// buffers (<see cref="Limit"/>): a type this driver cannot export and import is not supported.
    /// </summary>
    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceImageFormatProperties2(ulong physicalDevice, VkPhysicalDeviceImageFormatInfo2* pImageFormatInfo, VkImageFormatProperties2* pImageFormatProperties)
    {
        try
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
                    ext->externalMemoryProperties = Limit(ext->externalMemoryProperties, type, ExternalMemory.SupportedTypes(pd));
                    if (ext->externalMemoryProperties.externalMemoryFeatures == 0)
                        return Icd.Trace(VkResult.VK_ERROR_FORMAT_NOT_SUPPORTED, "vkGetPhysicalDeviceImageFormatProperties2");
                }
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDeviceImageFormatProperties2");
        }
    }

    /// <summary>
    /// The host driver's external memory properties of <paramref name="type"/>, limited to the fd
    /// types this transport shares; and since this driver imports only what its host exported, a
    /// type the host cannot export (lavapipe's dma-buf without udmabuf) is not importable either.
    /// </summary>
    private static VkExternalMemoryProperties Limit(VkExternalMemoryProperties p, uint type, uint supported)
    {
        p.compatibleHandleTypes &= supported;
        p.exportFromImportedHandleTypes &= supported;
        if ((p.compatibleHandleTypes & type) == 0 || (p.externalMemoryFeatures & 0x2) == 0) // EXPORTABLE
            p = default;
        return p;
    }

    private static Device Dev(ulong handle) => DispatchableObject.From<Device>(handle);

    // ---- memory ------------------------------------------------------------------------------------

    /// <summary>
    /// What vkAllocateMemory does for external memory: export types are checked and travel as they
    /// are (the host exports); an fd import becomes an import of the fd's resource. Null when the
    /// allocation is not external; <paramref name="refusal"/> is set when it cannot be done.
    /// </summary>
    public sealed class Allocation : IDisposable
    {
        private readonly List<nint> _owned = new();
        public uint HandleTypes { get; private set; }
        /// <summary>The app's fd, which a successful import takes over (closed here).</summary>
        public int ImportedFd { get; private set; } = -1;

        public static Allocation? Prepare(Device dev, ref VkMemoryAllocateInfo info, out VkResult refusal)
        {
            refusal = VkResult.VK_SUCCESS;
            uint export = ExternalMemory.ExportTypes(info.pNext);
            VkImportMemoryFdInfoKHR* import = ExternalMemory.FindFdImport(info.pNext);
            if (export == 0 && import == null)
                return null;
            uint supported = ExternalMemory.SupportedTypes(dev.PhysicalDevice);
            uint asked = export | (import != null ? (uint)import->handleType : 0);
            if ((asked & ~supported) != 0)
            {
                IcdLog.Error($"vkAllocateMemory: handle types 0x{asked:x} asked, 0x{supported:x} offered on {dev.Instance.Transport.Name}");
                refusal = VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
                return null;
            }
            var a = new Allocation { HandleTypes = export };
            if (import != null)
            {
                uint? resource = ExternalMemory.ResourceOf(dev.Instance.Transport, import->fd, out string why);
                if (resource is null)
                {
                    IcdLog.Error($"vkAllocateMemory: cannot import: {why}");
                    refusal = VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
                    return null;
                }
                info.pNext = ExternalMemory.WithResourceImport(info.pNext, resource.Value, a._owned);
                a.HandleTypes |= (uint)import->handleType;
                a.ImportedFd = import->fd;
            }
            return a;
        }

        /// <summary>After a successful allocation: the memory's blob will be shareable, and an imported fd is the driver's now.</summary>
        public void Succeeded(DeviceMemory memory)
        {
            memory.ExternalHandleTypes = HandleTypes;
            if (ImportedFd >= 0)
                Posix.Close(ImportedFd);
        }

        public void Dispose()
        {
            foreach (nint p in _owned)
                NativeMemory.Free((void*)p);
            _owned.Clear();
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetMemoryFdKHR(ulong device, VkMemoryGetFdInfoKHR* pGetFdInfo, int* pFd)
    {
        try
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
            ExternalMemory.Remember(dev.Instance.Transport, blob);
            *pFd = dev.Instance.Transport.ExportBlobFd(blob);
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetMemoryFdKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetMemoryFdPropertiesKHR(ulong device, VkExternalMemoryHandleTypeFlagBits handleType, int fd, VkMemoryFdPropertiesKHR* pMemoryFdProperties)
    {
        try
        {
            Device dev = Dev(device);
            // Opaque fds have no properties to ask for (the spec forbids the query); dma-bufs do.
            if ((uint)handleType != ExternalMemory.DmaBuf || (ExternalMemory.SupportedTypes(dev.PhysicalDevice) & ExternalMemory.DmaBuf) == 0)
                return Icd.Trace(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, "vkGetMemoryFdPropertiesKHR");
            uint? resource = ExternalMemory.ResourceOf(dev.Instance.Transport, fd, out string why);
            if (resource is null)
            {
                IcdLog.Error($"vkGetMemoryFdPropertiesKHR: {why}");
                return Icd.Trace(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, "vkGetMemoryFdPropertiesKHR");
            }
            var props = new VkMemoryResourcePropertiesMESA { sType = VkMemoryResourcePropertiesMESA.SType };
            VkResult r = Calls.vkGetMemoryResourcePropertiesMESA(dev.Ring, device, resource.Value, &props);
            if (r == VkResult.VK_SUCCESS)
                pMemoryFdProperties->memoryTypeBits = props.memoryTypeBits;
            return Icd.Trace(r, "vkGetMemoryFdPropertiesKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetMemoryFdPropertiesKHR");
        }
    }

    /// <summary>
    /// vkGetPhysicalDeviceExternalBufferProperties for the fd types: the host's driver's answer where
    /// this transport shares memory fds, limited to the fd types offered; none elsewhere.
    /// </summary>
    public static bool BufferProperties(PhysicalDevice pd, VkPhysicalDeviceExternalBufferInfo* info, VkExternalBufferProperties* props)
    {
        uint type = (uint)info->handleType;
        if ((type & ExternalMemory.FdTypes) == 0 || (type & (type - 1)) != 0)
            return false;
        uint supported = ExternalMemory.SupportedTypes(pd);
        if ((type & supported) == 0)
            return true;
        var host = new VkExternalBufferProperties { sType = VkExternalBufferProperties.SType };
        var query = *info;
        query.pNext = null;
        Calls.vkGetPhysicalDeviceExternalBufferProperties(pd.Ring, pd.Handle, &query, &host);
        props->externalMemoryProperties = Limit(host.externalMemoryProperties, type, supported);
        return true;
    }

    // ---- fences and semaphores ---------------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static VkResult vkImportFenceFdKHR(ulong device, VkImportFenceFdInfoKHR* pImportFenceFdInfo)
    {
        try
        {
            return Icd.Trace(ExternalSync.ImportFence(Dev(device), pImportFenceFdInfo), "vkImportFenceFdKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkImportFenceFdKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetFenceFdKHR(ulong device, VkFenceGetFdInfoKHR* pGetFdInfo, int* pFd)
    {
        try
        {
            return Icd.Trace(ExternalSync.ExportFence(Dev(device), pGetFdInfo, pFd), "vkGetFenceFdKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetFenceFdKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkImportSemaphoreFdKHR(ulong device, VkImportSemaphoreFdInfoKHR* pImportSemaphoreFdInfo)
    {
        try
        {
            return Icd.Trace(ExternalSync.ImportSemaphore(Dev(device), pImportSemaphoreFdInfo), "vkImportSemaphoreFdKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkImportSemaphoreFdKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetSemaphoreFdKHR(ulong device, VkSemaphoreGetFdInfoKHR* pGetFdInfo, int* pFd)
    {
        try
        {
            return Icd.Trace(ExternalSync.ExportSemaphore(Dev(device), pGetFdInfo, pFd), "vkGetSemaphoreFdKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetSemaphoreFdKHR");
        }
    }

    /// <summary>SYNC_FD on fences: this driver imports and exports it itself, on any transport.</summary>
    public static void FenceProperties(VkPhysicalDeviceExternalFenceInfo* info, VkExternalFenceProperties* props)
    {
        props->exportFromImportedHandleTypes = 0;
        props->compatibleHandleTypes = 0;
        props->externalFenceFeatures = 0;
        if (info != null && (uint)info->handleType == ExternalSync.FenceSyncFd)
        {
            props->compatibleHandleTypes = ExternalSync.FenceSyncFd;
            props->exportFromImportedHandleTypes = ExternalSync.FenceSyncFd;
            props->externalFenceFeatures = 0x3; // EXPORTABLE | IMPORTABLE
        }
    }

    /// <summary>SYNC_FD on binary semaphores where the host has VK_KHR_external_semaphore_fd (its resource commands).</summary>
    public static void SemaphoreProperties(PhysicalDevice pd, VkPhysicalDeviceExternalSemaphoreInfo* info, VkExternalSemaphoreProperties* props)
    {
        props->exportFromImportedHandleTypes = 0;
        props->compatibleHandleTypes = 0;
        props->externalSemaphoreFeatures = 0;
        if (info != null && (uint)info->handleType == ExternalSync.SemaphoreSyncFd && ExternalSync.IsBinary(info->pNext)
            && ExternalSync.SemaphoreSupported(pd))
        {
            props->compatibleHandleTypes = ExternalSync.SemaphoreSyncFd;
            props->exportFromImportedHandleTypes = ExternalSync.SemaphoreSyncFd;
            props->externalSemaphoreFeatures = 0x3; // EXPORTABLE | IMPORTABLE
        }
    }
}
