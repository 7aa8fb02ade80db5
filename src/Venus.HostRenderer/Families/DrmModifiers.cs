using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>
/// VK_EXT_image_drm_format_modifier for a driver that lacks it (lavapipe): one modifier,
/// DRM_FORMAT_MOD_LINEAR, which is the driver's VK_IMAGE_TILING_LINEAR. Mesa's venus guest offers
/// VK_KHR_swapchain only when its host has this extension (besides dma-buf memory and
/// queue_family_foreign, which lavapipe has), so without it Mesa's guest cannot present at all.
/// <para>
/// The host wraps the driver like a layer would: the few entry points that see modifiers are
/// replaced in the instance and device function tables by the shims below, which translate and call
/// the driver's own. Per format, the one modifier is offered with the format's linear features (none
/// for multi-planar formats, whose per-plane layouts this emulation does not describe). An image
/// created with VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT becomes a linear image; an explicit plane
/// layout must equal the driver's own linear layout, else VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT.
/// MEMORY_PLANE_0 aspects become COLOR. Everything else of the image is the driver's.
/// </para>
/// </summary>
internal static unsafe class DrmModifiers
{
    public const string Extension = "VK_EXT_image_drm_format_modifier";

    /// <summary>DRM_FORMAT_MOD_LINEAR (drm_fourcc.h).</summary>
    public const ulong Linear = 0;

    const uint AspectColor = 0x1, AspectMemoryPlane0 = 0x80, AspectMemoryPlanes = 0x780;

    /// <summary>The driver's device entry points that the shims call, per VkDevice handle.</summary>
    sealed class DeviceEntryPoints
    {
        public delegate* unmanaged<ulong, VkImageCreateInfo*, VkAllocationCallbacks*, ulong*, VkResult> CreateImage;
        public delegate* unmanaged<ulong, ulong, VkAllocationCallbacks*, void> DestroyImage;
        public delegate* unmanaged<ulong, ulong, VkImageSubresource*, VkSubresourceLayout*, void> SubresourceLayout;
        public delegate* unmanaged<ulong, ulong, VkImageSubresource2*, VkSubresourceLayout2*, void> SubresourceLayout2;
    }

    static readonly ConcurrentDictionary<ulong, DeviceEntryPoints> Devices = new();
    static readonly ConcurrentDictionary<ulong, bool> EmulatedOn = new();
    static readonly Lock Gate = new();

    // The driver's instance-level entry points: one driver per host process, so one set.
    static delegate* unmanaged<ulong, VkFormat, VkFormatProperties2*, void> s_formatProperties2;
    static delegate* unmanaged<ulong, VkPhysicalDeviceImageFormatInfo2*, VkImageFormatProperties2*, VkResult> s_imageFormatProperties2;
    static delegate* unmanaged<ulong, byte*, uint*, VkExtensionProperties*, VkResult> s_enumerateExtensions;

    /// <summary>Whether a driver with these extensions gets the emulation.</summary>
    public static bool Needed(List<(string Name, uint Spec)> driver) => !driver.Any(e => e.Name == Extension);

    /// <summary>Puts the format-query shims into a new instance's table (they pass through for devices with native modifiers).</summary>
    public static void WrapInstance(VkInstanceFunctions* t)
    {
        if (t->vkGetPhysicalDeviceFormatProperties2 == null || t->vkGetPhysicalDeviceImageFormatProperties2 == null ||
            t->vkEnumerateDeviceExtensionProperties == null)
            return;
        lock (Gate)
        {
            if (s_formatProperties2 == null)
            {
                s_formatProperties2 = t->vkGetPhysicalDeviceFormatProperties2;
                s_imageFormatProperties2 = t->vkGetPhysicalDeviceImageFormatProperties2;
                s_enumerateExtensions = t->vkEnumerateDeviceExtensionProperties;
            }
            // Addresses from one loaded driver, compared as addresses.
            else if ((nint)s_formatProperties2 != (nint)t->vkGetPhysicalDeviceFormatProperties2 ||
                     (nint)s_imageFormatProperties2 != (nint)t->vkGetPhysicalDeviceImageFormatProperties2)
            {
                return; // another driver's entry points: not this emulation's to wrap
            }
        }
        t->vkGetPhysicalDeviceFormatProperties2 = &FormatProperties2;
        t->vkGetPhysicalDeviceImageFormatProperties2 = &ImageFormatProperties2;
    }

