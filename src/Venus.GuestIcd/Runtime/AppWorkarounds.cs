using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Per-application choices, keyed like Mesa's driconf by the app's engine name and the host's
/// driver. One today: Zink ("mesa zink") on a lavapipe host is not offered VK_KHR_push_descriptor.
/// Zink then keeps its descriptors in sets it allocates once and rewrites (its lazy mode) instead of
/// pushing them. lavapipe gives every push a freshly allocated and mapped memory page and unmaps it
/// when the command buffer is done: an mmap, a page fault and an munmap with its TLB shootdown per
/// push, nine pushes per glxgears frame. Natively Zink uses VK_EXT_descriptor_buffer, which the Venus
/// protocol does not carry. The commands stay (Vulkan 1.4 has them in core); only the extension
/// string, which is what Zink checks, is left out. <c>VENUS_PERF=zink_push_descriptor</c> offers it
/// again (for comparison, and for tests that drive the extension itself).
/// </summary>
internal static class AppWorkarounds
{
    public const string ZinkEngine = "mesa zink";
    public const string PushDescriptor = "VK_KHR_push_descriptor";
    public const string KeepSwitch = "zink_push_descriptor";

    private static readonly bool s_keepPush =
        (Environment.GetEnvironmentVariable("VENUS_PERF") ?? "").Split(',', StringSplitOptions.TrimEntries).Contains(KeepSwitch);

    /// <summary>Why <paramref name="extension"/> is not offered to this app on this host driver, or null.</summary>
    public static string? LeaveOut(string extension, string engineName, VkDriverId hostDriver) =>
        LeaveOut(extension, engineName, hostDriver, s_keepPush);

    public static string? LeaveOut(string extension, string engineName, VkDriverId hostDriver, bool keepPush) =>
        extension == PushDescriptor && engineName == ZinkEngine && hostDriver == VkDriverId.VK_DRIVER_ID_MESA_LLVMPIPE && !keepPush
            ? $"Zink on lavapipe: every push maps and unmaps a page on the host, Zink's descriptor sets do not (VENUS_PERF={KeepSwitch} offers it)"
            : null;
}
