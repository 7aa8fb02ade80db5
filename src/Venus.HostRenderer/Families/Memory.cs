using Venus.Native;
using System.Runtime.InteropServices;
using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>Host-visible device memory backed by a memfd, so the guest can map it as a blob.</summary>
internal sealed unsafe class ExportedMemory
{
    public ulong Id;
    public ulong Handle;
    public ulong DeviceId;
    public int Fd = -1;
    public byte* Map;
    public ulong Size;
    /// <summary>Exported by the driver (Families/ExternalMemory.cs): the handle type of <see cref="Fd"/>, else 0 (a memfd the driver imported).</summary>
    public uint HandleType;
    public uint TypeIndex;
    public ulong PhysicalDevice;
}

internal sealed unsafe partial class Handlers
{
    const int ObjDeviceMemory = 8;
    readonly Dictionary<ulong, ExportedMemory> _memories = new();

    /// <summary>allocationSize and device of each live allocation, counted against the context's device memory cap.</summary>
    readonly Dictionary<ulong, (ulong Size, ulong DeviceId)> _allocations = new();
    bool _deviceMemoryCapLogged;

    public bool vkAllocateMemory(Dispatcher x, vkAllocateMemory.Args* a)
    {
        var dev = DeviceOf(a->device);
        if (dev == null) return Fatal("vkAllocateMemory: unknown device");
        ulong size = a->pAllocateInfo->allocationSize;
        if (!_ctx.ReserveDeviceMemory(size))
        {
            // Over the cap the allocation fails as a driver out of memory would; the context goes on.
            if (!_deviceMemoryCapLogged)
            {
                _deviceMemoryCapLogged = true;
                _ctx.Options.Log($"venus-host: context {_ctx.Label}: vkAllocateMemory of {size} bytes refused (VK_ERROR_OUT_OF_DEVICE_MEMORY): the context holds {_ctx.DeviceMemoryBytes} bytes, the cap is {_ctx.Options.MaxDeviceMemoryBytes} (--max-device-memory)");
            }
            a->ret = VkResult.VK_ERROR_OUT_OF_DEVICE_MEMORY;
            return true;
        }
        bool ok = AllocateMemory(x, a, dev);
        if (ok && a->ret == VkResult.VK_SUCCESS)
        {
            lock (_allocations) _allocations[*a->pMemory] = (size, dev.Id);
        }
        else _ctx.ReleaseDeviceMemory(size);
        return ok;
    }

    void ForgetAllocation(ulong id)
    {
        bool had;
        (ulong Size, ulong DeviceId) e;
        lock (_allocations) had = _allocations.Remove(id, out e);
        if (had) _ctx.ReleaseDeviceMemory(e.Size);
    }

    /// <summary>A destroyed device takes its allocations with it: they no longer count.</summary>
    void ForgetAllocations(ulong deviceId)
    {
        ulong freed = 0;
        lock (_allocations)
        {
            foreach (var (id, e) in _allocations)
                if (e.DeviceId == deviceId) { freed += e.Size; _allocations.Remove(id); }
        }
        _ctx.ReleaseDeviceMemory(freed);
    }

