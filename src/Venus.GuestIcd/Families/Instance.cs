using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of the instance: creation, version, instance extensions and layers, physical-device enumeration. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial VkResult vkCreateInstance(VkInstanceCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pInstance)
    {
        return GuestInstance.Create(pCreateInfo, pInstance);
    }

    internal static partial void vkDestroyInstance(ulong instance, VkAllocationCallbacks* pAllocator)
    {
        if (instance != 0)
            DispatchableObject.From<GuestInstance>(instance).Destroy();
    }

    internal static partial VkResult vkEnumerateInstanceVersion(uint* pApiVersion)
    {
        if (pApiVersion == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        *pApiVersion = GuestInstance.DriverApiVersion;
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkEnumerateInstanceExtensionProperties(byte* pLayerName, uint* pPropertyCount, VkExtensionProperties* pProperties)
    {
        if (pLayerName != null)
            return VkResult.VK_ERROR_LAYER_NOT_PRESENT;
        return Enumerate<VkExtensionProperties>(GuestInstance.ExtensionProperties, pPropertyCount, pProperties);
    }

    internal static partial VkResult vkEnumerateInstanceLayerProperties(uint* pPropertyCount, VkLayerProperties* pProperties)
    {
        if (pPropertyCount == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        *pPropertyCount = 0;
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkEnumeratePhysicalDevices(ulong instance, uint* pPhysicalDeviceCount, ulong* pPhysicalDevices)
    {
        return Enumerate<ulong>(DispatchableObject.From<GuestInstance>(instance).PhysicalDeviceHandles, pPhysicalDeviceCount, pPhysicalDevices);
    }

    internal static partial VkResult vkEnumeratePhysicalDeviceGroups(ulong instance, uint* pPhysicalDeviceGroupCount, VkPhysicalDeviceGroupProperties* pPhysicalDeviceGroupProperties)
    {
        // One group per device: the protocol has no multi-GPU groups to offer.
        var devices = DispatchableObject.From<GuestInstance>(instance).PhysicalDevices;
        if (pPhysicalDeviceGroupProperties == null)
        {
            *pPhysicalDeviceGroupCount = (uint)devices.Length;
            return VkResult.VK_SUCCESS;
        }
        uint n = Math.Min(*pPhysicalDeviceGroupCount, (uint)devices.Length);
        for (int i = 0; i < n; i++)
        {
            pPhysicalDeviceGroupProperties[i].physicalDeviceCount = 1;
            pPhysicalDeviceGroupProperties[i].physicalDevices[0] = devices[i].Handle;
            for (int j = 1; j < 32; j++)
                pPhysicalDeviceGroupProperties[i].physicalDevices[j] = 0;
            pPhysicalDeviceGroupProperties[i].subsetAllocation = 0;
        }
        *pPhysicalDeviceGroupCount = n;
        return n < devices.Length ? VkResult.VK_INCOMPLETE : VkResult.VK_SUCCESS;
    }
}
