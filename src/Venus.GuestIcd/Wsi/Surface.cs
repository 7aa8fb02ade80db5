using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Wsi;

/// <summary>The window systems this driver presents to.</summary>
internal enum SurfaceKind { Xcb, Xlib, Headless }

/// <summary>
/// A VkSurfaceKHR as the loader made it (this driver exports no vkCreate*SurfaceKHR): a pointer to
/// the loader's VkIcdSurfaceBase, whose first int is the platform (vk_icd.h: XCB 3, XLIB 4,
/// HEADLESS 9). XCB: connection at 8, window (u32) at 16; XLIB: Display* at 8, Window (u64) at 16.
/// </summary>
internal readonly unsafe struct Surface
{
    private const int PlatformXcb = 3, PlatformXlib = 4, PlatformHeadless = 9;

    public SurfaceKind Kind { get; }

    /// <summary>The xcb connection (Xlib: the Display's, through XGetXCBConnection); 0 for headless.</summary>
    public nint Connection { get; }
    public uint Window { get; }

    private Surface(SurfaceKind kind, nint connection, uint window)
    {
        Kind = kind;
        Connection = connection;
        Window = window;
    }

    public bool IsX11 => Kind != SurfaceKind.Headless;

    /// <summary>Reads the loader's surface; throws <see cref="VulkanResultException"/> for one this driver cannot use.</summary>
    public static Surface From(ulong handle)
    {
        if (handle == 0)
            throw new VulkanResultException(VkResult.VK_ERROR_SURFACE_LOST_KHR, "a null VkSurfaceKHR");
        byte* p = (byte*)handle;
        int platform = *(int*)p;
        switch (platform)
        {
            case PlatformHeadless:
                return new Surface(SurfaceKind.Headless, 0, 0);
            case PlatformXcb when Xcb.Available:
                return new Surface(SurfaceKind.Xcb, *(nint*)(p + 8), *(uint*)(p + 16));
            case PlatformXlib when Xcb.XlibAvailable:
            {
                nint display = *(nint*)(p + 8);
                ulong window = *(ulong*)(p + 16);
                if (window > uint.MaxValue)
                    throw new VulkanResultException(VkResult.VK_ERROR_SURFACE_LOST_KHR, $"Xlib window 0x{window:x} is not an X id");
                return new Surface(SurfaceKind.Xlib, Xcb.GetXCBConnection(display), (uint)window);
            }
            default:
                throw new VulkanResultException(VkResult.VK_ERROR_SURFACE_LOST_KHR,
                    $"surface platform {platform} is not one this driver presents to (xcb, xlib, headless)");
        }
    }

    /// <summary>The window's current size and depth; null when the window is gone (SURFACE_LOST).</summary>
    public (uint Width, uint Height, byte Depth)? WindowGeometry()
    {
        if (!IsX11)
            return null;
        if (Connection == 0 || Xcb.ConnectionHasError(Connection) != 0)
            return null;
        return Xcb.Geometry(Connection, Window, out _) is { } g ? (g.Width, g.Height, g.Depth) : null;
    }

    // ---- what the surface offers ------------------------------------------------------------------

    public static readonly VkPresentModeKHR[] PresentModes =
    [
        VkPresentModeKHR.VK_PRESENT_MODE_FIFO_KHR, VkPresentModeKHR.VK_PRESENT_MODE_MAILBOX_KHR,
        VkPresentModeKHR.VK_PRESENT_MODE_IMMEDIATE_KHR, VkPresentModeKHR.VK_PRESENT_MODE_FIFO_RELAXED_KHR,
    ];

    public static bool IsSupported(VkPresentModeKHR mode) => Array.IndexOf(PresentModes, mode) >= 0;

    private static readonly VkFormat[] X11Formats = [VkFormat.VK_FORMAT_B8G8R8A8_SRGB, VkFormat.VK_FORMAT_B8G8R8A8_UNORM];

    private static readonly VkFormat[] HeadlessFormats =
    [
        VkFormat.VK_FORMAT_B8G8R8A8_SRGB, VkFormat.VK_FORMAT_B8G8R8A8_UNORM, VkFormat.VK_FORMAT_R8G8B8A8_SRGB, VkFormat.VK_FORMAT_R8G8B8A8_UNORM,
    ];

    /// <summary>
    /// X11: a little-endian ZPixmap pixel of a depth-24/32 TrueColor window is bytes B, G, R, X, so
    /// the BGRA formats go to the server as they are. Headless reads nothing back: RGBA too.
    /// </summary>
    public VkFormat[] Formats => IsX11 ? X11Formats : HeadlessFormats;

    public const uint MaxImages = 16;

    public const uint SupportedUsage =
        (uint)(VkImageUsageFlagBits.VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VkImageUsageFlagBits.VK_IMAGE_USAGE_TRANSFER_DST_BIT |
               VkImageUsageFlagBits.VK_IMAGE_USAGE_SAMPLED_BIT | VkImageUsageFlagBits.VK_IMAGE_USAGE_STORAGE_BIT |
               VkImageUsageFlagBits.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VkImageUsageFlagBits.VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT);

    /// <summary>vkGetPhysicalDeviceSurfaceCapabilitiesKHR: X11 = the window's size now; headless = any size.</summary>
    public VkResult Capabilities(PhysicalDevice physicalDevice, VkSurfaceCapabilitiesKHR* caps)
    {
        *caps = default;
        uint maxDim = physicalDevice.Properties.limits.maxImageDimension2D;
        if (IsX11)
        {
            if (WindowGeometry() is not { } g)
                return VkResult.VK_ERROR_SURFACE_LOST_KHR;
            caps->minImageCount = 3;
            caps->currentExtent = new VkExtent2D { width = g.Width, height = g.Height };
            caps->minImageExtent = caps->currentExtent;
            caps->maxImageExtent = caps->currentExtent;
            caps->supportedCompositeAlpha = (uint)(VkCompositeAlphaFlagBitsKHR.VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR |
                                                   VkCompositeAlphaFlagBitsKHR.VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR);
        }
        else
        {
            caps->minImageCount = 3;
            caps->currentExtent = new VkExtent2D { width = uint.MaxValue, height = uint.MaxValue };
            caps->minImageExtent = new VkExtent2D { width = 1, height = 1 };
            caps->maxImageExtent = new VkExtent2D { width = maxDim, height = maxDim };
            caps->supportedCompositeAlpha = (uint)(VkCompositeAlphaFlagBitsKHR.VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR |
                                                   VkCompositeAlphaFlagBitsKHR.VK_COMPOSITE_ALPHA_PRE_MULTIPLIED_BIT_KHR |
                                                   VkCompositeAlphaFlagBitsKHR.VK_COMPOSITE_ALPHA_POST_MULTIPLIED_BIT_KHR |
                                                   VkCompositeAlphaFlagBitsKHR.VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR);
        }
        caps->maxImageCount = MaxImages;
        caps->maxImageArrayLayers = 1;
        caps->supportedTransforms = (uint)VkSurfaceTransformFlagBitsKHR.VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR;
        caps->currentTransform = VkSurfaceTransformFlagBitsKHR.VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR;
        caps->supportedUsageFlags = SupportedUsage;
        return VkResult.VK_SUCCESS;
    }

    /// <summary>vkGetPhysicalDeviceSurfaceCapabilities2KHR's extension structs (the core part is <see cref="Capabilities"/>).</summary>
    public void Capabilities2Chain(VkPhysicalDeviceSurfaceInfo2KHR* info, VkSurfaceCapabilities2KHR* caps)
    {
        // VK_EXT_surface_maintenance1: the present mode asked about, if any.
        VkPresentModeKHR? asked = null;
        for (var s = (VkBaseOutStructure*)info->pNext; s != null; s = s->pNext)
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_SURFACE_PRESENT_MODE_EXT)
                asked = ((VkSurfacePresentModeEXT*)s)->presentMode;

        for (var s = (VkBaseOutStructure*)caps->pNext; s != null; s = s->pNext)
        {
            switch (s->sType)
            {
                case VkStructureType.VK_STRUCTURE_TYPE_SURFACE_PROTECTED_CAPABILITIES_KHR:
                    ((VkSurfaceProtectedCapabilitiesKHR*)s)->supportsProtected = 0;
                    break;
                case VkStructureType.VK_STRUCTURE_TYPE_SURFACE_PRESENT_SCALING_CAPABILITIES_EXT:
                {
                    // No scaling: the image goes to the window pixel for pixel.
                    var d = (VkSurfacePresentScalingCapabilitiesEXT*)s;
                    d->supportedPresentScaling = 0;
                    d->supportedPresentGravityX = 0;
                    d->supportedPresentGravityY = 0;
                    d->minScaledImageExtent = caps->surfaceCapabilities.minImageExtent;
                    d->maxScaledImageExtent = caps->surfaceCapabilities.maxImageExtent;
                    break;
                }
                case VkStructureType.VK_STRUCTURE_TYPE_SURFACE_PRESENT_MODE_COMPATIBILITY_EXT:
                {
                    // Every mode runs on the same images, so a swapchain may switch among all of them.
                    var d = (VkSurfacePresentModeCompatibilityEXT*)s;
                    VkPresentModeKHR[] modes = asked is { } m && IsSupported(m) ? PresentModes : [];
                    if (d->pPresentModes == null)
                        d->presentModeCount = (uint)modes.Length;
                    else
                    {
                        uint n = Math.Min(d->presentModeCount, (uint)modes.Length);
                        for (int i = 0; i < n; i++)
                            d->pPresentModes[i] = modes[i];
                        d->presentModeCount = n;
                    }
                    break;
                }
            }
        }
    }
}