    /// <summary>Puts the image shims into a device's table; the device was created without the extension on the driver.</summary>
    public static void WrapDevice(ulong device, VkDeviceFunctions* t)
    {
        var real = new DeviceEntryPoints
        {
            CreateImage = t->vkCreateImage,
            DestroyImage = t->vkDestroyImage,
            SubresourceLayout = t->vkGetImageSubresourceLayout,
            SubresourceLayout2 = t->vkGetImageSubresourceLayout2,
        };
        Devices[device] = real;
        t->vkCreateImage = &CreateImage;
        t->vkGetImageSubresourceLayout = &SubresourceLayout;
        if (real.SubresourceLayout2 != null)
            t->vkGetImageSubresourceLayout2 = &SubresourceLayout2;
        t->vkGetImageDrmFormatModifierPropertiesEXT = &ImageModifierProperties;
    }

    public static void ForgetDevice(ulong device) => Devices.TryRemove(device, out _);

    /// <summary>Formats whose images have more than one memory plane (or are YCbCr): no modifier is offered.</summary>
    static bool MultiPlanar(VkFormat format) =>
        (int)format is >= 1000156000 and < 1000157000 or >= 1000330000 and < 1000331000;

    /// <summary>Whether the emulation serves this physical device: the same rule as the extension list the host offers.</summary>
    static bool Emulated(ulong physicalDevice) =>
        EmulatedOn.GetOrAdd(physicalDevice, static pd => Needed(Handlers.DriverExtensions(s_enumerateExtensions, pd)));

    /// <summary>The first struct of <paramref name="sType"/> in a chain, or null.</summary>
    static VnChainHeader* Find(void* chain, VkStructureType sType)
    {
        for (var p = (VnChainHeader*)chain; p != null; p = (VnChainHeader*)p->pNext)
            if (p->sType == (int)sType) return p;
        return null;
    }

    /// <summary>Takes the first struct of <paramref name="sType"/> out of the chain at <paramref name="head"/> (the decoder's own memory) and returns it.</summary>
    static VnChainHeader* Unlink(void** head, VkStructureType sType)
    {
        for (void** link = head; *link != null; link = &((VnChainHeader*)*link)->pNext)
        {
            var p = (VnChainHeader*)*link;
            if (p->sType != (int)sType) continue;
            *link = p->pNext;
            return p;
        }
        return null;
    }

    [UnmanagedCallersOnly]
    static void FormatProperties2(ulong physicalDevice, VkFormat format, VkFormatProperties2* props)
    {
        s_formatProperties2(physicalDevice, format, props);
        if (!Emulated(physicalDevice)) return;
        uint linear = MultiPlanar(format) ? 0 : props->formatProperties.linearTilingFeatures;
        var list1 = (VkDrmFormatModifierPropertiesListEXT*)Find(props->pNext, VkDrmFormatModifierPropertiesListEXT.SType);
        if (list1 != null)
        {
            var list = list1;
            list->drmFormatModifierCount = Offer(list->drmFormatModifierCount, list->pDrmFormatModifierProperties != null, linear != 0);
            if (list->pDrmFormatModifierProperties != null && list->drmFormatModifierCount == 1)
                list->pDrmFormatModifierProperties[0] = new VkDrmFormatModifierPropertiesEXT
                    { drmFormatModifier = Linear, drmFormatModifierPlaneCount = 1, drmFormatModifierTilingFeatures = linear };
        }
        var list2 = (VkDrmFormatModifierPropertiesList2EXT*)Find(props->pNext, VkDrmFormatModifierPropertiesList2EXT.SType);
        if (list2 != null)
        {
            var list = list2;
            var props3 = (VkFormatProperties3*)Find(props->pNext, VkFormatProperties3.SType);
            ulong linear2 = linear != 0 && props3 != null ? props3->linearTilingFeatures : linear;
            list->drmFormatModifierCount = Offer(list->drmFormatModifierCount, list->pDrmFormatModifierProperties != null, linear2 != 0);
            if (list->pDrmFormatModifierProperties != null && list->drmFormatModifierCount == 1)
                list->pDrmFormatModifierProperties[0] = new VkDrmFormatModifierProperties2EXT
                    { drmFormatModifier = Linear, drmFormatModifierPlaneCount = 1, drmFormatModifierTilingFeatures = linear2 };
        }
    }

    /// <summary>The count a modifier list reports: 1 or 0 modifiers, at most the room the caller gave when it gave an array.</summary>
    static uint Offer(uint room, bool hasArray, bool offered) => !offered ? 0 : hasArray ? Math.Min(room, 1u) : 1u;

