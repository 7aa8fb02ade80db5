using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol;
using Venus.Protocol.Vulkan;
using Device = Venus.GuestIcd.Runtime.Device;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of device memory: allocation, mapping (the mapping is the guest's), flushes, binds with VkBindMemoryStatus, host pointers. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial VkResult vkAllocateMemory(ulong device, VkMemoryAllocateInfo* pAllocateInfo, VkAllocationCallbacks* pAllocator, ulong* pMemory)
    {
        var dev = Dev(device);
        ulong id = dev.Instance.NewObjectId();
        // Host-visible memory is shared as a blob, and blobs are whole pages (the kernel's GEM
        // objects): allocate whole pages on the host so the blob never exceeds the memory.
        VkMemoryAllocateInfo info = *pAllocateInfo;
        // A host-pointer import is honoured here (HostPointerMemory); the encoder leaves its struct out.
        VkImportMemoryHostPointerInfoEXT* import = HostPointerMemory.FindImport(info.pNext);
        if (import != null && HostPointerMemory.Refusal(dev.PhysicalDevice, import, info.allocationSize, info.memoryTypeIndex) is { } why)
        {
            IcdLog.Error($"vkAllocateMemory: cannot import host memory: {why}");
            return VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
        }
        if (dev.PhysicalDevice.IsMappable(info.memoryTypeIndex) && info.allocationSize <= VenusBlob.MaxRoundable)
            info.allocationSize = VenusBlob.RoundUp(info.allocationSize);
        // Exportable memory and fd imports (Runtime/ExternalMemory.cs): an fd travels as its resource id.
        using ExternalHandles.Allocation? external = ExternalHandles.Allocation.Prepare(dev, ref info, out VkResult refusal);
        if (refusal != VkResult.VK_SUCCESS)
            return Icd.Trace(refusal, "vkAllocateMemory");
        VkResult r = Calls.vkAllocateMemory(dev.Ring, device, &info, null, &id);
        if (r != VkResult.VK_SUCCESS)
        {
            if (dev.ReportsMemory)
                dev.ReportMemory(VkDeviceMemoryReportEventTypeEXT.VK_DEVICE_MEMORY_REPORT_EVENT_TYPE_ALLOCATION_FAILED_EXT,
                    0, pAllocateInfo->allocationSize, info.memoryTypeIndex);
            return Icd.Trace(r, "vkAllocateMemory");
        }
        var memory = new DeviceMemory(dev, id, pAllocateInfo->allocationSize, info.allocationSize, info.memoryTypeIndex);
        external?.Succeeded(memory);
        if (import != null && memory.ImportHostPointer((byte*)import->pHostPointer) is var imported && imported != VkResult.VK_SUCCESS)
        {
            memory.Release();
            Sends.vkFreeMemory(dev.Ring, device, id, null);
            // The device side of an import is a mapped blob: a host that cannot share the memory cannot import.
            return Icd.Trace(VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE, "vkAllocateMemory");
        }
        dev.Memories[id] = memory;
        *pMemory = id;
        if (dev.ReportsMemory)
            dev.ReportMemory(VkDeviceMemoryReportEventTypeEXT.VK_DEVICE_MEMORY_REPORT_EVENT_TYPE_ALLOCATE_EXT,
                id, pAllocateInfo->allocationSize, info.memoryTypeIndex);
        return VkResult.VK_SUCCESS;
    }

    internal static partial void vkFreeMemory(ulong device, ulong memory, VkAllocationCallbacks* pAllocator)
    {
        if (memory == 0)
            return;
        var dev = Dev(device);
        Sends.vkFreeMemory(dev.Ring, device, memory, null);
        if (dev.Memories.TryRemove(memory, out DeviceMemory? m))
        {
            m.Release();
            if (dev.ReportsMemory)
                dev.ReportMemory(VkDeviceMemoryReportEventTypeEXT.VK_DEVICE_MEMORY_REPORT_EVENT_TYPE_FREE_EXT, memory, m.Size, m.TypeIndex);
        }
    }

    internal static partial VkResult vkMapMemory(ulong device, ulong memory, ulong offset, ulong size, uint flags, void** ppData)
    {
        var dev = Dev(device);
        dev.Ring.ThrowIfLost();
        if (!dev.Memories.TryGetValue(memory, out DeviceMemory? m))
            return VkResult.VK_ERROR_MEMORY_MAP_FAILED;
        return Icd.Trace(m.Map(offset, size, ppData), "vkMapMemory");
    }

    // The blob stays mapped until vkFreeMemory: a later map is free, and the pages are the host's own.
    internal static partial void vkUnmapMemory(ulong device, ulong memory)
    {
    }

    // Mappings are coherent (the guest maps the host's pages): flush and invalidate only move the
    // changes of imported host memory (HostPointerMemory), whose app side is not the host's pages.
    internal static partial VkResult vkFlushMappedMemoryRanges(ulong device, uint memoryRangeCount, VkMappedMemoryRange* pMemoryRanges)
    {
        Dev(device).PushHostWrites();
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkInvalidateMappedMemoryRanges(ulong device, uint memoryRangeCount, VkMappedMemoryRange* pMemoryRanges)
    {
        Dev(device).PullDeviceWrites();
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkGetMemoryHostPointerPropertiesEXT(ulong device, VkExternalMemoryHandleTypeFlagBits handleType, void* pHostPointer, VkMemoryHostPointerPropertiesEXT* pMemoryHostPointerProperties)
    {
        return Icd.Trace(HostPointerMemory.GetProperties(Dev(device).PhysicalDevice, (uint)handleType, pHostPointer, pMemoryHostPointerProperties),
            "vkGetMemoryHostPointerPropertiesEXT");
    }

    internal static partial VkResult vkMapMemory2(ulong device, VkMemoryMapInfo* pMemoryMapInfo, void** ppData)
    {
        var dev = Dev(device);
        dev.Ring.ThrowIfLost();
        if ((pMemoryMapInfo->flags & MapPlacedFlag) != 0 || !dev.Memories.TryGetValue(pMemoryMapInfo->memory, out DeviceMemory? m))
            return Icd.Trace(VkResult.VK_ERROR_MEMORY_MAP_FAILED, "vkMapMemory2");
        return Icd.Trace(m.Map(pMemoryMapInfo->offset, pMemoryMapInfo->size, ppData), "vkMapMemory2");
    }

    internal static partial VkResult vkUnmapMemory2(ulong device, VkMemoryUnmapInfo* pMemoryUnmapInfo) => VkResult.VK_SUCCESS;

    internal static partial VkResult vkBindBufferMemory2(ulong device, uint bindInfoCount, VkBindBufferMemoryInfo* pBindInfos)
    {
        var dev = Dev(device);
        return Icd.Trace(BindEach(dev, bindInfoCount, pBindInfos, &Calls.vkBindBufferMemory2), "vkBindBufferMemory2");
    }

    internal static partial VkResult vkBindImageMemory2(ulong device, uint bindInfoCount, VkBindImageMemoryInfo* pBindInfos)
    {
        var dev = Dev(device);
        return Icd.Trace(BindEach(dev, bindInfoCount, pBindInfos, &Calls.vkBindImageMemory2), "vkBindImageMemory2");
    }

    private const uint MapPlacedFlag = 0x1;   // VK_MEMORY_MAP_PLACED_BIT_EXT (VK_EXT_map_memory_placed, not offered)







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
}
