using System.Runtime.InteropServices;
using Venus.HostRenderer.Native;
using Venus.Protocol.Vulkan;

namespace Venus.Fuzz;

/// <summary>
/// The real Vulkan loader and driver (lavapipe, inside the peers chroot: eng/fuzz.sh runs the
/// <c>lavapipe</c> target there with VK_DRIVER_FILES naming it), with one VkInstance kept for the
/// whole run: a context's vkCreateInstance gets that instance and its vkDestroyInstance leaves it
/// alive, so the driver, LLVM and the physical device (lavapipe's screen, made when an instance
/// enumerates its devices) are set up once per process instead of once per input. Everything
/// below the instance (devices and their objects) is the driver's own, created and destroyed by
/// each input's context; only one context at a time uses the kept instance.
/// </summary>
internal static unsafe class Lavapipe
{
    static delegate* unmanaged<nint, byte*, nint> s_realGipa;
    static delegate* unmanaged<VkInstanceCreateInfo*, void*, ulong*, int> s_realCreateInstance;
    static ulong s_instance;
    static bool s_inUse;

    /// <summary>Loads libvulkan.so.1 and creates the kept instance; throws when there is no driver.</summary>
    public static VulkanLibrary Load()
    {
        var real = VulkanLibrary.TryLoad(out string? error) ?? throw new InvalidOperationException(error);
        s_realGipa = real.GetInstanceProcAddr;
        s_realCreateInstance = (delegate* unmanaged<VkInstanceCreateInfo*, void*, ulong*, int>)Proc(0, "vkCreateInstance");
        if (s_realCreateInstance == null) throw new InvalidOperationException("the loader has no vkCreateInstance");
        // The newest version the host lets a guest ask for: a context's own request (at least 1.1,
        // Families/Instance.cs) is never above it.
        var app = new VkApplicationInfo { sType = VkApplicationInfo.SType, apiVersion = (1u << 22) | (4u << 12) };
        var ci = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, pApplicationInfo = &app };
        ulong instance;
        int r = s_realCreateInstance(&ci, null, &instance);
        if (r != 0) throw new InvalidOperationException($"vkCreateInstance on the real driver failed ({r}); is VK_DRIVER_FILES set?");
        s_instance = instance;
        var fnsCount = (delegate* unmanaged<ulong, uint*, ulong*, int>)Proc((nint)instance, "vkEnumeratePhysicalDevices");
        uint count = 0;
        if (fnsCount == null || fnsCount(instance, &count, null) != 0 || count == 0)
            throw new InvalidOperationException("the real driver has no physical device");
        return VulkanLibrary.FromProcAddr(&GetInstanceProcAddr);
    }

    static nint Proc(nint instance, string name)
    {
        nint n = Marshal.StringToCoTaskMemUTF8(name);
        try { return s_realGipa(instance, (byte*)n); }
        finally { Marshal.FreeCoTaskMem(n); }
    }

    [UnmanagedCallersOnly]
    static nint GetInstanceProcAddr(nint instance, byte* name)
    {
        var n = new ReadOnlySpan<byte>(name, (int)strlen(name));
        if (n.SequenceEqual("vkGetInstanceProcAddr"u8)) return (nint)(delegate* unmanaged<nint, byte*, nint>)&GetInstanceProcAddr;
        if (n.SequenceEqual("vkCreateInstance"u8)) return (nint)(delegate* unmanaged<VkInstanceCreateInfo*, void*, ulong*, int>)&CreateInstance;
        if (n.SequenceEqual("vkDestroyInstance"u8)) return (nint)(delegate* unmanaged<ulong, void*, void>)&DestroyInstance;
        return s_realGipa(instance, name);
    }

    static nuint strlen(byte* s)
    {
        nuint i = 0;
        while (s[i] != 0) i++;
        return i;
    }

    [UnmanagedCallersOnly]
    static int CreateInstance(VkInstanceCreateInfo* info, void* allocator, ulong* instance)
    {
        const int VK_ERROR_INITIALIZATION_FAILED = -3;
        if (s_inUse) return VK_ERROR_INITIALIZATION_FAILED; // one context, one instance at a time
        s_inUse = true;
        *instance = s_instance;
        return 0;
    }

    [UnmanagedCallersOnly]
    static void DestroyInstance(ulong instance, void* allocator)
    {
        if (instance == s_instance) s_inUse = false;
    }

    /// <summary>Called after each input's context is disposed: the kept instance is free again.</summary>
    public static void Release() => s_inUse = false;
}