    [UnmanagedCallersOnly]
    static VkResult ImageFormatProperties2(ulong physicalDevice, VkPhysicalDeviceImageFormatInfo2* info, VkImageFormatProperties2* props)
    {
        if (info->tiling != VkImageTiling.VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT || !Emulated(physicalDevice))
            return s_imageFormatProperties2(physicalDevice, info, props);
        var modifier = (VkPhysicalDeviceImageDrmFormatModifierInfoEXT*)Unlink(&info->pNext, VkPhysicalDeviceImageDrmFormatModifierInfoEXT.SType);
        if (modifier == null || modifier->drmFormatModifier != Linear || MultiPlanar(info->format))
            return VkResult.VK_ERROR_FORMAT_NOT_SUPPORTED;
        var local = *info;
        local.tiling = VkImageTiling.VK_IMAGE_TILING_LINEAR;
        return s_imageFormatProperties2(physicalDevice, &local, props);
    }

    [UnmanagedCallersOnly]
    static VkResult CreateImage(ulong device, VkImageCreateInfo* ci, VkAllocationCallbacks* alloc, ulong* image)
    {
        if (!Devices.TryGetValue(device, out var real)) return VkResult.VK_ERROR_DEVICE_LOST;
        if (ci->tiling != VkImageTiling.VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT)
            return real.CreateImage(device, ci, alloc, image);

        var local = *ci;
        local.tiling = VkImageTiling.VK_IMAGE_TILING_LINEAR;
        var list = (VkImageDrmFormatModifierListCreateInfoEXT*)Unlink(&local.pNext, VkImageDrmFormatModifierListCreateInfoEXT.SType);
        var explicitInfo = (VkImageDrmFormatModifierExplicitCreateInfoEXT*)Unlink(&local.pNext, VkImageDrmFormatModifierExplicitCreateInfoEXT.SType);
        if ((list == null) == (explicitInfo == null) || MultiPlanar(ci->format))
            return VkResult.VK_ERROR_FORMAT_NOT_SUPPORTED;
        if (list != null)
        {
            bool linearListed = false;
            for (uint i = 0; i < list->drmFormatModifierCount && list->pDrmFormatModifiers != null; i++)
                linearListed |= list->pDrmFormatModifiers[i] == Linear;
            if (!linearListed) return VkResult.VK_ERROR_FORMAT_NOT_SUPPORTED;
            return real.CreateImage(device, &local, alloc, image);
        }

        if (explicitInfo->drmFormatModifier != Linear || explicitInfo->drmFormatModifierPlaneCount != 1 || explicitInfo->pPlaneLayouts == null)
            return VkResult.VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
        VkResult r = real.CreateImage(device, &local, alloc, image);
        if (r != VkResult.VK_SUCCESS) return r;
        // The app placed the plane itself: it must be where the driver's linear image has it.
        var sub = new VkImageSubresource { aspectMask = AspectColor };
        VkSubresourceLayout actual;
        real.SubresourceLayout(device, *image, &sub, &actual);
        var want = explicitInfo->pPlaneLayouts[0];
        bool same = want.offset == actual.offset && want.rowPitch == actual.rowPitch &&
                    (ci->arrayLayers <= 1 || want.arrayPitch == actual.arrayPitch) &&
                    (ci->extent.depth <= 1 || want.depthPitch == actual.depthPitch);
        if (same) return VkResult.VK_SUCCESS;
        real.DestroyImage(device, *image, alloc);
        *image = 0;
        return VkResult.VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT;
    }

    /// <summary>MEMORY_PLANE_0 is the colour plane of a linear image; other memory planes do not exist.</summary>
    static bool Translate(ref uint aspect)
    {
        if ((aspect & AspectMemoryPlanes) == 0) return true;
        if (aspect != AspectMemoryPlane0) return false;
        aspect = AspectColor;
        return true;
    }

    [UnmanagedCallersOnly]
    static void SubresourceLayout(ulong device, ulong image, VkImageSubresource* sub, VkSubresourceLayout* layout)
    {
        if (!Devices.TryGetValue(device, out var real)) return;
        var local = *sub;
        if (!Translate(ref local.aspectMask)) { *layout = default; return; }
        real.SubresourceLayout(device, image, &local, layout);
    }

    [UnmanagedCallersOnly]
    static void SubresourceLayout2(ulong device, ulong image, VkImageSubresource2* sub, VkSubresourceLayout2* layout)
    {
        if (!Devices.TryGetValue(device, out var real)) return;
        var local = *sub;
        if (!Translate(ref local.imageSubresource.aspectMask)) { layout->subresourceLayout = default; return; }
        real.SubresourceLayout2(device, image, &local, layout);
    }

    [UnmanagedCallersOnly]
    static VkResult ImageModifierProperties(ulong device, ulong image, VkImageDrmFormatModifierPropertiesEXT* props)
    {
        props->drmFormatModifier = Linear;
        return VkResult.VK_SUCCESS;
    }
}
