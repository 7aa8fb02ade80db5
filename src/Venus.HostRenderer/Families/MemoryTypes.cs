using Venus.Native;
using System.Collections.Concurrent;
using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>
/// The memory types a guest is told about. Host-visible memory reaches the guest as a memfd the driver
/// imports as host memory (VK_EXT_external_memory_host, Families/Memory.cs); a driver may refuse that
/// import for some of its host-visible types (NVIDIA: the device-local, host-visible "ReBAR" types).
/// Memory of such a type could be allocated but never mapped by the guest, so those types are offered
/// without HOST_VISIBLE, HOST_COHERENT and HOST_CACHED: an app then picks a type it can map instead of
/// failing at vkMapMemory.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const uint HostAccessBits = (uint)(VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                       VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                       VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_CACHED_BIT);

    /// <summary>Per physical device (its deviceUUID, stable across instances): the memory types host memory can be imported as.</summary>
    static readonly ConcurrentDictionary<Guid, uint> s_importableTypes = new();

    bool _memoryTypesLogged;

    public bool vkGetPhysicalDeviceMemoryProperties(Dispatcher x, vkGetPhysicalDeviceMemoryProperties.Args* a)
    {
        x.InstanceFunctions->vkGetPhysicalDeviceMemoryProperties(a->physicalDevice, a->pMemoryProperties);
        OfferMappableTypes(x.InstanceFunctions, a->physicalDevice, a->pMemoryProperties);
        return true;
    }

    public bool vkGetPhysicalDeviceMemoryProperties2(Dispatcher x, vkGetPhysicalDeviceMemoryProperties2.Args* a)
    {
        var fn = x.InstanceFunctions->vkGetPhysicalDeviceMemoryProperties2;
        if (fn == null) return x.MissingFunction((int)Venus.Protocol.Commands.vkGetPhysicalDeviceMemoryProperties2.Type);
        fn(a->physicalDevice, a->pMemoryProperties);
        OfferMappableTypes(x.InstanceFunctions, a->physicalDevice, &a->pMemoryProperties->memoryProperties);
        return true;
    }

    /// <summary>Clears the host-access bits of every host-visible type the guest could not map.</summary>
    void OfferMappableTypes(VkInstanceFunctions* fns, ulong physicalDevice, VkPhysicalDeviceMemoryProperties* props)
    {
        uint importable = ImportableTypes(fns, physicalDevice);
        var types = (VkMemoryType*)&props->memoryTypes;
        uint hidden = 0;
        for (int i = 0; i < props->memoryTypeCount && i < 32; i++)
        {
            if ((types[i].propertyFlags & (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) == 0) continue;
            if ((importable & (1u << i)) != 0) continue;
            types[i].propertyFlags &= ~HostAccessBits;
            hidden |= 1u << i;
        }
        if (hidden != 0 && !_memoryTypesLogged)
        {
            _memoryTypesLogged = true;
            _ctx.Options.Log($"venus-host: context {_ctx.Label}: memory types 0x{hidden:x} offered without HOST_VISIBLE: the driver cannot import host memory as them, so the guest could not map them");
        }
    }

    /// <summary>
    /// The memory types whose memory the guest can map: all types where the driver lacks
    /// VK_EXT_external_memory_host (nothing to decide: such memory is never mappable by the guest, and
    /// hiding every host-visible type would leave no staging memory at all), else those
    /// vkGetMemoryHostPointerPropertiesEXT accepts a memfd page for, asked once per physical device
    /// (through a device the guest created, or a short-lived one of our own).
    /// </summary>
    uint ImportableTypes(VkInstanceFunctions* fns, ulong physicalDevice)
    {
        if (!DeviceKey(fns, physicalDevice, out var key)) return ~0u;
        if (s_importableTypes.TryGetValue(key, out uint known)) return known;
        if (!DriverExtensions(fns, physicalDevice).Any(e => e.Name == "VK_EXT_external_memory_host")) return ~0u;

        // A device of one queue with host-memory import, asked about one memfd page, then destroyed.
        float priority = 1;
        var queue = new VkDeviceQueueCreateInfo { sType = VkDeviceQueueCreateInfo.SType, queueFamilyIndex = 0, queueCount = 1, pQueuePriorities = &priority };
        ulong device = 0;
        fixed (byte* extension = "VK_EXT_external_memory_host\0"u8)
        {
            var ci = new VkDeviceCreateInfo { sType = VkDeviceCreateInfo.SType, queueCreateInfoCount = 1, pQueueCreateInfos = &queue, enabledExtensionCount = 1, ppEnabledExtensionNames = &extension };
            if (fns->vkCreateDevice(physicalDevice, &ci, null, &device) != VkResult.VK_SUCCESS) return ~0u;
        }
        try
        {
            uint types = QueryImportableTypes(fns, physicalDevice, device);
            s_importableTypes.TryAdd(key, types);
            return types;
        }
        finally
        {
            var destroy = (delegate* unmanaged<ulong, void*, void>)DeviceProc(fns, device, "vkDestroyDevice");
            if (destroy != null) destroy(device, null);
        }
    }

    /// <summary>After the guest created a device with host-memory import: remember its answer, so no probe device is needed later.</summary>
    static void LearnImportableTypes(VkInstanceFunctions* fns, ulong physicalDevice, ulong device)
    {
        if (!DeviceKey(fns, physicalDevice, out var key)) return;
        if (!s_importableTypes.ContainsKey(key)) s_importableTypes.TryAdd(key, QueryImportableTypes(fns, physicalDevice, device));
    }

    /// <summary>The physical device's deviceUUID, the key of <see cref="s_importableTypes"/>; false when it cannot be asked.</summary>
    static bool DeviceKey(VkInstanceFunctions* fns, ulong physicalDevice, out Guid key)
    {
        key = default;
        if (fns->vkGetPhysicalDeviceProperties2 == null) return false;
        var id = new VkPhysicalDeviceIDProperties { sType = VkPhysicalDeviceIDProperties.SType };
        var p2 = new VkPhysicalDeviceProperties2 { sType = VkPhysicalDeviceProperties2.SType, pNext = &id };
        fns->vkGetPhysicalDeviceProperties2(physicalDevice, &p2);
        key = new Guid(new ReadOnlySpan<byte>(id.deviceUUID, 16));
        return true;
    }

    /// <summary>vkGetMemoryHostPointerPropertiesEXT for a memfd mapping of the driver's import alignment; ~0 when it cannot be asked.</summary>
    static uint QueryImportableTypes(VkInstanceFunctions* fns, ulong physicalDevice, ulong device)
    {
        var getProps = (delegate* unmanaged<ulong, VkExternalMemoryHandleTypeFlagBits, void*, VkMemoryHostPointerPropertiesEXT*, VkResult>)
            DeviceProc(fns, device, "vkGetMemoryHostPointerPropertiesEXT");
        if (getProps == null) return ~0u;
        var hp = new VkPhysicalDeviceExternalMemoryHostPropertiesEXT { sType = VkPhysicalDeviceExternalMemoryHostPropertiesEXT.SType };
        var p2 = new VkPhysicalDeviceProperties2 { sType = VkPhysicalDeviceProperties2.SType, pNext = &hp };
        fns->vkGetPhysicalDeviceProperties2(physicalDevice, &p2);
        ulong size = Math.Max(4096UL, hp.minImportedHostPointerAlignment);
        if (size > 1UL << 30 || !Posix.CreateSharedMemory("venus-probe", size, out int fd, out byte* map)) return ~0u;
        try
        {
            var props = new VkMemoryHostPointerPropertiesEXT { sType = VkMemoryHostPointerPropertiesEXT.SType };
            var r = getProps(device, VkExternalMemoryHandleTypeFlagBits.VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, map, &props);
            return r == VkResult.VK_SUCCESS ? props.memoryTypeBits : ~0u;
        }
        finally
        {
            Libc.Munmap(map, (nuint)size);
            Libc.Close(fd);
        }
    }

    static void* DeviceProc(VkInstanceFunctions* fns, ulong device, string name)
    {
        var gdpa = (delegate* unmanaged<ulong, byte*, void*>)fns->vkGetDeviceProcAddr;
        if (gdpa == null) return null;
        Span<byte> z = stackalloc byte[64];
        int n = System.Text.Encoding.ASCII.GetBytes(name, z);
        z[n] = 0;
        fixed (byte* p = z) return gdpa(device, p);
    }
}
