using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Venus.HostRenderer.Native;
using Venus.Protocol.Vulkan;

namespace Venus.Fuzz;

/// <summary>
/// A Vulkan "driver" with no GPU behind it, so the host's decoder and dispatcher run millions of
/// cases an hour: every entry point succeeds and does nothing, except those that must hand out
/// handles (creation, allocation, enumeration), which return fresh non-zero numbers. On x86-64 a
/// function that ignores its arguments and returns 0 serves any Vulkan signature (the caller owns
/// the arguments), so one stub covers the rest. Also compiled into tests/Venus.HostRenderer.Tests,
/// whose dispatcher and family tests run on it.
/// </summary>
internal static unsafe class FakeVulkan
{
    static ulong s_next = 0x10000;
    // Interlocked: the host's unit tests (which compile this file in) run contexts on several threads.
    static ulong NewHandle() => Interlocked.Add(ref s_next, 0x10);

    public static readonly VulkanLibrary Library = VulkanLibrary.FromProcAddr(&GetProcAddr);

    [UnmanagedCallersOnly]
    static nint GetProcAddr(nint instance, byte* name)
    {
        string n = Marshal.PtrToStringUTF8((nint)name) ?? "";
        return n switch
        {
            "vkGetInstanceProcAddr" or "vkGetDeviceProcAddr" => (nint)(delegate* unmanaged<nint, byte*, nint>)&GetProcAddr,
            "vkCreateInstance" => (nint)(delegate* unmanaged<void*, void*, ulong*, int>)&CreateInstance,
            "vkEnumeratePhysicalDevices" => (nint)(delegate* unmanaged<ulong, uint*, ulong*, int>)&EnumeratePhysicalDevices,
            "vkEnumeratePhysicalDeviceGroups" or "vkEnumeratePhysicalDeviceGroupsKHR" => (nint)(delegate* unmanaged<ulong, uint*, void*, int>)&EnumerateNothing,
            "vkGetPhysicalDeviceProperties" => (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceProperties*, void>)&GetPhysicalDeviceProperties,
            "vkGetDeviceQueue" => (nint)(delegate* unmanaged<ulong, uint, uint, ulong*, void>)&GetDeviceQueue,
            "vkGetDeviceQueue2" => (nint)(delegate* unmanaged<ulong, void*, ulong*, void>)&GetDeviceQueue2,
            "vkQueueSubmit" or "vkQueueSubmit2" or "vkQueueBindSparse" => (nint)(delegate* unmanaged<ulong, uint, void*, ulong, int>)&QueueSubmit,
            "vkWaitForFences" => (nint)(delegate* unmanaged<ulong, uint, ulong*, uint, ulong, int>)&WaitForFences,
            "vkGetFenceStatus" => (nint)(delegate* unmanaged<ulong, ulong, int>)&GetFenceStatus,
            "vkDeviceWaitIdle" => (nint)(delegate* unmanaged<ulong, int>)&DeviceWaitIdle,
            "vkAllocateCommandBuffers" => (nint)(delegate* unmanaged<ulong, VkCommandBufferAllocateInfo*, ulong*, int>)&AllocateCommandBuffers,
            "vkAllocateDescriptorSets" => (nint)(delegate* unmanaged<ulong, VkDescriptorSetAllocateInfo*, ulong*, int>)&AllocateDescriptorSets,
            _ when n.EndsWith("Pipelines", StringComparison.Ordinal) && n.StartsWith("vkCreate", StringComparison.Ordinal) && !n.Contains("RayTracing", StringComparison.Ordinal)
                => (nint)(delegate* unmanaged<ulong, ulong, uint, void*, void*, ulong*, int>)&CreatePipelines,
            // vkCreateX(parent, pCreateInfo, pAllocator, pX) and vkAllocateMemory have the handle last.
            _ when (n.StartsWith("vkCreate", StringComparison.Ordinal) && !n.Contains("Pipelines", StringComparison.Ordinal) && !n.Contains("Shaders", StringComparison.Ordinal)
                    && !n.Contains("Swapchains", StringComparison.Ordinal)) || n == "vkAllocateMemory"
                => (nint)(delegate* unmanaged<ulong, void*, void*, ulong*, int>)&Create,
            _ => (nint)(delegate* unmanaged<int>)&Success,
        };
    }

    [UnmanagedCallersOnly]
    static int Success() => 0;

    [UnmanagedCallersOnly]
    static int CreateInstance(void* info, void* allocator, ulong* instance)
    {
        *instance = NewHandle();
        return 0;
    }

    [UnmanagedCallersOnly]
    static int EnumeratePhysicalDevices(ulong instance, uint* count, ulong* devices)
    {
        if (devices == null) { *count = 1; return 0; }
        if (*count == 0) return 5; // VK_INCOMPLETE
        // One physical device per instance, the same handle every time (as a driver does).
        devices[0] = instance + 1;
        *count = 1;
        return 0;
    }