    bool AllocateMemory(Dispatcher x, vkAllocateMemory.Args* a, DeviceState dev)
    {
        var info = *a->pAllocateInfo;
        if (!ExternalRequest(info.pNext, out uint exportTypes, out bool importResource, out uint resourceId)) return false;
        info.pNext = StripVenusStructs(info.pNext, out _, out _);
        if (info.memoryTypeIndex >= dev.Memory.memoryTypeCount) { a->ret = VkResult.VK_ERROR_UNKNOWN; return true; }
        if (importResource) return ImportResourceMemory(x, a, dev, info, resourceId);
        if (exportTypes != 0) return AllocateExportable(x, a, dev, info, exportTypes);
        var memProps = dev.Memory;
        var flags = ((VkMemoryType*)&memProps.memoryTypes)[info.memoryTypeIndex].propertyFlags;
        bool hostVisible = (flags & (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
        ulong memory = 0;
        if (!hostVisible || !dev.HostPointerImport)
        {
            a->ret = dev.Fns->vkAllocateMemory(a->device, &info, null, &memory);
            if (a->ret != VkResult.VK_SUCCESS) return true;
            return x.Register(*a->pMemory, memory, ObjDeviceMemory);
        }
        // Host-visible: a memfd the driver imports as host memory; the same pages are what the guest maps,
        // so the mapping is coherent both ways.
        ulong size = (info.allocationSize + dev.HostPointerAlignment - 1) & ~(dev.HostPointerAlignment - 1);
        if (size == 0 || !_ctx.ReserveShared(size)) { a->ret = VkResult.VK_ERROR_OUT_OF_HOST_MEMORY; return true; }
        if (!Posix.CreateSharedMemory("venus-memory", size, out int fd, out byte* map))
        {
            _ctx.ReleaseShared(size);
            a->ret = VkResult.VK_ERROR_OUT_OF_HOST_MEMORY;
            return true;
        }
        var hostProps = new VkMemoryHostPointerPropertiesEXT { sType = VkMemoryHostPointerPropertiesEXT.SType };
        var getProps = dev.Fns->vkGetMemoryHostPointerPropertiesEXT;
        var r = getProps == null ? VkResult.VK_ERROR_FEATURE_NOT_PRESENT
            : getProps(a->device, VkExternalMemoryHandleTypeFlagBits.VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, map, &hostProps);
        if (r != VkResult.VK_SUCCESS || (hostProps.memoryTypeBits & (1u << (int)info.memoryTypeIndex)) == 0)
        {
            Libc.Munmap(map, (nuint)size);
            Libc.Close(fd);
            _ctx.ReleaseShared(size);
            // This memory type cannot be backed by guest-mappable memory: allocate normally; mapping it will fail cleanly.
            a->ret = dev.Fns->vkAllocateMemory(a->device, &info, null, &memory);
            if (a->ret != VkResult.VK_SUCCESS) return true;
            return x.Register(*a->pMemory, memory, ObjDeviceMemory);
        }
        var import = new VkImportMemoryHostPointerInfoEXT
        {
            sType = VkImportMemoryHostPointerInfoEXT.SType,
            pNext = info.pNext,
            handleType = VkExternalMemoryHandleTypeFlagBits.VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
            pHostPointer = map,
        };
        info.pNext = &import;
        info.allocationSize = size;
        a->ret = dev.Fns->vkAllocateMemory(a->device, &info, null, &memory);
        if (a->ret != VkResult.VK_SUCCESS)
        {
            Libc.Munmap(map, (nuint)size);
            Libc.Close(fd);
            _ctx.ReleaseShared(size);
            return true;
        }
        if (!x.Register(*a->pMemory, memory, ObjDeviceMemory))
        {
            dev.Fns->vkFreeMemory(a->device, memory, null);
            Libc.Munmap(map, (nuint)size);
            Libc.Close(fd);
            _ctx.ReleaseShared(size);
            return false;
        }
        lock (_memories) _memories[*a->pMemory] = new ExportedMemory { Id = *a->pMemory, Handle = memory, DeviceId = dev.Id, Fd = fd, Map = map, Size = size };
        return true;
    }

    public bool vkFreeMemory(Dispatcher x, vkFreeMemory.Args* a)
    {
        if (a->memory == 0) return true;
        ulong id = _ctx.Objects.IdOf(a->memory, ObjDeviceMemory);
        if (!_ctx.Retire.BeforeDestroy(a->device, "vkFreeMemory")) return false;
        x.DeviceFunctions->vkFreeMemory(a->device, a->memory, null);
        _ctx.Objects.Remove(id, out _);
        ForgetAllocation(id);
        ExportedMemory? m;
        lock (_memories) _memories.Remove(id, out m);
        if (m != null) Release(m);
        return true;
    }

    void Release(ExportedMemory m)
    {
        Libc.Close(m.Fd);
        if (m.Map == null) return; // exported by the driver: nothing mapped or reserved here
        Libc.Munmap(m.Map, (nuint)m.Size);
        _ctx.ReleaseShared(m.Size);
    }

    void FreeDeviceMemories(DeviceState dev)
    {
        ForgetAllocations(dev.Id);
        List<ExportedMemory> mine;
        lock (_memories) mine = _memories.Values.Where(m => m.DeviceId == dev.Id).ToList();
        foreach (var m in mine)
        {
            dev.Fns->vkFreeMemory(dev.Handle, m.Handle, null);
            lock (_memories) _memories.Remove(m.Id);
            Release(m);
        }
    }

    /// <summary>The memfd behind a guest VkDeviceMemory, for a blob whose blob_id is that memory's id (§8.4).</summary>
    public bool TryExportMemory(ulong memoryId, out int fd, out ulong size)
    {
        lock (_memories)
        {
            if (_memories.TryGetValue(memoryId, out var m)) { fd = m.Fd; size = m.Size; return true; }
        }
        fd = -1;
        size = 0;
        return false;
    }

    // Mappings are coherent (the guest maps the very pages the driver uses), and vkMapMemory never travels:
    // these are no-ops, as the guest expects (§8.4).
    public bool vkUnmapMemory(Dispatcher x, vkUnmapMemory.Args* a) => true;

    public bool vkFlushMappedMemoryRanges(Dispatcher x, vkFlushMappedMemoryRanges.Args* a)
    {
        a->ret = VkResult.VK_SUCCESS;
        return true;
    }

    public bool vkInvalidateMappedMemoryRanges(Dispatcher x, vkInvalidateMappedMemoryRanges.Args* a)
    {
        a->ret = VkResult.VK_SUCCESS;
        return true;
    }
}
