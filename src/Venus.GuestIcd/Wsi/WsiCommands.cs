using System.Runtime.InteropServices;
using Venus.GuestIcd.Loader;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Wsi;

/// <summary>
/// The WSI entry points: surface queries (VK_KHR_surface, VK_KHR_get_surface_capabilities2,
/// VK_EXT_surface_maintenance1, the xcb/xlib presentation-support queries) and swapchains
/// (VK_KHR_swapchain with its device-group queries, VK_EXT_swapchain_maintenance1,
/// VK_KHR_present_id, VK_KHR_present_wait; VK_KHR_incremental_present's regions are a hint and the
/// whole image is presented). vkCreate*SurfaceKHR and vkDestroySurfaceKHR are the loader's.
/// </summary>
internal static unsafe class WsiCommands
{
    /// <summary>The instance extensions behind these commands; the X11 ones only when libxcb loads.</summary>
    public static IEnumerable<(string Name, uint Spec)> InstanceExtensions()
    {
        yield return ("VK_KHR_surface", 25);
        yield return ("VK_KHR_get_surface_capabilities2", 1);
        yield return ("VK_EXT_surface_maintenance1", 1);
        yield return ("VK_EXT_headless_surface", 1);
        if (Xcb.Available)
            yield return ("VK_KHR_xcb_surface", 6);
        if (Xcb.XlibAvailable)
            yield return ("VK_KHR_xlib_surface", 6);
    }

    /// <summary>The device extensions this driver implements for any host.</summary>
    public static readonly (string Name, uint Spec)[] DeviceExtensions =
    [
        ("VK_KHR_swapchain", 70), ("VK_KHR_incremental_present", 2), ("VK_EXT_swapchain_maintenance1", 1),
        ("VK_KHR_present_id", 1), ("VK_KHR_present_wait", 1),
    ];

    /// <summary>Feature structs of <see cref="DeviceExtensions"/>, filled here (the host never sees them).</summary>
    public static void FillFeatures(VkBaseOutStructure* s)
    {
        switch (s->sType)
        {
            case VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_ID_FEATURES_KHR:
                ((VkPhysicalDevicePresentIdFeaturesKHR*)s)->presentId = 1;
                break;
            case VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_WAIT_FEATURES_KHR:
                ((VkPhysicalDevicePresentWaitFeaturesKHR*)s)->presentWait = 1;
                break;
            case VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SWAPCHAIN_MAINTENANCE_1_FEATURES_EXT:
                ((VkPhysicalDeviceSwapchainMaintenance1FeaturesEXT*)s)->swapchainMaintenance1 = 1;
                break;
        }
    }

