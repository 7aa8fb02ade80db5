using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Server;

/// <summary>
/// Gets a spare worker's code compiled and the driver loaded before (or while) a client arrives:
/// a guest's first calls run once through a throw-away context, then every generated codec and
/// handler is compiled in the background.
/// </summary>
internal static unsafe class Warmup
{
    /// <summary>Compiles the generated protocol and dispatch code on a background thread.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026",
        Justification = "Warm-up only: a type the trimmer removed is simply not compiled ahead.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075",
        Justification = "Warm-up only: a method the trimmer removed is simply not compiled ahead.")]
    public static void CompileInBackground()
    {
        // NativeAOT: everything is compiled already.
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported) return;
        var t = new Thread(() =>
        {
            try
            {
                foreach (var asm in new[] { typeof(VnEncoder).Assembly, typeof(Warmup).Assembly })
                    foreach (var type in asm.GetTypes())
                    {
                        if (type.IsGenericTypeDefinition || type.Namespace is not ("Venus.Protocol.Commands" or "Venus.Protocol.Wire" or "Venus.HostRenderer.Context" or "Venus.HostRenderer"))
                            continue;
                        foreach (var m in type.GetMethods(System.Reflection.BindingFlags.DeclaredOnly | System.Reflection.BindingFlags.Static |
                                                          System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
                        {
                            if (m.IsAbstract || m.ContainsGenericParameters) continue;
                            try { System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(m.MethodHandle); } catch (Exception) { }
                        }
                    }
            }
            catch (Exception)
            {
                // Warming up is an optimisation only.
            }
        })
        { IsBackground = true, Name = "venus-warmup", Priority = ThreadPriority.BelowNormal };
        t.Start();
    }

    /// <summary>
    /// A guest's first calls through a throw-away context, in three steps: the instance, its
    /// physical devices and their memory types (the driver loaded), a device created and destroyed (a driver's first device
    /// costs the most: lavapipe's about 2.5 times its later ones), the instance destroyed (the driver
    /// stays loaded). <paramref name="cancelled"/> is checked between steps: a client that arrives
    /// meanwhile is served at once, and the rest of the warm-up is left out.
    /// </summary>
    public static void Run(VulkanLibrary vk, Func<bool>? cancelled = null)
    {
        try
        {
            using var ctx = new HostContext(vk, new HostOptions { Log = _ => { } }, "warmup");
            var reply = ctx.CreateSharedMemory(65536, out _);
            if (reply == null) return;
            var buf = new byte[4096];
            const ulong instance = 1, physicalDevice = 2, device = 3;
            var e = new VnEncoder(buf);
            var stream = new VkCommandStreamDescriptionMESA { resourceId = reply.Id, offset = 0, size = 65536 };
            vkSetReplyCommandStreamMESA.Encode(ref e, 0, &stream);
            uint version = 0;
            vkEnumerateInstanceVersion.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, &version);
            var app = new VkApplicationInfo { sType = VkApplicationInfo.SType, apiVersion = (1u << 22) | (1u << 12) };
            var ci = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, pApplicationInfo = &app };
            ulong instanceId = instance;
            vkCreateInstance.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, &ci, null, &instanceId);
            uint count = 1;
            ulong physicalDeviceId = physicalDevice;
            vkEnumeratePhysicalDevices.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, instance, &count, &physicalDeviceId);
            VkPhysicalDeviceProperties props;
            vkGetPhysicalDeviceProperties.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, physicalDevice, &props);
            // Every guest asks for the memory types first thing; answering needs to know which types
            // host memory can be imported as (Families/MemoryTypes.cs), which costs a probe device the
            // first time in a process. Asked here, the answer is cached before a client arrives.
            VkPhysicalDeviceMemoryProperties memory;
            vkGetPhysicalDeviceMemoryProperties.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, physicalDevice, &memory);
            ctx.Submit(buf.AsSpan(0, e.Position), 0, () => { });

            if (cancelled?.Invoke() != true && !ctx.IsFatal)
            {
                // Queue family 0 exists on every device; one queue of it is always valid.
                e = new VnEncoder(buf);
                float priority = 1;
                var queue = new VkDeviceQueueCreateInfo { sType = VkDeviceQueueCreateInfo.SType, queueFamilyIndex = 0, queueCount = 1, pQueuePriorities = &priority };
                var dci = new VkDeviceCreateInfo { sType = VkDeviceCreateInfo.SType, queueCreateInfoCount = 1, pQueueCreateInfos = &queue };
                ulong deviceId = device;
                vkCreateDevice.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, physicalDevice, &dci, null, &deviceId);
                vkDestroyDevice.Encode(ref e, 0, device, null);
                ctx.Submit(buf.AsSpan(0, e.Position), 0, () => { });
            }

            e = new VnEncoder(buf);
            vkDestroyInstance.Encode(ref e, 0, instance, null);
            ctx.Submit(buf.AsSpan(0, e.Position), 0, () => { });
        }
        catch (Exception)
        {
            // Warming up is an optimisation only.
        }
    }
}
