using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Loader;

/// <summary>
/// The commands that need the guest's own logic (cached physical-device data, object state,
/// local command recording, mapping, polling waits, descriptor clean-up); everything else is
/// generated forwarding (Generated/). Every export catches everything: no exception reaches the app.
/// </summary>
internal static unsafe class HandWritten
{
    private static readonly uint V10 = Ver(0), V11 = Ver(1), V12 = Ver(2), V13 = Ver(3), V14 = Ver(4);
    private static uint Ver(uint minor) => (1u << 22) | (minor << 12);

    public static void Add(Dictionary<string, ProcEntry> t)
    {
        void Put(string name, nint fn, ProcScope scope, uint core, string? ext = null) => t[name] = new ProcEntry(fn, scope, core, ext);

        Put("vkCreateInstance", (nint)(delegate* unmanaged<VkInstanceCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateInstance, ProcScope.Global, V10);
        Put("vkEnumerateInstanceVersion", (nint)(delegate* unmanaged<uint*, VkResult>)&vkEnumerateInstanceVersion, ProcScope.Global, V11);
        Put("vkEnumerateInstanceExtensionProperties", (nint)(delegate* unmanaged<byte*, uint*, VkExtensionProperties*, VkResult>)&vkEnumerateInstanceExtensionProperties, ProcScope.Global, V10);
        Put("vkEnumerateInstanceLayerProperties", (nint)(delegate* unmanaged<uint*, VkLayerProperties*, VkResult>)&vkEnumerateInstanceLayerProperties, ProcScope.Global, V10);
        Put("vkGetInstanceProcAddr", (nint)(delegate* unmanaged<ulong, byte*, nint>)&IcdExports.GetInstanceProcAddr, ProcScope.Global, V10);
        Put("vkDestroyInstance", (nint)(delegate* unmanaged<ulong, VkAllocationCallbacks*, void>)&vkDestroyInstance, ProcScope.Instance, V10);
        Put("vkEnumeratePhysicalDevices", (nint)(delegate* unmanaged<ulong, uint*, ulong*, VkResult>)&vkEnumeratePhysicalDevices, ProcScope.Instance, V10);
        var groups = (nint)(delegate* unmanaged<ulong, uint*, VkPhysicalDeviceGroupProperties*, VkResult>)&vkEnumeratePhysicalDeviceGroups;
        Put("vkEnumeratePhysicalDeviceGroups", groups, ProcScope.Instance, V11);
        Put("vkEnumeratePhysicalDeviceGroupsKHR", groups, ProcScope.Instance, 0, "VK_KHR_device_group_creation");

        Put("vkGetPhysicalDeviceProperties", (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceProperties*, void>)&vkGetPhysicalDeviceProperties, ProcScope.PhysicalDevice, V10);
        var props2 = (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceProperties2*, void>)&vkGetPhysicalDeviceProperties2;
        Put("vkGetPhysicalDeviceProperties2", props2, ProcScope.PhysicalDevice, V11);
        Put("vkGetPhysicalDeviceProperties2KHR", props2, ProcScope.PhysicalDevice, 0, "VK_KHR_get_physical_device_properties2");
        Put("vkGetPhysicalDeviceFeatures", (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceFeatures*, void>)&vkGetPhysicalDeviceFeatures, ProcScope.PhysicalDevice, V10);
        var features2 = (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceFeatures2*, void>)&vkGetPhysicalDeviceFeatures2;
        Put("vkGetPhysicalDeviceFeatures2", features2, ProcScope.PhysicalDevice, V11);
        Put("vkGetPhysicalDeviceFeatures2KHR", features2, ProcScope.PhysicalDevice, 0, "VK_KHR_get_physical_device_properties2");
        Put("vkGetPhysicalDeviceMemoryProperties", (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceMemoryProperties*, void>)&vkGetPhysicalDeviceMemoryProperties, ProcScope.PhysicalDevice, V10);
        var memory2 = (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceMemoryProperties2*, void>)&vkGetPhysicalDeviceMemoryProperties2;
        Put("vkGetPhysicalDeviceMemoryProperties2", memory2, ProcScope.PhysicalDevice, V11);
        Put("vkGetPhysicalDeviceMemoryProperties2KHR", memory2, ProcScope.PhysicalDevice, 0, "VK_KHR_get_physical_device_properties2");
        Put("vkGetPhysicalDeviceQueueFamilyProperties", (nint)(delegate* unmanaged<ulong, uint*, VkQueueFamilyProperties*, void>)&vkGetPhysicalDeviceQueueFamilyProperties, ProcScope.PhysicalDevice, V10);
        var queue2 = (nint)(delegate* unmanaged<ulong, uint*, VkQueueFamilyProperties2*, void>)&vkGetPhysicalDeviceQueueFamilyProperties2;
        Put("vkGetPhysicalDeviceQueueFamilyProperties2", queue2, ProcScope.PhysicalDevice, V11);
        Put("vkGetPhysicalDeviceQueueFamilyProperties2KHR", queue2, ProcScope.PhysicalDevice, 0, "VK_KHR_get_physical_device_properties2");
        Put("vkEnumerateDeviceExtensionProperties", (nint)(delegate* unmanaged<ulong, byte*, uint*, VkExtensionProperties*, VkResult>)&vkEnumerateDeviceExtensionProperties, ProcScope.PhysicalDevice, V10);
        Put("vkEnumerateDeviceLayerProperties", (nint)(delegate* unmanaged<ulong, uint*, VkLayerProperties*, VkResult>)&vkEnumerateDeviceLayerProperties, ProcScope.PhysicalDevice, V10);
        var extBuffer = (nint)(delegate* unmanaged<ulong, void*, VkExternalBufferProperties*, void>)&vkGetPhysicalDeviceExternalBufferProperties;
        Put("vkGetPhysicalDeviceExternalBufferProperties", extBuffer, ProcScope.PhysicalDevice, V11);
        Put("vkGetPhysicalDeviceExternalBufferPropertiesKHR", extBuffer, ProcScope.PhysicalDevice, 0, "VK_KHR_external_memory_capabilities");
        var extFence = (nint)(delegate* unmanaged<ulong, void*, VkExternalFenceProperties*, void>)&vkGetPhysicalDeviceExternalFenceProperties;
        Put("vkGetPhysicalDeviceExternalFenceProperties", extFence, ProcScope.PhysicalDevice, V11);
        Put("vkGetPhysicalDeviceExternalFencePropertiesKHR", extFence, ProcScope.PhysicalDevice, 0, "VK_KHR_external_fence_capabilities");
        var extSem = (nint)(delegate* unmanaged<ulong, void*, VkExternalSemaphoreProperties*, void>)&vkGetPhysicalDeviceExternalSemaphoreProperties;
        Put("vkGetPhysicalDeviceExternalSemaphoreProperties", extSem, ProcScope.PhysicalDevice, V11);
        Put("vkGetPhysicalDeviceExternalSemaphorePropertiesKHR", extSem, ProcScope.PhysicalDevice, 0, "VK_KHR_external_semaphore_capabilities");
        var tools = (nint)(delegate* unmanaged<ulong, uint*, void*, VkResult>)&vkGetPhysicalDeviceToolProperties;
        Put("vkGetPhysicalDeviceToolProperties", tools, ProcScope.PhysicalDevice, V13);
        Put("vkGetPhysicalDeviceToolPropertiesEXT", tools, ProcScope.PhysicalDevice, 0, "VK_EXT_tooling_info");
        var timeDomains = (nint)(delegate* unmanaged<ulong, uint*, VkTimeDomainKHR*, VkResult>)&vkGetPhysicalDeviceCalibrateableTimeDomainsKHR;
        Put("vkGetPhysicalDeviceCalibrateableTimeDomainsKHR", timeDomains, ProcScope.PhysicalDevice, 0, "VK_KHR_calibrated_timestamps");
        Put("vkGetPhysicalDeviceCalibrateableTimeDomainsEXT", timeDomains, ProcScope.PhysicalDevice, 0, "VK_EXT_calibrated_timestamps");
        Put("vkCreateDevice", (nint)(delegate* unmanaged<ulong, VkDeviceCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateDevice, ProcScope.PhysicalDevice, V10);

        Put("vkGetDeviceProcAddr", (nint)(delegate* unmanaged<ulong, byte*, nint>)&IcdExports.GetDeviceProcAddr, ProcScope.Device, V10);
        Put("vkDestroyDevice", (nint)(delegate* unmanaged<ulong, VkAllocationCallbacks*, void>)&vkDestroyDevice, ProcScope.Device, V10);
        Put("vkGetDeviceQueue", (nint)(delegate* unmanaged<ulong, uint, uint, ulong*, void>)&vkGetDeviceQueue, ProcScope.Device, V10);
        Put("vkGetDeviceQueue2", (nint)(delegate* unmanaged<ulong, VkDeviceQueueInfo2*, ulong*, void>)&vkGetDeviceQueue2, ProcScope.Device, V11);
        Put("vkDeviceWaitIdle", (nint)(delegate* unmanaged<ulong, VkResult>)&vkDeviceWaitIdle, ProcScope.Device, V10);
        Put("vkQueueWaitIdle", (nint)(delegate* unmanaged<ulong, VkResult>)&vkQueueWaitIdle, ProcScope.Device, V10);
        Put("vkQueueSubmit", (nint)(delegate* unmanaged<ulong, uint, VkSubmitInfo*, ulong, VkResult>)&vkQueueSubmit, ProcScope.Device, V10);
        var submit2 = (nint)(delegate* unmanaged<ulong, uint, VkSubmitInfo2*, ulong, VkResult>)&vkQueueSubmit2;
        Put("vkQueueSubmit2", submit2, ProcScope.Device, V13);
        Put("vkQueueSubmit2KHR", submit2, ProcScope.Device, 0, "VK_KHR_synchronization2");
        Put("vkQueueBindSparse", (nint)(delegate* unmanaged<ulong, uint, VkBindSparseInfo*, ulong, VkResult>)&vkQueueBindSparse, ProcScope.Device, V10);
        Put("vkAllocateMemory", (nint)(delegate* unmanaged<ulong, VkMemoryAllocateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkAllocateMemory, ProcScope.Device, V10);
        Put("vkFreeMemory", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkFreeMemory, ProcScope.Device, V10);
        Put("vkMapMemory", (nint)(delegate* unmanaged<ulong, ulong, ulong, ulong, uint, void**, VkResult>)&vkMapMemory, ProcScope.Device, V10);
        Put("vkUnmapMemory", (nint)(delegate* unmanaged<ulong, ulong, void>)&vkUnmapMemory, ProcScope.Device, V10);
        Put("vkFlushMappedMemoryRanges", (nint)(delegate* unmanaged<ulong, uint, void*, VkResult>)&vkFlushMappedMemoryRanges, ProcScope.Device, V10);
        Put("vkInvalidateMappedMemoryRanges", (nint)(delegate* unmanaged<ulong, uint, void*, VkResult>)&vkInvalidateMappedMemoryRanges, ProcScope.Device, V10);
        Put("vkGetMemoryHostPointerPropertiesEXT", (nint)(delegate* unmanaged<ulong, uint, void*, VkMemoryHostPointerPropertiesEXT*, VkResult>)&vkGetMemoryHostPointerPropertiesEXT, ProcScope.Device, 0, "VK_EXT_external_memory_host");
        Put("vkCreateFence", (nint)(delegate* unmanaged<ulong, VkFenceCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateFence, ProcScope.Device, V10);
        Put("vkDestroyFence", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroyFence, ProcScope.Device, V10);
        Put("vkResetFences", (nint)(delegate* unmanaged<ulong, uint, ulong*, VkResult>)&vkResetFences, ProcScope.Device, V10);
        Put("vkGetFenceStatus", (nint)(delegate* unmanaged<ulong, ulong, VkResult>)&vkGetFenceStatus, ProcScope.Device, V10);
        Put("vkCreateCommandPool", (nint)(delegate* unmanaged<ulong, VkCommandPoolCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateCommandPool, ProcScope.Device, V10);
        Put("vkDestroyCommandPool", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroyCommandPool, ProcScope.Device, V10);
        Put("vkResetCommandPool", (nint)(delegate* unmanaged<ulong, ulong, uint, VkResult>)&vkResetCommandPool, ProcScope.Device, V10);
        Put("vkAllocateCommandBuffers", (nint)(delegate* unmanaged<ulong, VkCommandBufferAllocateInfo*, ulong*, VkResult>)&vkAllocateCommandBuffers, ProcScope.Device, V10);
        Put("vkFreeCommandBuffers", (nint)(delegate* unmanaged<ulong, ulong, uint, ulong*, void>)&vkFreeCommandBuffers, ProcScope.Device, V10);
        Put("vkBeginCommandBuffer", (nint)(delegate* unmanaged<ulong, VkCommandBufferBeginInfo*, VkResult>)&vkBeginCommandBuffer, ProcScope.Device, V10);
        Put("vkEndCommandBuffer", (nint)(delegate* unmanaged<ulong, VkResult>)&vkEndCommandBuffer, ProcScope.Device, V10);
        Put("vkResetCommandBuffer", (nint)(delegate* unmanaged<ulong, uint, VkResult>)&vkResetCommandBuffer, ProcScope.Device, V10);
        Put("vkWaitForFences", (nint)(delegate* unmanaged<ulong, uint, ulong*, uint, ulong, VkResult>)&vkWaitForFences, ProcScope.Device, V10);
        var waitSem = (nint)(delegate* unmanaged<ulong, VkSemaphoreWaitInfo*, ulong, VkResult>)&vkWaitSemaphores;
        Put("vkWaitSemaphores", waitSem, ProcScope.Device, V12);
        Put("vkWaitSemaphoresKHR", waitSem, ProcScope.Device, 0, "VK_KHR_timeline_semaphore");
        Put("vkUpdateDescriptorSets", (nint)(delegate* unmanaged<ulong, uint, VkWriteDescriptorSet*, uint, VkCopyDescriptorSet*, void>)&vkUpdateDescriptorSets, ProcScope.Device, V10);
        var createTemplate = (nint)(delegate* unmanaged<ulong, VkDescriptorUpdateTemplateCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateDescriptorUpdateTemplate;
        Put("vkCreateDescriptorUpdateTemplate", createTemplate, ProcScope.Device, V11);
        Put("vkCreateDescriptorUpdateTemplateKHR", createTemplate, ProcScope.Device, 0, "VK_KHR_descriptor_update_template");
        var destroyTemplate = (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroyDescriptorUpdateTemplate;
        Put("vkDestroyDescriptorUpdateTemplate", destroyTemplate, ProcScope.Device, V11);
        Put("vkDestroyDescriptorUpdateTemplateKHR", destroyTemplate, ProcScope.Device, 0, "VK_KHR_descriptor_update_template");
        var updateTemplate = (nint)(delegate* unmanaged<ulong, ulong, ulong, void*, void>)&vkUpdateDescriptorSetWithTemplate;
        Put("vkUpdateDescriptorSetWithTemplate", updateTemplate, ProcScope.Device, V11);
        Put("vkUpdateDescriptorSetWithTemplateKHR", updateTemplate, ProcScope.Device, 0, "VK_KHR_descriptor_update_template");
        var push = (nint)(delegate* unmanaged<ulong, VkPipelineBindPoint, ulong, uint, uint, VkWriteDescriptorSet*, void>)&vkCmdPushDescriptorSet;
        Put("vkCmdPushDescriptorSet", push, ProcScope.Device, V14);
        Put("vkCmdPushDescriptorSetKHR", push, ProcScope.Device, 0, "VK_KHR_push_descriptor");
        var pushTemplate = (nint)(delegate* unmanaged<ulong, ulong, ulong, uint, void*, void>)&vkCmdPushDescriptorSetWithTemplate;
        Put("vkCmdPushDescriptorSetWithTemplate", pushTemplate, ProcScope.Device, V14);
        Put("vkCmdPushDescriptorSetWithTemplateKHR", pushTemplate, ProcScope.Device, 0, "VK_KHR_push_descriptor");
        var timestamps = (nint)(delegate* unmanaged<ulong, uint, VkCalibratedTimestampInfoKHR*, ulong*, ulong*, VkResult>)&vkGetCalibratedTimestampsKHR;
        Put("vkGetCalibratedTimestampsKHR", timestamps, ProcScope.Device, 0, "VK_KHR_calibrated_timestamps");
        Put("vkGetCalibratedTimestampsEXT", timestamps, ProcScope.Device, 0, "VK_EXT_calibrated_timestamps");
        Put("vkGetBufferMemoryRequirements", (nint)(delegate* unmanaged<ulong, ulong, VkMemoryRequirements*, void>)&vkGetBufferMemoryRequirements, ProcScope.Device, V10);
        Put("vkCreateBuffer", (nint)(delegate* unmanaged<ulong, VkBufferCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateBuffer, ProcScope.Device, V10);
        Put("vkDestroyBuffer", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroyBuffer, ProcScope.Device, V10);
        Put("vkGetQueryPoolResults", (nint)(delegate* unmanaged<ulong, ulong, uint, uint, nuint, void*, ulong, uint, VkResult>)&vkGetQueryPoolResults, ProcScope.Device, V10);
        Put("vkCreateGraphicsPipelines", (nint)(delegate* unmanaged<ulong, ulong, uint, VkGraphicsPipelineCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateGraphicsPipelines, ProcScope.Device, V10);
        Vulkan14Commands.Add(Put);
        FeedbackCommands.Add(Put);
        RayTracing.Add(Put);
        ExternalCommands.Add(Put);
        Wsi.WsiCommands.Add(t);
    }

    // ---- global and instance ----------------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static VkResult vkCreateInstance(VkInstanceCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pInstance)
    {
        try
        {
            return GuestInstance.Create(pCreateInfo, pInstance);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCreateInstance");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkDestroyInstance(ulong instance, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            if (instance != 0)
                DispatchableObject.From<GuestInstance>(instance).Destroy();
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyInstance");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkEnumerateInstanceVersion(uint* pApiVersion)
    {
        if (pApiVersion == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        *pApiVersion = GuestInstance.DriverApiVersion;
        return VkResult.VK_SUCCESS;
    }

    [UnmanagedCallersOnly]
    private static VkResult vkEnumerateInstanceExtensionProperties(byte* pLayerName, uint* pPropertyCount, VkExtensionProperties* pProperties)
    {
        try
        {
            if (pLayerName != null)
                return VkResult.VK_ERROR_LAYER_NOT_PRESENT;
            return Enumerate<VkExtensionProperties>(GuestInstance.ExtensionProperties, pPropertyCount, pProperties);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkEnumerateInstanceExtensionProperties");
        }
    }

    /// <summary>
    /// The Vulkan two-call idiom: with no output array, the count; otherwise up to *pCount items
    /// and VK_INCOMPLETE when that was not all of them.
    /// </summary>
    private static VkResult Enumerate<T>(ReadOnlySpan<T> items, uint* pCount, T* pItems) where T : unmanaged
    {
        if (pCount == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        if (pItems == null)
        {
            *pCount = (uint)items.Length;
            return VkResult.VK_SUCCESS;
        }
        uint n = Math.Min(*pCount, (uint)items.Length);
        items[..(int)n].CopyTo(new Span<T>(pItems, (int)n));
        *pCount = n;
        return n < items.Length ? VkResult.VK_INCOMPLETE : VkResult.VK_SUCCESS;
    }

    [UnmanagedCallersOnly]
    private static VkResult vkEnumerateInstanceLayerProperties(uint* pPropertyCount, VkLayerProperties* pProperties)
    {
        if (pPropertyCount == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        *pPropertyCount = 0;
        return VkResult.VK_SUCCESS;
    }

    [UnmanagedCallersOnly]
    private static VkResult vkEnumeratePhysicalDevices(ulong instance, uint* pCount, ulong* pDevices)
    {
        try
        {
            return Enumerate<ulong>(DispatchableObject.From<GuestInstance>(instance).PhysicalDeviceHandles, pCount, pDevices);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkEnumeratePhysicalDevices");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkEnumeratePhysicalDeviceGroups(ulong instance, uint* pCount, VkPhysicalDeviceGroupProperties* pGroups)
    {
        try
        {
            // One group per device: the protocol has no multi-GPU groups to offer.
            var devices = DispatchableObject.From<GuestInstance>(instance).PhysicalDevices;
            if (pGroups == null)
            {
                *pCount = (uint)devices.Length;
                return VkResult.VK_SUCCESS;
            }
            uint n = Math.Min(*pCount, (uint)devices.Length);
            for (int i = 0; i < n; i++)
            {
                pGroups[i].physicalDeviceCount = 1;
                pGroups[i].physicalDevices[0] = devices[i].Handle;
                for (int j = 1; j < 32; j++)
                    pGroups[i].physicalDevices[j] = 0;
                pGroups[i].subsetAllocation = 0;
            }
            *pCount = n;
            return n < devices.Length ? VkResult.VK_INCOMPLETE : VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkEnumeratePhysicalDeviceGroups");
        }
    }

    // ---- physical device --------------------------------------------------------------------------

    private static Runtime.PhysicalDevice Physical(ulong handle) => DispatchableObject.From<Runtime.PhysicalDevice>(handle);

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceProperties(ulong physicalDevice, VkPhysicalDeviceProperties* pProperties)
    {
        try
        {
            *pProperties = Physical(physicalDevice).Properties;
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetPhysicalDeviceProperties");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceProperties2(ulong physicalDevice, VkPhysicalDeviceProperties2* pProperties)
    {
        try
        {
            Physical(physicalDevice).GetProperties2(pProperties);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetPhysicalDeviceProperties2");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceFeatures(ulong physicalDevice, VkPhysicalDeviceFeatures* pFeatures)
    {
        try
        {
            *pFeatures = Physical(physicalDevice).Features;
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetPhysicalDeviceFeatures");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceFeatures2(ulong physicalDevice, VkPhysicalDeviceFeatures2* pFeatures)
    {
        try
        {
            Physical(physicalDevice).GetFeatures2(pFeatures);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetPhysicalDeviceFeatures2");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceMemoryProperties(ulong physicalDevice, VkPhysicalDeviceMemoryProperties* pProperties)
    {
        try
        {
            *pProperties = Physical(physicalDevice).MemoryProperties;
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetPhysicalDeviceMemoryProperties");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceMemoryProperties2(ulong physicalDevice, VkPhysicalDeviceMemoryProperties2* pProperties)
    {
        try
        {
            var pd = Physical(physicalDevice);
            if (pProperties->pNext != null)
                Calls.vkGetPhysicalDeviceMemoryProperties2(pd.Ring, physicalDevice, pProperties);
            pd.PatchMemoryProperties2(pProperties);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetPhysicalDeviceMemoryProperties2");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceQueueFamilyProperties(ulong physicalDevice, uint* pCount, VkQueueFamilyProperties* pProperties)
    {
        try
        {
            Enumerate(Physical(physicalDevice).QueueFamilies, pCount, pProperties);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetPhysicalDeviceQueueFamilyProperties");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceQueueFamilyProperties2(ulong physicalDevice, uint* pCount, VkQueueFamilyProperties2* pProperties)
    {
        try
        {
            var pd = Physical(physicalDevice);
            var families = pd.QueueFamilies;
            if (pProperties == null)
            {
                *pCount = (uint)families.Length;
                return;
            }
            bool chained = false;
            uint n = Math.Min(*pCount, (uint)families.Length);
            for (int i = 0; i < n; i++)
                chained |= pProperties[i].pNext != null;
            if (chained)
                Calls.vkGetPhysicalDeviceQueueFamilyProperties2(pd.Ring, physicalDevice, &n, pProperties);
            for (int i = 0; i < n; i++)
                pProperties[i].queueFamilyProperties = families[i];
            *pCount = n;
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetPhysicalDeviceQueueFamilyProperties2");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkEnumerateDeviceExtensionProperties(ulong physicalDevice, byte* pLayerName, uint* pCount, VkExtensionProperties* pProperties)
    {
        try
        {
            if (pLayerName != null)
                return VkResult.VK_ERROR_LAYER_NOT_PRESENT;
            return Enumerate(Physical(physicalDevice).Extensions, pCount, pProperties);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkEnumerateDeviceExtensionProperties");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkEnumerateDeviceLayerProperties(ulong physicalDevice, uint* pCount, VkLayerProperties* pProperties)
    {
        if (pCount == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        *pCount = 0;
        return VkResult.VK_SUCCESS;
    }

    // External handles: host pointers (HostPointerMemory), memory fds where the transport shares them,
    // SYNC_FD fences and semaphores (Loader/ExternalCommands.cs); nothing else.
    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceExternalBufferProperties(ulong physicalDevice, void* pInfo, VkExternalBufferProperties* pProperties)
    {
        if (pProperties == null)
            return;
        pProperties->externalMemoryProperties = default;
        var info = (VkPhysicalDeviceExternalBufferInfo*)pInfo;
        try
        {
            if (info != null && ExternalCommands.BufferProperties(Physical(physicalDevice), info, pProperties))
                return;
        }
        catch (Exception e)
        {
            pProperties->externalMemoryProperties = default;
            Icd.FailVoid(e, "vkGetPhysicalDeviceExternalBufferProperties");
            return;
        }
        // Host pointers are imported by this driver itself (HostPointerMemory).
        if (info != null && HostPointerMemory.IsHostHandleType((uint)info->handleType))
        {
            pProperties->externalMemoryProperties.externalMemoryFeatures =
                (uint)VkExternalMemoryFeatureFlagBits.VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT;
            pProperties->externalMemoryProperties.compatibleHandleTypes = (uint)info->handleType;
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceExternalFenceProperties(ulong physicalDevice, void* pInfo, VkExternalFenceProperties* pProperties)
    {
        if (pProperties == null)
            return;
        ExternalCommands.FenceProperties((VkPhysicalDeviceExternalFenceInfo*)pInfo, pProperties);
    }

    [UnmanagedCallersOnly]
    private static void vkGetPhysicalDeviceExternalSemaphoreProperties(ulong physicalDevice, void* pInfo, VkExternalSemaphoreProperties* pProperties)
    {
        if (pProperties == null)
            return;
        try
        {
            ExternalCommands.SemaphoreProperties(Physical(physicalDevice), (VkPhysicalDeviceExternalSemaphoreInfo*)pInfo, pProperties);
        }
        catch (Exception e)
        {
            pProperties->compatibleHandleTypes = 0;
            pProperties->exportFromImportedHandleTypes = 0;
            pProperties->externalSemaphoreFeatures = 0;
            Icd.FailVoid(e, "vkGetPhysicalDeviceExternalSemaphoreProperties");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceToolProperties(ulong physicalDevice, uint* pCount, void* pProperties)
    {
        if (pCount == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        *pCount = 0;
        return VkResult.VK_SUCCESS;
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceCalibrateableTimeDomainsKHR(ulong physicalDevice, uint* pCount, VkTimeDomainKHR* pDomains)
    {
        try
        {
            return Enumerate<VkTimeDomainKHR>(Physical(physicalDevice).TimeDomains, pCount, pDomains);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDeviceCalibrateableTimeDomainsKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCreateDevice(ulong physicalDevice, VkDeviceCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pDevice)
    {
        try
        {
            return Runtime.Device.Create(Physical(physicalDevice), pCreateInfo, pDevice);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCreateDevice");
        }
    }

    // ---- device and queues ------------------------------------------------------------------------

    private static Runtime.Device Dev(ulong handle) => DispatchableObject.From<Runtime.Device>(handle);

    [UnmanagedCallersOnly]
    private static void vkDestroyDevice(ulong device, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            if (device != 0)
                Dev(device).Destroy();
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyDevice");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetDeviceQueue(ulong device, uint family, uint index, ulong* pQueue)
    {
        try
        {
            *pQueue = Dev(device).FindQueue(family, index, 0)?.Handle ?? 0;
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetDeviceQueue");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkGetDeviceQueue2(ulong device, VkDeviceQueueInfo2* pInfo, ulong* pQueue)
    {
        try
        {
            *pQueue = Dev(device).FindQueue(pInfo->queueFamilyIndex, pInfo->queueIndex, pInfo->flags)?.Handle ?? 0;
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetDeviceQueue2");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkDeviceWaitIdle(ulong device)
    {
        try
        {
            Device dev = Dev(device);
            foreach (Queue q in dev.Queues)
            {
                VkResult r = q.WaitIdle();
                if (r != VkResult.VK_SUCCESS)
                    return r;
            }
            return Completed(dev, VkResult.VK_SUCCESS);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkDeviceWaitIdle");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkQueueWaitIdle(ulong queue)
    {
        try
        {
            Queue q = DispatchableObject.From<Queue>(queue);
            return Completed(q.Device, q.WaitIdle());
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkQueueWaitIdle");
        }
    }

    // Submissions go through the ring without a reply (§8.5): the command buffers already went at vkEndCommandBuffer.
    [UnmanagedCallersOnly]
    private static VkResult vkQueueSubmit(ulong queue, uint submitCount, VkSubmitInfo* pSubmits, ulong fence)
    {
        try
        {
            Queue q = DispatchableObject.From<Queue>(queue);
            q.Device.PushHostWrites();
            Submits.Submit(q, submitCount, pSubmits, fence);
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkQueueSubmit");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkQueueSubmit2(ulong queue, uint submitCount, VkSubmitInfo2* pSubmits, ulong fence)
    {
        try
        {
            Queue q = DispatchableObject.From<Queue>(queue);
            q.Device.PushHostWrites();
            Submits.Submit2(q, submitCount, pSubmits, fence);
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkQueueSubmit2");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkQueueBindSparse(ulong queue, uint bindInfoCount, VkBindSparseInfo* pBindInfo, ulong fence)
    {
        try
        {
            Queue q = DispatchableObject.From<Queue>(queue);
            q.Device.PushHostWrites();
            Submits.BindSparse(q, bindInfoCount, pBindInfo, fence);
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkQueueBindSparse");
        }
    }

    // ---- memory -----------------------------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static VkResult vkAllocateMemory(ulong device, VkMemoryAllocateInfo* pAllocateInfo, VkAllocationCallbacks* pAllocator, ulong* pMemory)
    {
        try
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
            if (dev.PhysicalDevice.IsMappable(info.memoryTypeIndex) && info.allocationSize <= ulong.MaxValue - 4095)
                info.allocationSize = (info.allocationSize + 4095) & ~4095UL;
            // Exportable memory and fd imports (Loader/ExternalCommands.cs): an fd travels as its resource id.
            using ExternalCommands.Allocation? external = ExternalCommands.Allocation.Prepare(dev, ref info, out VkResult refusal);
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
        catch (Exception e)
        {
            return Icd.Fail(e, "vkAllocateMemory");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkFreeMemory(ulong device, ulong memory, VkAllocationCallbacks* pAllocator)
    {
        try
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
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkFreeMemory");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkMapMemory(ulong device, ulong memory, ulong offset, ulong size, uint flags, void** ppData)
    {
        try
        {
            var dev = Dev(device);
            dev.Ring.ThrowIfLost();
            if (!dev.Memories.TryGetValue(memory, out DeviceMemory? m))
                return VkResult.VK_ERROR_MEMORY_MAP_FAILED;
            return Icd.Trace(m.Map(offset, size, ppData), "vkMapMemory");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkMapMemory");
        }
    }

    // The blob stays mapped until vkFreeMemory: a later map is free, and the pages are the host's own.
    [UnmanagedCallersOnly]
    private static void vkUnmapMemory(ulong device, ulong memory)
    {
    }

    // Mappings are coherent (the guest maps the host's pages): flush and invalidate only move the
    // changes of imported host memory (HostPointerMemory), whose app side is not the host's pages.
    [UnmanagedCallersOnly]
    private static VkResult vkFlushMappedMemoryRanges(ulong device, uint count, void* pRanges)
    {
        try
        {
            Dev(device).PushHostWrites();
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkFlushMappedMemoryRanges");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkInvalidateMappedMemoryRanges(ulong device, uint count, void* pRanges)
    {
        try
        {
            Dev(device).PullDeviceWrites();
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkInvalidateMappedMemoryRanges");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetMemoryHostPointerPropertiesEXT(ulong device, uint handleType, void* pHostPointer, VkMemoryHostPointerPropertiesEXT* pProperties)
    {
        try
        {
            return Icd.Trace(HostPointerMemory.GetProperties(Dev(device).PhysicalDevice, handleType, pHostPointer, pProperties),
                "vkGetMemoryHostPointerPropertiesEXT");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetMemoryHostPointerPropertiesEXT");
        }
    }

    // ---- command pools and buffers ---------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static VkResult vkCreateCommandPool(ulong device, VkCommandPoolCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pPool)
    {
        try
        {
            var dev = Dev(device);
            ulong id = dev.Instance.NewObjectId();
            VkResult r = Calls.vkCreateCommandPool(dev.Ring, device, pCreateInfo, null, &id);
            if (r != VkResult.VK_SUCCESS)
                return Icd.Trace(r, "vkCreateCommandPool");
            dev.CommandPools[id] = new CommandPool(id, pCreateInfo->flags, pCreateInfo->queueFamilyIndex);
            *pPool = id;
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCreateCommandPool");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkDestroyCommandPool(ulong device, ulong pool, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            if (pool == 0)
                return;
            var dev = Dev(device);
            Sends.vkDestroyCommandPool(dev.Ring, device, pool, null);
            if (dev.CommandPools.TryRemove(pool, out CommandPool? p))
                p.FreeAll();
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyCommandPool");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkResetCommandPool(ulong device, ulong pool, uint flags)
    {
        try
        {
            var dev = Dev(device);
            Sends.vkResetCommandPool(dev.Ring, device, pool, flags);
            if (dev.CommandPools.TryGetValue(pool, out CommandPool? p))
                lock (p.Buffers)
                    foreach (CommandBuffer cb in p.Buffers)
                        cb.ResetStream();
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkResetCommandPool");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkAllocateCommandBuffers(ulong device, VkCommandBufferAllocateInfo* pInfo, ulong* pCommandBuffers)
    {
        try
        {
            var dev = Dev(device);
            if (!dev.CommandPools.TryGetValue(pInfo->commandPool, out CommandPool? pool))
                return VkResult.VK_ERROR_INITIALIZATION_FAILED;
            uint n = pInfo->commandBufferCount;
            var made = new CommandBuffer[n];
            for (uint i = 0; i < n; i++)
            {
                made[i] = new CommandBuffer(dev, pool, pInfo->level);
                pCommandBuffers[i] = made[i].Handle;
            }
            VkResult r = Calls.vkAllocateCommandBuffers(dev.Ring, device, pInfo, pCommandBuffers);
            if (r != VkResult.VK_SUCCESS)
            {
                foreach (CommandBuffer cb in made)
                    cb.Free();
                for (uint i = 0; i < n; i++)
                    pCommandBuffers[i] = 0;
                return Icd.Trace(r, "vkAllocateCommandBuffers");
            }
            lock (pool.Buffers)
                foreach (CommandBuffer cb in made)
                    pool.Buffers.Add(cb);
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkAllocateCommandBuffers");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkFreeCommandBuffers(ulong device, ulong pool, uint count, ulong* pCommandBuffers)
    {
        try
        {
            var dev = Dev(device);
            Sends.vkFreeCommandBuffers(dev.Ring, device, pool, count, pCommandBuffers);
            for (uint i = 0; i < count; i++)
            {
                if (pCommandBuffers[i] == 0)
                    continue;
                var cb = CommandBuffer.FromHandle(pCommandBuffers[i]);
                lock (cb.Pool.Buffers)
                    cb.Pool.Buffers.Remove(cb);
                cb.Free();
            }
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkFreeCommandBuffers");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkBeginCommandBuffer(ulong commandBuffer, VkCommandBufferBeginInfo* pBeginInfo)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            cb.ResetStream();
            VkCommandBufferBeginInfo info = *pBeginInfo;
            if (cb.Level == VkCommandBufferLevel.VK_COMMAND_BUFFER_LEVEL_PRIMARY)
                info.pInheritanceInfo = null; // ignored for primaries; may be garbage
            var e = cb.Reserve(Venus.Protocol.Commands.vkBeginCommandBuffer.Size(commandBuffer, &info, cb.StreamFilter));
            Venus.Protocol.Commands.vkBeginCommandBuffer.Encode(ref e, 0, commandBuffer, &info);
            cb.Commit(in e);
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkBeginCommandBuffer");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkEndCommandBuffer(ulong commandBuffer)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            var e = cb.Reserve(Venus.Protocol.Commands.vkEndCommandBuffer.Size(commandBuffer, cb.StreamFilter));
            Venus.Protocol.Commands.vkEndCommandBuffer.Encode(ref e, 0, commandBuffer);
            cb.Commit(in e);
            VkResult recorded = cb.RecordResult;
            GuestRing ring = cb.Ring;
            ring.Enter();
            try
            {
                cb.Flush(ring);
            }
            finally
            {
                ring.Exit();
            }
            return recorded;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkEndCommandBuffer");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkResetCommandBuffer(ulong commandBuffer, uint flags)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            cb.ResetStream();
            Sends.vkResetCommandBuffer(cb.Ring, commandBuffer, flags);
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkResetCommandBuffer");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetCalibratedTimestampsKHR(ulong device, uint timestampCount, VkCalibratedTimestampInfoKHR* pTimestampInfos, ulong* pTimestamps, ulong* pMaxDeviation)
    {
        try
        {
            return Icd.Trace(Timestamps.Get(Dev(device), timestampCount, pTimestampInfos, pTimestamps, pMaxDeviation), "vkGetCalibratedTimestampsKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetCalibratedTimestampsKHR");
        }
    }

    // ---- waits ------------------------------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static VkResult vkWaitForFences(ulong device, uint fenceCount, ulong* pFences, uint waitAll, ulong timeout)
    {
        try
        {
            Device dev = Dev(device);
            return Icd.Trace(Completed(dev, Sync.WaitFences(dev, fenceCount, pFences, waitAll, timeout)), "vkWaitForFences");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkWaitForFences");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkWaitSemaphores(ulong device, VkSemaphoreWaitInfo* pWaitInfo, ulong timeout)
    {
        try
        {
            Device dev = Dev(device);
            return Icd.Trace(Completed(dev, Sync.WaitSemaphores(dev, pWaitInfo, timeout)), "vkWaitSemaphores");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkWaitSemaphores");
        }
    }

    /// <summary>A wait or status query that saw work complete: the device's writes to imported host memory become the app's.</summary>
    internal static VkResult Completed(Device device, VkResult r)
    {
        if (r == VkResult.VK_SUCCESS || r == VkResult.VK_EVENT_SET)
            device.PullDeviceWrites();
        return r;
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCreateFence(ulong device, VkFenceCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pFence)
    {
        try
        {
            return Icd.Trace(Fences.Create(Dev(device), pCreateInfo, pFence), "vkCreateFence");
        }
        catch (Exception e)
        {
            *pFence = 0;
            return Icd.Fail(e, "vkCreateFence");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkDestroyFence(ulong device, ulong fence, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            Fences.Destroy(Dev(device), fence);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyFence");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkResetFences(ulong device, uint fenceCount, ulong* pFences)
    {
        try
        {
            return Icd.Trace(Fences.Reset(Dev(device), fenceCount, pFences), "vkResetFences");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkResetFences");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetFenceStatus(ulong device, ulong fence)
    {
        try
        {
            Device dev = Dev(device);
            return Icd.Trace(Completed(dev, Fences.Status(dev, fence)), "vkGetFenceStatus");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetFenceStatus");
        }
    }

    // ---- descriptors and pipelines ----------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static void vkUpdateDescriptorSets(ulong device, uint writeCount, VkWriteDescriptorSet* pWrites, uint copyCount, VkCopyDescriptorSet* pCopies)
    {
        try
        {
            Descriptors.Update(Dev(device), writeCount, pWrites, copyCount, pCopies);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkUpdateDescriptorSets");
        }
    }

    // Templates live in the guest only: updates with them become vkUpdateDescriptorSets.
    [UnmanagedCallersOnly]
    private static VkResult vkCreateDescriptorUpdateTemplate(ulong device, VkDescriptorUpdateTemplateCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pTemplate)
    {
        try
        {
            var dev = Dev(device);
            var entries = new VkDescriptorUpdateTemplateEntry[pCreateInfo->descriptorUpdateEntryCount];
            for (int i = 0; i < entries.Length; i++)
                entries[i] = pCreateInfo->pDescriptorUpdateEntries[i];
            ulong id = dev.Instance.NewObjectId();
            dev.Templates[id] = new DescriptorUpdateTemplate(entries, pCreateInfo->templateType, pCreateInfo->pipelineBindPoint);
            *pTemplate = id;
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCreateDescriptorUpdateTemplate");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkDestroyDescriptorUpdateTemplate(ulong device, ulong template, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            Dev(device).Templates.TryRemove(template, out _);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyDescriptorUpdateTemplate");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkUpdateDescriptorSetWithTemplate(ulong device, ulong set, ulong template, void* pData)
    {
        try
        {
            var dev = Dev(device);
            if (!dev.Templates.TryGetValue(template, out DescriptorUpdateTemplate? t))
                throw new InvalidOperationException($"unknown descriptor update template 0x{template:x}");
            Descriptors.UpdateWithTemplate(dev, set, t, (byte*)pData);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkUpdateDescriptorSetWithTemplate");
        }
    }

    // Push descriptors are recorded like every vkCmd*: no allocation once the command buffer's
    // scratch has grown; the writes are cleaned (or, for a template, built) there.
    [UnmanagedCallersOnly]
    private static void vkCmdPushDescriptorSet(ulong commandBuffer, VkPipelineBindPoint pipelineBindPoint, ulong layout, uint set, uint descriptorWriteCount, VkWriteDescriptorSet* pDescriptorWrites)
    {
        try
        {
            Descriptors.Push(CommandBuffer.FromHandle(commandBuffer), pipelineBindPoint, layout, set, descriptorWriteCount, pDescriptorWrites);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdPushDescriptorSet");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkCmdPushDescriptorSetWithTemplate(ulong commandBuffer, ulong descriptorUpdateTemplate, ulong layout, uint set, void* pData)
    {
        try
        {
            var cb = CommandBuffer.FromHandle(commandBuffer);
            if (!cb.Device.Templates.TryGetValue(descriptorUpdateTemplate, out DescriptorUpdateTemplate? t))
                throw new InvalidOperationException($"unknown descriptor update template 0x{descriptorUpdateTemplate:x}");
            Descriptors.PushWithTemplate(cb, t, layout, set, (byte*)pData);
        }
        catch (Exception e)
        {
            CommandBuffer.FailSafe(commandBuffer, e, "vkCmdPushDescriptorSetWithTemplate");
        }
    }

    /// <summary>A buffer's requirements never change: asked of the host once per buffer, then answered here.</summary>
    [UnmanagedCallersOnly]
    private static void vkGetBufferMemoryRequirements(ulong device, ulong buffer, VkMemoryRequirements* pRequirements)
    {
        try
        {
            var dev = Dev(device);
            if (dev.BufferRequirements.TryGetValue(buffer, out VkMemoryRequirements cached))
            {
                *pRequirements = cached;
                return;
            }
            Calls.vkGetBufferMemoryRequirements(dev.Ring, device, buffer, pRequirements);
            dev.BufferRequirements[buffer] = *pRequirements;
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkGetBufferMemoryRequirements");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCreateBuffer(ulong device, VkBufferCreateInfo* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pBuffer)
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

    [UnmanagedCallersOnly]
    private static void vkDestroyBuffer(ulong device, ulong buffer, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            if (buffer == 0)
                return;
            var dev = Dev(device);
            dev.BufferRequirements.TryRemove(buffer, out _);
            Sends.vkDestroyBuffer(dev.Ring, device, buffer, null);
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroyBuffer");
        }
    }

    /// <summary>
    /// VK_QUERY_RESULT_WAIT_BIT would block the host's ring thread; the wait happens here instead,
    /// polling without the bit while the host answers VK_NOT_READY.
    /// </summary>
    [UnmanagedCallersOnly]
    private static VkResult vkGetQueryPoolResults(ulong device, ulong queryPool, uint firstQuery, uint queryCount, nuint dataSize, void* pData, ulong stride, uint flags)
    {
        const uint waitBit = (uint)VkQueryResultFlagBits.VK_QUERY_RESULT_WAIT_BIT;
        try
        {
            var dev = Dev(device);
            uint hostFlags = flags & ~waitBit;
            var relax = new GuestRing.Relax(dev.Ring);
            while (true)
            {
                VkResult r = Calls.vkGetQueryPoolResults(dev.Ring, device, queryPool, firstQuery, queryCount, dataSize, pData, stride, hostFlags);
                if (r != VkResult.VK_NOT_READY || (flags & waitBit) == 0)
                    return Icd.Trace(r, "vkGetQueryPoolResults");
                relax.Step();
            }
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetQueryPoolResults");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkCreateGraphicsPipelines(ulong device, ulong cache, uint count, VkGraphicsPipelineCreateInfo* pCreateInfos, VkAllocationCallbacks* pAllocator, ulong* pPipelines)
    {
        try
        {
            var dev = Dev(device);
            var clean = (VkGraphicsPipelineCreateInfo*)NativeMemory.Alloc((nuint)Math.Max(count, 1u), (nuint)sizeof(VkGraphicsPipelineCreateInfo));
            var copies = (Pipelines.StateCopies*)NativeMemory.Alloc((nuint)Math.Max(count, 1u), (nuint)sizeof(Pipelines.StateCopies));
            try
            {
                for (uint i = 0; i < count; i++)
                {
                    clean[i] = pCreateInfos[i];
                    Pipelines.Sanitize(&clean[i], &copies[i], dev);
                    pPipelines[i] = dev.Instance.NewObjectId();
                }
                return Icd.Trace(Calls.vkCreateGraphicsPipelines(dev.Ring, device, cache, count, clean, null, pPipelines), "vkCreateGraphicsPipelines");
            }
            finally
            {
                NativeMemory.Free(copies);
                NativeMemory.Free(clean);
            }
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCreateGraphicsPipelines");
        }
    }
}