    public static void Add(Dictionary<string, ProcEntry> t)
    {
        void Put(string name, nint fn, ProcScope scope, string ext) => t[name] = new ProcEntry(fn, scope, 0, ext);
        const ProcScope P = ProcScope.PhysicalDevice, D = ProcScope.Device;

        Put("vkGetPhysicalDeviceSurfaceSupportKHR", (nint)(delegate* unmanaged<ulong, uint, ulong, uint*, VkResult>)&vkGetPhysicalDeviceSurfaceSupportKHR, P, "VK_KHR_surface");
        Put("vkGetPhysicalDeviceSurfaceCapabilitiesKHR", (nint)(delegate* unmanaged<ulong, ulong, VkSurfaceCapabilitiesKHR*, VkResult>)&vkGetPhysicalDeviceSurfaceCapabilitiesKHR, P, "VK_KHR_surface");
        Put("vkGetPhysicalDeviceSurfaceFormatsKHR", (nint)(delegate* unmanaged<ulong, ulong, uint*, VkSurfaceFormatKHR*, VkResult>)&vkGetPhysicalDeviceSurfaceFormatsKHR, P, "VK_KHR_surface");
        Put("vkGetPhysicalDeviceSurfacePresentModesKHR", (nint)(delegate* unmanaged<ulong, ulong, uint*, VkPresentModeKHR*, VkResult>)&vkGetPhysicalDeviceSurfacePresentModesKHR, P, "VK_KHR_surface");
        Put("vkGetPhysicalDeviceSurfaceCapabilities2KHR", (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceSurfaceInfo2KHR*, VkSurfaceCapabilities2KHR*, VkResult>)&vkGetPhysicalDeviceSurfaceCapabilities2KHR, P, "VK_KHR_get_surface_capabilities2");
        Put("vkGetPhysicalDeviceSurfaceFormats2KHR", (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceSurfaceInfo2KHR*, uint*, VkSurfaceFormat2KHR*, VkResult>)&vkGetPhysicalDeviceSurfaceFormats2KHR, P, "VK_KHR_get_surface_capabilities2");
        Put("vkGetPhysicalDevicePresentRectanglesKHR", (nint)(delegate* unmanaged<ulong, ulong, uint*, VkRect2D*, VkResult>)&vkGetPhysicalDevicePresentRectanglesKHR, P, "VK_KHR_swapchain");
        if (Xcb.Available)
            Put("vkGetPhysicalDeviceXcbPresentationSupportKHR", (nint)(delegate* unmanaged<ulong, uint, nint, uint, uint>)&vkGetPhysicalDeviceXcbPresentationSupportKHR, P, "VK_KHR_xcb_surface");
        if (Xcb.XlibAvailable)
            Put("vkGetPhysicalDeviceXlibPresentationSupportKHR", (nint)(delegate* unmanaged<ulong, uint, nint, ulong, uint>)&vkGetPhysicalDeviceXlibPresentationSupportKHR, P, "VK_KHR_xlib_surface");

        Put("vkCreateSwapchainKHR", (nint)(delegate* unmanaged<ulong, VkSwapchainCreateInfoKHR*, VkAllocationCallbacks*, ulong*, VkResult>)&vkCreateSwapchainKHR, D, "VK_KHR_swapchain");
        Put("vkDestroySwapchainKHR", (nint)(delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void>)&vkDestroySwapchainKHR, D, "VK_KHR_swapchain");
        Put("vkGetSwapchainImagesKHR", (nint)(delegate* unmanaged<ulong, ulong, uint*, ulong*, VkResult>)&vkGetSwapchainImagesKHR, D, "VK_KHR_swapchain");
        Put("vkAcquireNextImageKHR", (nint)(delegate* unmanaged<ulong, ulong, ulong, ulong, ulong, uint*, VkResult>)&vkAcquireNextImageKHR, D, "VK_KHR_swapchain");
        Put("vkAcquireNextImage2KHR", (nint)(delegate* unmanaged<ulong, VkAcquireNextImageInfoKHR*, uint*, VkResult>)&vkAcquireNextImage2KHR, D, "VK_KHR_swapchain");
        Put("vkQueuePresentKHR", (nint)(delegate* unmanaged<ulong, VkPresentInfoKHR*, VkResult>)&vkQueuePresentKHR, D, "VK_KHR_swapchain");
        Put("vkGetDeviceGroupPresentCapabilitiesKHR", (nint)(delegate* unmanaged<ulong, VkDeviceGroupPresentCapabilitiesKHR*, VkResult>)&vkGetDeviceGroupPresentCapabilitiesKHR, D, "VK_KHR_swapchain");
        Put("vkGetDeviceGroupSurfacePresentModesKHR", (nint)(delegate* unmanaged<ulong, ulong, uint*, VkResult>)&vkGetDeviceGroupSurfacePresentModesKHR, D, "VK_KHR_swapchain");
        Put("vkReleaseSwapchainImagesEXT", (nint)(delegate* unmanaged<ulong, VkReleaseSwapchainImagesInfoEXT*, VkResult>)&vkReleaseSwapchainImagesEXT, D, "VK_EXT_swapchain_maintenance1");
        Put("vkWaitForPresentKHR", (nint)(delegate* unmanaged<ulong, ulong, ulong, ulong, VkResult>)&vkWaitForPresentKHR, D, "VK_KHR_present_wait");
    }

    private static PhysicalDevice Pd(ulong handle) => DispatchableObject.From<PhysicalDevice>(handle);
    private static Device Dev(ulong handle) => DispatchableObject.From<Device>(handle);