    /// <summary>Vulkan 1.1, the least venus-host offers a guest (it hides older devices); everything else zero.</summary>
    [UnmanagedCallersOnly]
    static void GetPhysicalDeviceProperties(ulong device, VkPhysicalDeviceProperties* props)
    {
        *props = default;
        props->apiVersion = (1u << 22) | (1u << 12);
    }

    [UnmanagedCallersOnly]
    static int EnumerateNothing(ulong instance, uint* count, void* groups)
    {
        *count = 0;
        return 0;
    }

    /// <summary>Queue submits in the driver right now, per queue handle.</summary>
    static readonly System.Collections.Concurrent.ConcurrentDictionary<ulong, int> s_queueCalls = new();
    /// <summary>Submits that found another submit to the same queue still in the driver, per queue handle (Vulkan requires the caller to serialize them).</summary>
    static readonly System.Collections.Concurrent.ConcurrentDictionary<ulong, int> s_queueOverlaps = new();

    /// <summary>How often a submit to <paramref name="queue"/> overlapped another one to it.</summary>
    public static int QueueOverlaps(ulong queue) => s_queueOverlaps.TryGetValue(queue, out int n) ? n : 0;

    /// <summary>Submits (any of the three signatures: queue, count, array, fence) take a moment, so that unserialized callers overlap.</summary>
    [UnmanagedCallersOnly]
    static int QueueSubmit(ulong queue, uint count, void* submits, ulong fence)
    {
        if (s_queueCalls.AddOrUpdate(queue, 1, (_, n) => n + 1) > 1)
            s_queueOverlaps.AddOrUpdate(queue, 1, (_, n) => n + 1);
        Thread.SpinWait(2000);
        s_queueCalls.AddOrUpdate(queue, 0, (_, n) => n - 1);
        return 0;
    }

    /// <summary>Devices whose queue work never finishes (a submit that waits on a value nobody signals): their fences stay unsignalled.</summary>
    static readonly System.Collections.Concurrent.ConcurrentDictionary<ulong, bool> s_stuck = new();

    /// <summary>Makes <paramref name="device"/>'s fences never signal (or signal again): vkWaitForFences sleeps its timeout (at most 100 ms a call) and times out, vkGetFenceStatus says not ready, vkDeviceWaitIdle blocks until cleared.</summary>
    public static void SetStuck(ulong device, bool stuck)
    {
        if (stuck) s_stuck[device] = true;
        else s_stuck.TryRemove(device, out _);
    }

    [UnmanagedCallersOnly]
    static int WaitForFences(ulong device, uint count, ulong* fences, uint waitAll, ulong timeout)
    {
        if (!s_stuck.ContainsKey(device)) return 0;
        Thread.Sleep((int)Math.Min(timeout / 1_000_000, 100));
        return 2; // VK_TIMEOUT
    }

    [UnmanagedCallersOnly]
    static int GetFenceStatus(ulong device, ulong fence) => s_stuck.ContainsKey(device) ? 1 : 0; // VK_NOT_READY : VK_SUCCESS

    [UnmanagedCallersOnly]
    static int DeviceWaitIdle(ulong device)
    {
        while (s_stuck.ContainsKey(device)) Thread.Sleep(10);
        return 0;
    }

    [UnmanagedCallersOnly]
    static void GetDeviceQueue(ulong device, uint family, uint index, ulong* queue) => *queue = device + 1 + family * 64 + index;

    [UnmanagedCallersOnly]
    static void GetDeviceQueue2(ulong device, void* info, ulong* queue) => *queue = device + 1;

    [UnmanagedCallersOnly]
    static int Create(ulong parent, void* info, void* allocator, ulong* handle)
    {
        *handle = NewHandle();
        return 0;
    }

    [UnmanagedCallersOnly]
    static int CreatePipelines(ulong device, ulong cache, uint count, void* infos, void* allocator, ulong* pipelines)
    {
        for (uint i = 0; i < count; i++) pipelines[i] = NewHandle();
        return 0;
    }

    [UnmanagedCallersOnly]
    static int AllocateCommandBuffers(ulong device, VkCommandBufferAllocateInfo* info, ulong* buffers)
    {
        for (uint i = 0; i < info->commandBufferCount; i++) buffers[i] = NewHandle();
        return 0;
    }

    [UnmanagedCallersOnly]
    static int AllocateDescriptorSets(ulong device, VkDescriptorSetAllocateInfo* info, ulong* sets)
    {
        for (uint i = 0; i < info->descriptorSetCount; i++) sets[i] = NewHandle();
        return 0;
    }
}
