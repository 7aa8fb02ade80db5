using Venus.GuestIcd.Loader;

namespace Venus.GuestIcd.Families;

/// <summary>The loader interface's proc-address queries, as Vulkan commands (Loader/IcdExports.cs answers them).</summary>
internal static unsafe partial class IcdCommands
{
    internal static partial nint vkGetInstanceProcAddr(ulong instance, byte* pName) => IcdExports.InstanceProcAddr(instance, pName);

    internal static partial nint vkGetDeviceProcAddr(ulong device, byte* pName) => IcdExports.DeviceProcAddr(device, pName);
}