    // ---- surfaces ---------------------------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceSurfaceSupportKHR(ulong physicalDevice, uint family, ulong surface, uint* pSupported)
    {
        try
        {
            Surface s = Surface.From(surface);
            // Presenting is a copy plus CPU work, which every queue family can do.
            *pSupported = family < Pd(physicalDevice).QueueFamilies.Length ? 1u : 0u;
            if (s.IsX11 && s.WindowGeometry() is null)
                return VkResult.VK_ERROR_SURFACE_LOST_KHR;
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDeviceSurfaceSupportKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static uint vkGetPhysicalDeviceXcbPresentationSupportKHR(ulong physicalDevice, uint family, nint connection, uint visual) =>
        PresentationSupport(physicalDevice, family, connection, "vkGetPhysicalDeviceXcbPresentationSupportKHR");

    [UnmanagedCallersOnly]
    private static uint vkGetPhysicalDeviceXlibPresentationSupportKHR(ulong physicalDevice, uint family, nint display, ulong visual) =>
        PresentationSupport(physicalDevice, family, display, "vkGetPhysicalDeviceXlibPresentationSupportKHR");

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

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ulong physicalDevice, ulong surface, VkSurfaceCapabilitiesKHR* pCaps)
    {
        try
        {
            return Surface.From(surface).Capabilities(Pd(physicalDevice), pCaps);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceSurfaceCapabilities2KHR(ulong physicalDevice, VkPhysicalDeviceSurfaceInfo2KHR* pInfo, VkSurfaceCapabilities2KHR* pCaps)
    {
        try
        {
            Surface s = Surface.From(pInfo->surface);
            VkResult r = s.Capabilities(Pd(physicalDevice), &pCaps->surfaceCapabilities);
            if (r == VkResult.VK_SUCCESS)
                s.Capabilities2Chain(pInfo, pCaps);
            return r;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDeviceSurfaceCapabilities2KHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceSurfaceFormatsKHR(ulong physicalDevice, ulong surface, uint* pCount, VkSurfaceFormatKHR* pFormats)
    {
        try
        {
            VkFormat[] formats = Surface.From(surface).Formats;
            return Enumerate(formats.Length, pCount, pFormats, (i, p) => p->format = formats[i]);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDeviceSurfaceFormatsKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceSurfaceFormats2KHR(ulong physicalDevice, VkPhysicalDeviceSurfaceInfo2KHR* pInfo, uint* pCount, VkSurfaceFormat2KHR* pFormats)
    {
        try
        {
            VkFormat[] formats = Surface.From(pInfo->surface).Formats;
            return Enumerate(formats.Length, pCount, pFormats, (i, p) => p->surfaceFormat.format = formats[i]);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDeviceSurfaceFormats2KHR");
        }
    }

    private delegate void Fill<T>(int index, T* item) where T : unmanaged;

    /// <summary>The two-call idiom over <paramref name="total"/> items written by <paramref name="fill"/> (colour space: sRGB nonlinear = 0).</summary>
    private static VkResult Enumerate<T>(int total, uint* pCount, T* pItems, Fill<T> fill) where T : unmanaged
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

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDeviceSurfacePresentModesKHR(ulong physicalDevice, ulong surface, uint* pCount, VkPresentModeKHR* pModes)
    {
        try
        {
            Surface.From(surface);
            return Enumerate(Surface.PresentModes.Length, pCount, pModes, (i, p) => *p = Surface.PresentModes[i]);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDeviceSurfacePresentModesKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetPhysicalDevicePresentRectanglesKHR(ulong physicalDevice, ulong surface, uint* pCount, VkRect2D* pRects)
    {
        try
        {
            VkSurfaceCapabilitiesKHR caps;
            VkResult r = Surface.From(surface).Capabilities(Pd(physicalDevice), &caps);
            if (r != VkResult.VK_SUCCESS)
                return r;
            VkExtent2D extent = caps.currentExtent.width == uint.MaxValue ? caps.maxImageExtent : caps.currentExtent;
            return Enumerate(1, pCount, pRects, (_, p) => *p = new VkRect2D { extent = extent });
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetPhysicalDevicePresentRectanglesKHR");
        }
    }

    // ---- swapchains -------------------------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static VkResult vkCreateSwapchainKHR(ulong device, VkSwapchainCreateInfoKHR* pCreateInfo, VkAllocationCallbacks* pAllocator, ulong* pSwapchain)
    {
        try
        {
            return Icd.Trace(Swapchain.Create(Dev(device), pCreateInfo, pSwapchain), "vkCreateSwapchainKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkCreateSwapchainKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static void vkDestroySwapchainKHR(ulong device, ulong swapchain, VkAllocationCallbacks* pAllocator)
    {
        try
        {
            if (swapchain != 0)
                Swapchain.Find(swapchain).Destroy();
        }
        catch (Exception e)
        {
            Icd.FailVoid(e, "vkDestroySwapchainKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetSwapchainImagesKHR(ulong device, ulong swapchain, uint* pCount, ulong* pImages)
    {
        try
        {
            return Swapchain.Find(swapchain).GetImages(pCount, pImages);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetSwapchainImagesKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkAcquireNextImageKHR(ulong device, ulong swapchain, ulong timeout, ulong semaphore, ulong fence, uint* pIndex)
    {
        try
        {
            return Icd.Trace(Swapchain.Find(swapchain).Acquire(timeout, semaphore, fence, pIndex), "vkAcquireNextImageKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkAcquireNextImageKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkAcquireNextImage2KHR(ulong device, VkAcquireNextImageInfoKHR* pInfo, uint* pIndex)
    {
        try
        {
            return Icd.Trace(Swapchain.Find(pInfo->swapchain).Acquire(pInfo->timeout, pInfo->semaphore, pInfo->fence, pIndex), "vkAcquireNextImage2KHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkAcquireNextImage2KHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkReleaseSwapchainImagesEXT(ulong device, VkReleaseSwapchainImagesInfoEXT* pInfo)
    {
        try
        {
            return Swapchain.Find(pInfo->swapchain).Release(pInfo->imageIndexCount, pInfo->pImageIndices);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkReleaseSwapchainImagesEXT");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkQueuePresentKHR(ulong queue, VkPresentInfoKHR* pInfo)
    {
        try
        {
            var q = DispatchableObject.From<Queue>(queue);
            ulong* presentIds = null, fences = null;
            VkPresentModeKHR* modes = null;
            for (var s = (VkBaseOutStructure*)pInfo->pNext; s != null; s = s->pNext)
            {
                switch (s->sType)
                {
                    case VkStructureType.VK_STRUCTURE_TYPE_PRESENT_ID_KHR when ((VkPresentIdKHR*)s)->swapchainCount == pInfo->swapchainCount:
                        presentIds = ((VkPresentIdKHR*)s)->pPresentIds;
                        break;
                    case VkStructureType.VK_STRUCTURE_TYPE_SWAPCHAIN_PRESENT_FENCE_INFO_EXT when ((VkSwapchainPresentFenceInfoEXT*)s)->swapchainCount == pInfo->swapchainCount:
                        fences = ((VkSwapchainPresentFenceInfoEXT*)s)->pFences;
                        break;
                    case VkStructureType.VK_STRUCTURE_TYPE_SWAPCHAIN_PRESENT_MODE_INFO_EXT when ((VkSwapchainPresentModeInfoEXT*)s)->swapchainCount == pInfo->swapchainCount:
                        modes = ((VkSwapchainPresentModeInfoEXT*)s)->pPresentModes;
                        break;
                }
            }
            VkResult worst = VkResult.VK_SUCCESS;
            for (uint i = 0; i < pInfo->swapchainCount; i++)
            {
                bool first = i == 0;
                VkResult r = Swapchain.Find(pInfo->pSwapchains[i]).Present(q, pInfo->pImageIndices[i],
                    first ? pInfo->waitSemaphoreCount : 0, first ? pInfo->pWaitSemaphores : null,
                    fences != null ? fences[i] : 0, modes != null ? modes[i] : null, presentIds != null ? presentIds[i] : 0);
                if (pInfo->pResults != null)
                    pInfo->pResults[i] = r;
                if (r < 0 ? worst >= 0 || r == VkResult.VK_ERROR_DEVICE_LOST : worst == VkResult.VK_SUCCESS)
                    worst = r;
            }
            return Icd.Trace(worst, "vkQueuePresentKHR");
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkQueuePresentKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkWaitForPresentKHR(ulong device, ulong swapchain, ulong presentId, ulong timeout)
    {
        try
        {
            return Swapchain.Find(swapchain).WaitForPresent(presentId, timeout);
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkWaitForPresentKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetDeviceGroupPresentCapabilitiesKHR(ulong device, VkDeviceGroupPresentCapabilitiesKHR* pCaps)
    {
        try
        {
            // One physical device per group here: it presents its own images.
            for (int i = 0; i < 32; i++)
                pCaps->presentMask[i] = 0;
            pCaps->presentMask[0] = 1;
            pCaps->modes = (uint)VkDeviceGroupPresentModeFlagBitsKHR.VK_DEVICE_GROUP_PRESENT_MODE_LOCAL_BIT_KHR;
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetDeviceGroupPresentCapabilitiesKHR");
        }
    }

    [UnmanagedCallersOnly]
    private static VkResult vkGetDeviceGroupSurfacePresentModesKHR(ulong device, ulong surface, uint* pModes)
    {
        try
        {
            Surface.From(surface);
            *pModes = (uint)VkDeviceGroupPresentModeFlagBitsKHR.VK_DEVICE_GROUP_PRESENT_MODE_LOCAL_BIT_KHR;
            return VkResult.VK_SUCCESS;
        }
        catch (Exception e)
        {
            return Icd.Fail(e, "vkGetDeviceGroupSurfacePresentModesKHR");
        }
    }
}
