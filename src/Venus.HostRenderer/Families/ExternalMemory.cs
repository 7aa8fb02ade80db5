using Venus.Native;
using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>
/// Exportable device memory (VK_KHR_external_memory_fd, VK_EXT_external_memory_dma_buf): memory the
/// guest allocates with <c>VkExportMemoryAllocateInfo</c> is exported by the driver at once, and that
/// fd is what a blob of the memory (blob_id = the memory's id) hands the guest. The guest imports such
/// a blob again by its resource id (<c>VkImportMemoryResourceInfoMESA</c>): the host looks the resource
/// up in this context and imports its fd into the driver. No fd number ever crosses the wire: a
/// <c>VkImportMemoryFdInfoKHR</c> from the guest would name whatever the host has open, and ends the context.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const uint OpaqueFdBit = 0x1;    // VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT
    const uint DmaBufBit = 0x200;    // VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT

    /// <summary>Reads what the allocation chain asks for before the Venus structs are stripped; false: the context ends.</summary>
    bool ExternalRequest(void* chain, out uint exportTypes, out bool import, out uint resourceId)
    {
        exportTypes = 0;
        import = false;
        resourceId = 0;
        int n = 0;
        for (var p = (VnChainHeader*)chain; p != null; p = (VnChainHeader*)p->pNext)
        {
            if (++n > 64) return Fatal("vkAllocateMemory: pNext chain longer than 64 structs");
            if (p->sType == (int)VkImportMemoryResourceInfoMESA.SType) { import = true; resourceId = ((VkImportMemoryResourceInfoMESA*)p)->resourceId; }
            else if (p->sType == (int)VkImportMemoryFdInfoKHR.SType)
                return Fatal("vkAllocateMemory: VkImportMemoryFdInfoKHR names a file descriptor, which does not cross the wire (import by resource id instead)");
            else if (p->sType == (int)VkExportMemoryAllocateInfo.SType) exportTypes |= ((VkExportMemoryAllocateInfo*)p)->handleTypes;
        }
        return true;
    }

    bool RefuseExternal(vkAllocateMemory.Args* a, string why)
    {
        _ctx.Options.Log($"venus-host: context {_ctx.Label}: vkAllocateMemory: {why} (VK_ERROR_INVALID_EXTERNAL_HANDLE)");
        a->ret = VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
        return true;
    }

    /// <summary>Allocates memory the driver exports as an fd (dma-buf where asked, else opaque); the fd backs the memory's blob.</summary>
    bool AllocateExportable(Dispatcher x, vkAllocateMemory.Args* a, DeviceState dev, VkMemoryAllocateInfo info, uint exportTypes)
    {
        if ((exportTypes & ~(OpaqueFdBit | DmaBufBit)) != 0)
            return RefuseExternal(a, $"export handle types 0x{exportTypes:x}: only OPAQUE_FD and DMA_BUF are offered");
        if (!dev.MemoryFd || dev.Fns->vkGetMemoryFdKHR == null || ((exportTypes & DmaBufBit) != 0 && !dev.DmaBuf))
            return RefuseExternal(a, $"export handle types 0x{exportTypes:x} on a device created without VK_KHR_external_memory_fd{((exportTypes & DmaBufBit) != 0 ? " and VK_EXT_external_memory_dma_buf" : "")}");
        ulong memory = 0;
        a->ret = dev.Fns->vkAllocateMemory(a->device, &info, null, &memory);
        if (a->ret != VkResult.VK_SUCCESS) return true;
        uint type = (exportTypes & DmaBufBit) != 0 ? DmaBufBit : OpaqueFdBit;
        var get = new VkMemoryGetFdInfoKHR { sType = VkMemoryGetFdInfoKHR.SType, memory = memory, handleType = (VkExternalMemoryHandleTypeFlagBits)type };
        int fd = -1;
        var r = dev.Fns->vkGetMemoryFdKHR(a->device, &get, &fd);
        if (r != VkResult.VK_SUCCESS || fd < 0)
        {
            dev.Fns->vkFreeMemory(a->device, memory, null);
            _ctx.Options.Log($"venus-host: context {_ctx.Label}: vkAllocateMemory: the driver's vkGetMemoryFdKHR (handle type 0x{type:x}) answered {r}");
            a->ret = VkResult.VK_ERROR_OUT_OF_DEVICE_MEMORY;
            return true;
        }
        if (!x.Register(*a->pMemory, memory, ObjDeviceMemory))
        {
            dev.Fns->vkFreeMemory(a->device, memory, null);
            Libc.Close(fd);
            return false;
        }
        lock (_memories) _memories[*a->pMemory] = new ExportedMemory
        {
            Id = *a->pMemory, Handle = memory, DeviceId = dev.Id, Fd = fd, Size = info.allocationSize,
            HandleType = type, TypeIndex = info.memoryTypeIndex, PhysicalDevice = dev.PhysicalDevice,
        };
        return true;
    }

    /// <summary>
    /// Imports the resource <paramref name="resourceId"/> of this context as memory: it must be the blob of
    /// memory exported above, on the same physical device, with a size and type the export allows.
    /// </summary>
    bool ImportResourceMemory(Dispatcher x, vkAllocateMemory.Args* a, DeviceState dev, VkMemoryAllocateInfo info, uint resourceId)
    {
        if (!_ctx.TryGetResource(resourceId, out var res) || res.MemoryId == 0)
            return RefuseExternal(a, $"resource {resourceId} is not a blob of exported device memory in this context");
        ExportedMemory? src;
        lock (_memories) _memories.TryGetValue(res.MemoryId, out src);
        if (src == null || src.HandleType == 0)
            return RefuseExternal(a, $"resource {resourceId} (memory 0x{res.MemoryId:x}) was not allocated exportable");
        if (!dev.MemoryFd || dev.Fns->vkGetMemoryFdKHR == null)
            return RefuseExternal(a, "import on a device created without VK_KHR_external_memory_fd");
        if (src.HandleType == DmaBufBit && !dev.DmaBuf)
            return RefuseExternal(a, "dma-buf import on a device created without VK_EXT_external_memory_dma_buf");
        if (src.PhysicalDevice != dev.PhysicalDevice)
            return RefuseExternal(a, $"resource {resourceId} comes from another physical device");
        if (info.allocationSize == 0 || info.allocationSize > src.Size)
            return RefuseExternal(a, $"allocationSize {info.allocationSize} for resource {resourceId} of {src.Size} bytes");
        if (src.HandleType == OpaqueFdBit && (info.memoryTypeIndex != src.TypeIndex || info.allocationSize != src.Size))
            return RefuseExternal(a, $"an opaque fd imports with its own memory type {src.TypeIndex} and size {src.Size} (asked: type {info.memoryTypeIndex}, {info.allocationSize} bytes)");
        if (src.HandleType == DmaBufBit)
        {
            var props = new VkMemoryFdPropertiesKHR { sType = VkMemoryFdPropertiesKHR.SType };
            var pr = dev.Fns->vkGetMemoryFdPropertiesKHR == null ? VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE
                : dev.Fns->vkGetMemoryFdPropertiesKHR(a->device, (VkExternalMemoryHandleTypeFlagBits)DmaBufBit, src.Fd, &props);
            if (pr != VkResult.VK_SUCCESS || (props.memoryTypeBits & (1u << (int)info.memoryTypeIndex)) == 0)
                return RefuseExternal(a, $"memory type {info.memoryTypeIndex} cannot import resource {resourceId} (driver: {pr}, types 0x{props.memoryTypeBits:x})");
        }
        int fd = Libc.Dup(src.Fd);
        int keep = fd < 0 ? -1 : Libc.Dup(src.Fd);
        if (fd < 0 || keep < 0)
        {
            if (fd >= 0) Libc.Close(fd);
            a->ret = VkResult.VK_ERROR_OUT_OF_HOST_MEMORY;
            return true;
        }
        var import = new VkImportMemoryFdInfoKHR { sType = VkImportMemoryFdInfoKHR.SType, pNext = info.pNext, handleType = (VkExternalMemoryHandleTypeFlagBits)src.HandleType, fd = fd };
        info.pNext = &import;
        ulong memory = 0;
        a->ret = dev.Fns->vkAllocateMemory(a->device, &info, null, &memory);
        if (a->ret != VkResult.VK_SUCCESS)
        {
            // The driver owns the fd only when the import succeeds.
            Libc.Close(fd);
            Libc.Close(keep);
            return true;
        }
        if (!x.Register(*a->pMemory, memory, ObjDeviceMemory))
        {
            dev.Fns->vkFreeMemory(a->device, memory, null);
            Libc.Close(keep);
            return false;
        }
        // The imported memory is exportable in turn (and mappable through its blob) with the same fd.
        lock (_memories) _memories[*a->pMemory] = new ExportedMemory
        {
            Id = *a->pMemory, Handle = memory, DeviceId = dev.Id, Fd = keep, Size = src.Size,
            HandleType = src.HandleType, TypeIndex = info.memoryTypeIndex, PhysicalDevice = dev.PhysicalDevice,
        };
        return true;
    }

    /// <summary>vkGetMemoryResourcePropertiesMESA: the memory types a resource of exported memory can be imported as.</summary>
    bool MemoryResourceProperties(vkGetMemoryResourcePropertiesMESA.Args* a)
    {
        a->ret = VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
        var dev = DeviceOf(a->device);
        if (dev == null) return Fatal("vkGetMemoryResourcePropertiesMESA: unknown device");
        if (a->pMemoryResourceProperties == null) return Fatal("vkGetMemoryResourcePropertiesMESA: no properties struct");
        if (!_ctx.TryGetResource(a->resourceId, out var res) || res.MemoryId == 0) return true;
        ExportedMemory? src;
        lock (_memories) _memories.TryGetValue(res.MemoryId, out src);
        if (src == null || src.HandleType == 0 || src.PhysicalDevice != dev.PhysicalDevice) return true;
        uint bits = 1u << (int)src.TypeIndex;
        if (src.HandleType == DmaBufBit && dev.DmaBuf && dev.Fns->vkGetMemoryFdPropertiesKHR != null)
        {
            var props = new VkMemoryFdPropertiesKHR { sType = VkMemoryFdPropertiesKHR.SType };
            if (dev.Fns->vkGetMemoryFdPropertiesKHR(a->device, (VkExternalMemoryHandleTypeFlagBits)DmaBufBit, src.Fd, &props) == VkResult.VK_SUCCESS)
                bits = props.memoryTypeBits;
        }
        a->pMemoryResourceProperties->memoryTypeBits = bits;
        a->ret = VkResult.VK_SUCCESS;
        return true;
    }
}
