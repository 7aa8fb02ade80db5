using System.Runtime.CompilerServices;
using Venus.Protocol.Vulkan;
using Venus.Transport.Virtgpu;
using Venus.Transport.Vtest;

namespace Venus.GuestIcd.Runtime;

/// <summary>The host went away or declared the context dead: every later call reports VK_ERROR_DEVICE_LOST.</summary>
internal sealed class DeviceLostException(string message) : Exception(message);

/// <summary>A failure that maps to a specific VkResult (e.g. an allocation the host refused).</summary>
internal sealed class VulkanResultException(VkResult result, string message) : Exception(message)
{
    public VkResult Result { get; } = result;
}

/// <summary>Turns anything thrown inside an export into a VkResult and one log line; nothing escapes to the app.</summary>
internal static class Icd
{
    public static VkResult Fail(Exception e, string command)
    {
        try
        {
            switch (e)
            {
                case VulkanResultException v:
                    if (IcdLog.Result)
                        IcdLog.Error($"{command}: {v.Result}: {v.Message}");
                    return v.Result;
                case DeviceLostException:
                    IcdLog.Error($"{command}: device lost: {e.Message}");
                    return VkResult.VK_ERROR_DEVICE_LOST;
                case VtestException:
                    IcdLog.Error($"{command}: device lost: {e.Message}");
                    return VkResult.VK_ERROR_DEVICE_LOST;
                case VirtgpuException { Kind: VirtgpuErrorKind.OutOfMemory }:
                    IcdLog.Error($"{command}: out of device memory: {e.Message}");
                    return VkResult.VK_ERROR_OUT_OF_DEVICE_MEMORY;
                case VirtgpuException:
                    IcdLog.Error($"{command}: device lost: {e.Message}");
                    return VkResult.VK_ERROR_DEVICE_LOST;
                case OutOfMemoryException:
                    IcdLog.Error($"{command}: out of host memory");
                    return VkResult.VK_ERROR_OUT_OF_HOST_MEMORY;
                default:
                    IcdLog.Error($"{command}: internal error: {e.GetType().Name}: {e.Message}");
                    return VkResult.VK_ERROR_UNKNOWN;
            }
        }
        catch
        {
            return VkResult.VK_ERROR_UNKNOWN;
        }
    }

    /// <summary>
    /// For void commands: the error is logged (the device is marked lost by whoever saw it). A lost
    /// device is not logged again here: the ring logged its cause once, and an app tearing down
    /// after the loss would otherwise print a line per vkDestroy* (whose local state is already gone).
    /// </summary>
    public static void FailVoid(Exception e, string command)
    {
        if (e is DeviceLostException)
            return;
        Fail(e, command);
    }

    /// <summary>Logs a failing VkResult from the host when <c>VENUS_DEBUG=result</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VkResult Trace(VkResult result, string command)
    {
        if (result < 0)
            TraceFailure(result, command);
        return result;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void TraceFailure(VkResult result, string command)
    {
        if (IcdLog.Result)
            IcdLog.Error($"{command} -> {result}");
    }
}
