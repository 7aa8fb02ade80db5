using Venus.GuestIcd.Runtime;
using Venus.GuestIcd.Wsi;
using Venus.Protocol.Vulkan;
using PhysicalDevice = Venus.GuestIcd.Runtime.PhysicalDevice;

namespace Venus.GuestIcd.Families;

/// <summary>Hand-written commands of WSI (Wsi/): surface queries, presentation support, swapchains and presents. See Families/IcdCommands.cs for how to add one.</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial VkResult vkGetPhysicalDeviceSurfaceSupportKHR(ulong physicalDevice, uint queueFamilyIndex, ulong surface, uint* pSupported)
    {
        Surface s = Surface.From(surface);
        // Presenting is a copy plus CPU work, which every queue queueFamilyIndex can do.
        *pSupported = queueFamilyIndex < Pd(physicalDevice).QueueFamilies.Length ? 1u : 0u;
        if (s.IsX11 && s.WindowGeometry() is null)
            return VkResult.VK_ERROR_SURFACE_LOST_KHR;
        return VkResult.VK_SUCCESS;
    }

    internal static partial uint vkGetPhysicalDeviceXcbPresentationSupportKHR(ulong physicalDevice, uint queueFamilyIndex, void* connection, uint visual_id) =>
        PresentationSupport(physicalDevice, queueFamilyIndex, (nint)connection, "vkGetPhysicalDeviceXcbPresentationSupportKHR");

    internal static partial uint vkGetPhysicalDeviceXlibPresentationSupportKHR(ulong physicalDevice, uint queueFamilyIndex, void* dpy, ulong visualID) =>
        PresentationSupport(physicalDevice, queueFamilyIndex, (nint)dpy, "vkGetPhysicalDeviceXlibPresentationSupportKHR");

    internal static partial VkResult vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ulong physicalDevice, ulong surface, VkSurfaceCapabilitiesKHR* pSurfaceCapabilities)
    {
        return Surface.From(surface).Capabilities(Pd(physicalDevice), pSurfaceCapabilities);
    }

    internal static partial VkResult vkGetPhysicalDeviceSurfaceCapabilities2KHR(ulong physicalDevice, VkPhysicalDeviceSurfaceInfo2KHR* pSurfaceInfo, VkSurfaceCapabilities2KHR* pSurfaceCapabilities)
    {
        Surface s = Surface.From(pSurfaceInfo->surface);
        VkResult r = s.Capabilities(Pd(physicalDevice), &pSurfaceCapabilities->surfaceCapabilities);
        if (r == VkResult.VK_SUCCESS)
            s.Capabilities2Chain(pSurfaceInfo, pSurfaceCapabilities);
        return r;
    }

    internal static partial VkResult vkGetPhysicalDeviceSurfaceFormatsKHR(ulong physicalDevice, ulong surface, uint* pSurfaceFormatCount, VkSurfaceFormatKHR* pSurfaceFormats)
    {
        VkFormat[] formats = Surface.From(surface).Formats;
        return EnumerateFilled(formats.Length, pSurfaceFormatCount, pSurfaceFormats, (i, p) => p->format = formats[i]);
    }

    internal static partial VkResult vkGetPhysicalDeviceSurfaceFormats2KHR(ulong physicalDevice, VkPhysicalDeviceSurfaceInfo2KHR* pSurfaceInfo, uint* pSurfaceFormatCount, VkSurfaceFormat2KHR* pSurfaceFormats)
    {
        VkFormat[] formats = Surface.From(pSurfaceInfo->surface).Formats;
        return EnumerateFilled(formats.Length, pSurfaceFormatCount, pSurfaceFormats, (i, p) => p->surfaceFormat.format = formats[i]);
    }

    internal static partial VkResult vkGetPhysicalDeviceSurfacePresentModesKHR(ulong physicalDevice, ulong surface, uint* pPresentModeCount, VkPresentModeKHR* pPresentModes)
    {
        Surface.From(surface);
        return EnumerateFilled(Surface.PresentModes.Length, pPresentModeCount, pPresentModes, (i, p) => *p = Surface.PresentModes[i]);
    }

    internal static partial VkResult vkGetPhysicalDevicePresentRectanglesKHR(ulong physicalDevice, ulong surface, uint* pRectCount, VkRect2D* pRects)
    {
        VkSurfaceCapabilitiesKHR caps;
        VkResult r = Surface.From(surface).Capabilities(Pd(physicalDevice), &caps);
        if (r != VkResult.VK_SUCCESS)
            return r;
        VkExtent2D extent = caps.currentExtent.width == uint.MaxValue ? caps.maxImageExtent : caps.currentExtent;
        return EnumerateFilled(1, pRectCount, pRects, (_, p) => *p = new VkRect2D { extent = extent });
    }

    internal static partial VkResult vkCreateSwapchainKHR(ulong device, VkSwapchainCreateInfoKHR* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pSwapchain)
    {
        return Icd.Trace(Swapchain.Create(Dev(device), pCreateInfo, pSwapchain), "vkCreateSwapchainKHR");
    }

    internal static partial void vkDestroySwapchainKHR(ulong device, ulong swapchain, VkAllocationCallbacks* pAllocator)
    {
        if (swapchain != 0)
            Swapchain.Find(swapchain).Destroy();
    }

    internal static partial VkResult vkGetSwapchainImagesKHR(ulong device, ulong swapchain, uint* pSwapchainImageCount, ulong* pSwapchainImages)
    {
        return Swapchain.Find(swapchain).GetImages(pSwapchainImageCount, pSwapchainImages);
    }

    internal static partial VkResult vkAcquireNextImageKHR(ulong device, ulong swapchain, ulong timeout, ulong semaphore, ulong fence, uint* pImageIndex)
    {
        return Icd.Trace(Swapchain.Find(swapchain).Acquire(timeout, semaphore, fence, pImageIndex), "vkAcquireNextImageKHR");
    }

    internal static partial VkResult vkAcquireNextImage2KHR(ulong device, VkAcquireNextImageInfoKHR* pAcquireInfo, uint* pImageIndex)
    {
        return Icd.Trace(Swapchain.Find(pAcquireInfo->swapchain).Acquire(pAcquireInfo->timeout, pAcquireInfo->semaphore, pAcquireInfo->fence, pImageIndex), "vkAcquireNextImage2KHR");
    }

    internal static partial VkResult vkReleaseSwapchainImagesEXT(ulong device, VkReleaseSwapchainImagesInfoEXT* pReleaseInfo)
    {
        return Swapchain.Find(pReleaseInfo->swapchain).Release(pReleaseInfo->imageIndexCount, pReleaseInfo->pImageIndices);
    }

    internal static partial VkResult vkQueuePresentKHR(ulong queue, VkPresentInfoKHR* pPresentInfo)
    {
        var q = DispatchableObject.From<Queue>(queue);
        ulong* presentIds = null, fences = null;
        VkPresentModeKHR* modes = null;
        for (var s = (VkBaseOutStructure*)pPresentInfo->pNext; s != null; s = s->pNext)
        {
            switch (s->sType)
            {
                case VkStructureType.VK_STRUCTURE_TYPE_PRESENT_ID_KHR when ((VkPresentIdKHR*)s)->swapchainCount == pPresentInfo->swapchainCount:
                    presentIds = ((VkPresentIdKHR*)s)->pPresentIds;
                    break;
                case VkStructureType.VK_STRUCTURE_TYPE_SWAPCHAIN_PRESENT_FENCE_INFO_EXT when ((VkSwapchainPresentFenceInfoEXT*)s)->swapchainCount == pPresentInfo->swapchainCount:
                    fences = ((VkSwapchainPresentFenceInfoEXT*)s)->pFences;
                    break;
                case VkStructureType.VK_STRUCTURE_TYPE_SWAPCHAIN_PRESENT_MODE_INFO_EXT when ((VkSwapchainPresentModeInfoEXT*)s)->swapchainCount == pPresentInfo->swapchainCount:
                    modes = ((VkSwapchainPresentModeInfoEXT*)s)->pPresentModes;
                    break;
            }
        }
        VkResult worst = VkResult.VK_SUCCESS;
        for (uint i = 0; i < pPresentInfo->swapchainCount; i++)
        {
            bool first = i == 0;
            VkResult r = Swapchain.Find(pPresentInfo->pSwapchains[i]).Present(q, pPresentInfo->pImageIndices[i],
                first ? pPresentInfo->waitSemaphoreCount : 0, first ? pPresentInfo->pWaitSemaphores : null,
                fences != null ? fences[i] : 0, modes != null ? modes[i] : null, presentIds != null ? presentIds[i] : 0);
            if (pPresentInfo->pResults != null)
                pPresentInfo->pResults[i] = r;
            if (r < 0 ? worst >= 0 || r == VkResult.VK_ERROR_DEVICE_LOST : worst == VkResult.VK_SUCCESS)
                worst = r;
        }
        return Icd.Trace(worst, "vkQueuePresentKHR");
    }

    internal static partial VkResult vkWaitForPresentKHR(ulong device, ulong swapchain, ulong presentId, ulong timeout)
    {
        return Swapchain.Find(swapchain).WaitForPresent(presentId, timeout);
    }

    internal static partial VkResult vkGetDeviceGroupPresentCapabilitiesKHR(ulong device, VkDeviceGroupPresentCapabilitiesKHR* pDeviceGroupPresentCapabilities)
    {
        // One physical device per group here: it presents its own images.
        for (int i = 0; i < 32; i++)
            pDeviceGroupPresentCapabilities->presentMask[i] = 0;
        pDeviceGroupPresentCapabilities->presentMask[0] = 1;
        pDeviceGroupPresentCapabilities->modes = (uint)VkDeviceGroupPresentModeFlagBitsKHR.VK_DEVICE_GROUP_PRESENT_MODE_LOCAL_BIT_KHR;
        return VkResult.VK_SUCCESS;
    }

    internal static partial VkResult vkGetDeviceGroupSurfacePresentModesKHR(ulong device, ulong surface, uint* pModes)
    {
        Surface.From(surface);
        *pModes = (uint)VkDeviceGroupPresentModeFlagBitsKHR.VK_DEVICE_GROUP_PRESENT_MODE_LOCAL_BIT_KHR;
        return VkResult.VK_SUCCESS;
    }

    private static PhysicalDevice Pd(ulong handle) => DispatchableObject.From<PhysicalDevice>(handle);
    private static uint PresentationSupport(ulong physicalDevice, uint family, nint connection, string command)
    {
        try
        {
            return connection != 0 && family < Pd(physicalDevice).QueueFamilies.Length ? 1u : 0u;
        }
        catch (Exception e)
        {
            Icd.Fail(e, command);
            return 0;
        }
    }
    private delegate void Fill<T>(int index, T* item) where T : unmanaged;

    /// <summary>The two-call idiom over <paramref name="total"/> items written by <paramref name="fill"/> (colour space: sRGB nonlinear = 0).</summary>
    private static VkResult EnumerateFilled<T>(int total, uint* pCount, T* pItems, Fill<T> fill) where T : unmanaged
    {
        if (pItems == null)
        {
            *pCount = (uint)total;
            return VkResult.VK_SUCCESS;
        }
        uint n = Math.Min(*pCount, (uint)total);
        for (int i = 0; i < n; i++)
            fill(i, &pItems[i]);
        *pCount = n;
        return n < total ? VkResult.VK_INCOMPLETE : VkResult.VK_SUCCESS;
    }
}
