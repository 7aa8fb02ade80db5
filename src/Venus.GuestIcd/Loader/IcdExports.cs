using System.Runtime.InteropServices;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Loader;

/// <summary>
/// The loader–driver interface (Vulkan loader "LoaderDriverInterface"): the three exported
/// entry points, and the proc-address lookups behind vkGetInstanceProcAddr / vkGetDeviceProcAddr.
/// </summary>
internal static unsafe class IcdExports
{
    /// <summary>Interface 5: vk_icdGetPhysicalDeviceProcAddr, and the loader honours our API version.</summary>
    private const uint InterfaceVersion = 5;

    [UnmanagedCallersOnly(EntryPoint = "vk_icdNegotiateLoaderICDInterfaceVersion")]
    public static int NegotiateLoaderInterfaceVersion(uint* pVersion)
    {
        if (pVersion == null)
            return (int)Venus.Protocol.Vulkan.VkResult.VK_ERROR_INCOMPATIBLE_DRIVER;
        if (*pVersion < 2)
        {
            IcdLog.Error($"the Vulkan loader offers ICD interface {*pVersion}; this driver needs at least 2");
            return (int)Venus.Protocol.Vulkan.VkResult.VK_ERROR_INCOMPATIBLE_DRIVER;
        }
        *pVersion = Math.Min(*pVersion, InterfaceVersion);
        return 0;
    }

    [UnmanagedCallersOnly(EntryPoint = "vk_icdGetInstanceProcAddr")]
    public static nint IcdGetInstanceProcAddr(ulong instance, byte* pName) => InstanceProcAddr(instance, pName);

    [UnmanagedCallersOnly(EntryPoint = "vk_icdGetPhysicalDeviceProcAddr")]
    public static nint IcdGetPhysicalDeviceProcAddr(ulong instance, byte* pName)
    {
        try
        {
            return ProcTable.TryGet(pName, out ProcEntry e) && e.Scope == ProcScope.PhysicalDevice ? e.Function : 0;
        }
        catch
        {
            return 0;
        }
    }

    /// <summary>vkGetInstanceProcAddr (its export is generated, Families/Loader.cs).</summary>
    internal static nint InstanceProcAddr(ulong instance, byte* pName)
    {
        try
        {
            if (!ProcTable.TryGet(pName, out ProcEntry e))
                return 0;
            if (e.Scope == ProcScope.Global)
                return e.Function;
            // Without an instance only the global commands are available.
            return instance == 0 ? 0 : e.Function;
        }
        catch
        {
            return 0;
        }
    }

    /// <summary>
    /// A device function of this driver's own, <c>vkVenusBenchEmpty(VkDevice)</c>, that does nothing
    /// and returns VK_SUCCESS: bench/clients/icdbench.c times it as the floor of any call into this
    /// driver (NativeAOT's reverse P/Invoke transition and nothing else; the loader hands it out
    /// without a trampoline). Only vkGetDeviceProcAddr gives it; no app can know the name.
    /// </summary>
    private static ReadOnlySpan<byte> BenchEmptyName => "vkVenusBenchEmpty"u8;

    [UnmanagedCallersOnly]
    private static VkResult BenchEmpty(ulong device) => VkResult.VK_SUCCESS;

    /// <summary>vkGetDeviceProcAddr (its export is generated, Families/Loader.cs).</summary>
    internal static nint DeviceProcAddr(ulong device, byte* pName)
    {
        try
        {
            if (!ProcTable.TryGet(pName, out ProcEntry e))
                return device != 0 && BenchEmptyName.SequenceEqual(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(pName))
                    ? (nint)(delegate* unmanaged<ulong, VkResult>)&BenchEmpty : 0;
            if (e.Scope != ProcScope.Device || device == 0)
                return 0;
            var dev = DispatchableObject.From<Device>(device);
            if (e.CoreVersion != 0 && (e.CoreVersion >> 12) <= (dev.ApiVersion >> 12))
                return e.Function;
            if (e.Extension is string ext && dev.IsEnabled(ext))
                return e.Function;
            return 0;
        }
        catch
        {
            return 0;
        }
    }
}
