using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of physical devices: properties, features, memory and queue families from the guest's cache, device extensions, external-handle capabilities, device creation. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial void vkGetPhysicalDeviceProperties(ulong physicalDevice, VkPhysicalDeviceProperties* pProperties)
    {
        *pProperties = Physical(physicalDevice).Properties;
    }

    internal static partial void vkGetPhysicalDeviceProperties2(ulong physicalDevice, VkPhysicalDeviceProperties2* pProperties)
    {
        Physical(physicalDevice).GetProperties2(pProperties);
    }

    internal static partial void vkGetPhysicalDeviceFeatures(ulong physicalDevice, VkPhysicalDeviceFeatures* pFeatures)
    {
        *pFeatures = Physical(physicalDevice).Features;
    }

    internal static partial void vkGetPhysicalDeviceFeatures2(ulong physicalDevice, VkPhysicalDeviceFeatures2* pFeatures)
    {
        Physical(physicalDevice).GetFeatures2(pFeatures);
    }

    internal static partial void vkGetPhysicalDeviceMemoryProperties(ulong physicalDevice, VkPhysicalDeviceMemoryProperties* pMemoryProperties)
    {
        *pMemoryProperties = Physical(physicalDevice).MemoryProperties;
    }

    internal static partial void vkGetPhysicalDeviceMemoryProperties2(ulong physicalDevice, VkPhysicalDeviceMemoryProperties2* pMemoryProperties)
    {
        var pd = Physical(physicalDevice);
        if (pMemoryProperties->pNext != null)
            Calls.vkGetPhysicalDeviceMemoryProperties2(pd.Ring, physicalDevice, pMemoryProperties);
        pd.PatchMemoryProperties2(pMemoryProperties);
    }

    internal static partial void vkGetPhysicalDeviceQueueFamilyProperties(ulong physicalDevice, uint* pQueueFamilyPropertyCount, VkQueueFamilyProperties* pQueueFamilyProperties)
    {
        Enumerate(Physical(physicalDevice).QueueFamilies, pQueueFamilyPropertyCount, pQueueFamilyProperties);
    }

    internal static partial void vkGetPhysicalDeviceQueueFamilyProperties2(ulong physicalDevice, uint* pQueueFamilyPropertyCount, VkQueueFamilyProperties2* pQueueFamilyProperties)
    {
        var pd = Physical(physicalDevice);
        var families = pd.QueueFamilies;
        if (pQueueFamilyProperties == null)
        {
            *pQueueFamilyPropertyCount = (uint)families.Length;
            return;
        }
        bool chained = false;
        uint n = Math.Min(*pQueueFamilyPropertyCount, (uint)families.Length);
        for (int i = 0; i < n; i++)
            chained |= pQueueFamilyProperties[i].pNext != null;
        if (chained)
            Calls.vkGetPhysicalDeviceQueueFamilyProperties2(pd.Ring, physicalDevice, &n, pQueueFamilyProperties);
        for (int i = 0; i < n; i++)
            pQueueFamilyProperties[i].queueFamilyProperties = families[i];
        *pQueueFamilyPropertyCount = n;
    }

    internal static partial VkResult vkEnumerateDeviceExtensionProperties(ulong physicalDevice, byte* pLayerName, uint* pPropertyCount, VkExtensionProperties* pProperties)
    {
        if (pLayerName != null)
            return VkResult.VK_ERROR_LAYER_NOT_PRESENT;
        return Enumerate(Physical(physicalDevice).Extensions, pPropertyCount, pProperties);
    }

    internal static partial VkResult vkEnumerateDeviceLayerProperties(ulong physicalDevice, uint* pPropertyCount, VkLayerProperties* pProperties)
    {
        if (pPropertyCount == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        *pPropertyCount = 0;
        return VkResult.VK_SUCCESS;
    }

    // External handles: host pointers (HostPointerMemory), memory fds where the transport shares them,
    // SYNC_FD fences and semaphores (Families/External.cs); nothing else.
    internal static partial void vkGetPhysicalDeviceExternalBufferProperties(ulong physicalDevice, VkPhysicalDeviceExternalBufferInfo* pExternalBufferInfo, VkExternalBufferProperties* pExternalBufferProperties)
    {
        if (pExternalBufferProperties == null)
            return;
        pExternalBufferProperties->externalMemoryProperties = default;
        var info = (VkPhysicalDeviceExternalBufferInfo*)pExternalBufferInfo;
        if (info != null && ExternalHandles.BufferProperties(Physical(physicalDevice), info, pExternalBufferProperties))
            return;
        // Host pointers are imported by this driver itself (HostPointerMemory).
        if (info != null && HostPointerMemory.IsHostHandleType((uint)info->handleType))
        {
            pExternalBufferProperties->externalMemoryProperties.externalMemoryFeatures =
                (uint)VkExternalMemoryFeatureFlagBits.VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
            pExternalBufferProperties->externalMemoryProperties.compatibleHandleTypes = (uint)info->handleType;
        }
    }

    internal static partial void vkGetPhysicalDeviceExternalFenceProperties(ulong physicalDevice, VkPhysicalDeviceExternalFenceInfo* pExternalFenceInfo, VkExternalFenceProperties* pExternalFenceProperties)
    {
        if (pExternalFenceProperties == null)
            return;
        ExternalHandles.FenceProperties(pExternalFenceInfo, pExternalFenceProperties);
    }

    internal static partial void vkGetPhysicalDeviceExternalSemaphoreProperties(ulong physicalDevice, VkPhysicalDeviceExternalSemaphoreInfo* pExternalSemaphoreInfo, VkExternalSemaphoreProperties* pExternalSemaphoreProperties)
    {
        if (pExternalSemaphoreProperties == null)
            return;
        pExternalSemaphoreProperties->exportFromImportedHandleTypes = 0;
        pExternalSemaphoreProperties->compatibleHandleTypes = 0;
        pExternalSemaphoreProperties->externalSemaphoreFeatures = 0;
        ExternalHandles.SemaphoreProperties(Physical(physicalDevice), pExternalSemaphoreInfo, pExternalSemaphoreProperties);
    }

    internal static partial VkResult vkGetPhysicalDeviceToolProperties(ulong physicalDevice, uint* pToolCount, VkPhysicalDeviceToolProperties* pToolProperties)
    {
        if (pToolCount == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        *pToolCount = 0;
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkGetPhysicalDeviceCalibrateableTimeDomainsKHR(ulong physicalDevice, uint* pTimeDomainCount, VkTimeDomainKHR* pTimeDomains)
    {
        return Enumerate<VkTimeDomainKHR>(Physical(physicalDevice).TimeDomains, pTimeDomainCount, pTimeDomains);
    }

    internal static partial VkResult vkCreateDevice(ulong physicalDevice, VkDeviceCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pDevice)
    {
        return Runtime.Device.Create(Physical(physicalDevice), pCreateInfo, pDevice);
    }
}
