using System.Runtime.InteropServices;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer.Native;

/// <summary>The host's Vulkan loader and its global entry points.</summary>
internal sealed unsafe class VulkanLibrary
{
    readonly nint _lib;
    public delegate* unmanaged<nint, byte*, nint> GetInstanceProcAddr { get; }
    /// <summary>Global commands (vkCreateInstance, vkEnumerateInstance*); other entries stay null.</summary>
    public VkInstanceFunctions* Global { get; }

    VulkanLibrary(nint lib, delegate* unmanaged<nint, byte*, nint> gipa)
    {
        _lib = lib;
        GetInstanceProcAddr = gipa;
        Global = (VkInstanceFunctions*)NativeMemory.AllocZeroed((nuint)sizeof(VkInstanceFunctions));
        Global->Load(gipa, 0);
    }

    /// <summary>A driver reached through <paramref name="gipa"/> alone (the fuzz targets' fake driver), no library loaded.</summary>
    public static VulkanLibrary FromProcAddr(delegate* unmanaged<nint, byte*, nint> gipa) => new(0, gipa);

    /// <summary>Loads libvulkan.so.1; null with a reason when there is none.</summary>
    public static VulkanLibrary? TryLoad(out string? error)
    {
        error = null;
        if (!NativeLibrary.TryLoad("libvulkan.so.1", out var lib) && !NativeLibrary.TryLoad("libvulkan.so", out lib))
        {
            error = "cannot load libvulkan.so.1 (install the Vulkan loader)";
            return null;
        }
        if (!NativeLibrary.TryGetExport(lib, "vkGetInstanceProcAddr", out var gipa))
        {
            error = "libvulkan.so.1 has no vkGetInstanceProcAddr";
            return null;
        }
        return new VulkanLibrary(lib, (delegate* unmanaged<nint, byte*, nint>)gipa);
    }

    public VkInstanceFunctions* LoadInstance(ulong instance)
    {
        var t = (VkInstanceFunctions*)NativeMemory.AllocZeroed((nuint)sizeof(VkInstanceFunctions));
        t->Load(GetInstanceProcAddr, (nint)instance);
        return t;
    }

    public static VkDeviceFunctions* LoadDevice(VkInstanceFunctions* instance, ulong device)
    {
        var t = (VkDeviceFunctions*)NativeMemory.AllocZeroed((nuint)sizeof(VkDeviceFunctions));
        t->Load((delegate* unmanaged<nint, byte*, nint>)instance->vkGetDeviceProcAddr, (nint)device);
        return t;
    }
}
