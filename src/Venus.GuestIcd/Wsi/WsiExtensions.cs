using System.Runtime.InteropServices;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Wsi;

/// <summary>
/// The WSI extensions this driver offers and the features it fills; their entry points (Families/Wsi.cs) are surface queries (VK_KHR_surface, VK_KHR_get_surface_capabilities2,
/// VK_EXT_surface_maintenance1, the xcb/xlib presentation-support queries) and swapchains
/// (VK_KHR_swapchain with its device-group queries, VK_EXT_swapchain_maintenance1,
/// VK_KHR_present_id, VK_KHR_present_wait; VK_KHR_incremental_present's regions are a hint and the
/// whole image is presented). vkCreate*SurfaceKHR and vkDestroySurfaceKHR are the loader's.
/// </summary>
internal static unsafe class WsiExtensions
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
}
