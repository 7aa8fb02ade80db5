using System.Collections.Concurrent;
using Venus.GuestIcd.Generated;
using Venus.Protocol;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// A VkDevice: its queues (fetched once at creation), enabled extensions, and the guest state of its
/// objects. Creation is in Device.Create.cs, memory reports and imported host memory in
/// Device.HostMemory.cs; its queues, memory and command pools are Queue.cs, DeviceMemory.cs, CommandPool.cs.
/// </summary>
internal sealed unsafe partial class Device : DispatchableObject
{
    private readonly HashSet<string> _enabledExtensions;
    private readonly List<Queue> _queues = new();

    public readonly ConcurrentDictionary<ulong, DeviceMemory> Memories = new();
    public readonly ConcurrentDictionary<ulong, CommandPool> CommandPools = new();
    public readonly ConcurrentDictionary<ulong, DescriptorUpdateTemplate> Templates = new();
    /// <summary>Each live buffer's memory requirements, once known (<see cref="IdTable{T}"/>: no lock or allocation per buffer).</summary>
    public readonly IdTable<VkMemoryRequirements> BufferRequirements = new();
    /// <summary>Requirements by create info, for creating buffers without a reply (<see cref="Runtime.BufferCache"/>).</summary>
    public readonly BufferCache BufferCache = new();
    public readonly ConcurrentDictionary<ulong, GuestFence> Fences = new();
    /// <summary>Timeline semaphores with a feedback counter (<see cref="Timelines"/>).</summary>
    public readonly ConcurrentDictionary<ulong, GuestTimeline> Timelines = new();
    /// <summary>Events with a feedback slot (<see cref="Events"/>; an <see cref="IdTable{T}"/>, so vkGetEventStatus takes no lock).</summary>
    public readonly IdTable<GuestEvent> Events = new();
    /// <summary>Query pools with feedback slots (<see cref="GuestQueryPool"/>; lock-free lookups for vkGetQueryPoolResults).</summary>
    public readonly IdTable<GuestQueryPool> QueryPools = new();

    /// <summary>Set once the transport refused a retire signal (<see cref="HostWake"/>): fence waits poll from then on.</summary>
    public volatile bool NoHostWake;
    /// <summary>How many entries <see cref="QueryPools"/> holds, so that recording skips the lookup while there are none.</summary>
    public int QueryPoolCount;
    /// <summary>Each live image's memory requirements, once known (<see cref="IdTable{T}"/>).</summary>
    public readonly IdTable<ImageRequirements> ImageRequirements = new();
    /// <summary>Requirements by create info, for creating images without a reply (<see cref="Runtime.ImageCache"/>).</summary>
    public readonly ImageCache ImageCache = new();
    /// <summary>Format and layer count of each live image, for sizing host image copies (<see cref="HostImageCopy"/>).</summary>
    public readonly IdTable<ImageShape> Images = new();
    /// <summary>Deferred operations (VK_KHR_deferred_host_operations, <see cref="RayTracing"/>): the result of the work each one was given, done at once.</summary>
    public readonly ConcurrentDictionary<ulong, VkResult> DeferredOperations = new();
    /// <summary>Ray-tracing pipelines: their shader group count, then their handles once fetched (<see cref="RayTracing"/>).</summary>
    public readonly ConcurrentDictionary<ulong, RayTracingPipeline> RayTracingPipelines = new();

    /// <summary>Imported host memory (VK_EXT_external_memory_host), replaced whole on change so the sync points read it without a lock.</summary>
    private HostPointerMemory[] _hostImports = [];
    private readonly Lock _hostImportsLock = new();

    /// <summary>VK_EXT_device_memory_report callbacks given at creation (function, user data).</summary>
    private readonly (nint Callback, nint UserData)[] _memoryReports;

    private Device(PhysicalDevice physicalDevice, HashSet<string> enabledExtensions, (nint, nint)[] memoryReports)
    {
        PhysicalDevice = physicalDevice;
        Ring = physicalDevice.Instance.Ring;
        _enabledExtensions = enabledExtensions;
        _memoryReports = memoryReports;
    }

    public PhysicalDevice PhysicalDevice { get; }
    public override GuestInstance Instance => PhysicalDevice.Instance;

    /// <summary>The instance's ring, kept here so that status queries reach it without two property calls.</summary>
    public new GuestRing Ring { get; }
    public uint ApiVersion => PhysicalDevice.ApiVersion;
    public bool IsEnabled(string extension) => _enabledExtensions.Contains(extension);
    public IReadOnlyList<Queue> Queues => _queues;

    /// <summary>Whether the host device takes vkGetDeviceImageMemoryRequirements (Vulkan 1.3 on both the instance and the device).</summary>
    public bool HasDeviceImageRequirements => Math.Min(Instance.ApiVersion, ApiVersion) >= VenusCapset.MakeVulkanVersion(1, 3, 0);

    /// <summary>Whether the app enabled multiview: a query inside a render pass may then cover several queries (no query feedback).</summary>
    public bool MultiviewEnabled { get; private set; }

    /// <summary>This driver's own device entry points, for objects the driver makes itself (swapchains, feedback).</summary>
    public DeviceFunctions Functions
    {
        get
        {
            if (_functions is { } f)
                return f;
            var made = new DeviceFunctions();
            made.Table.Load((delegate* unmanaged<nint, byte*, nint>)(delegate* unmanaged<ulong, byte*, nint>)&Generated.Entrypoints.vkGetDeviceProcAddr, (nint)Handle);
            return Interlocked.CompareExchange(ref _functions, made, null) ?? made;
        }
    }
    private DeviceFunctions? _functions;

    /// <summary>The device's status feedback (<see cref="FeedbackPool"/>), made at first use; null where off.</summary>
    public FeedbackPool? Feedback
    {
        get
        {
            if (_feedbackDecided)
                return _feedback;
            lock (_hostImportsLock)
            {
                if (!_feedbackDecided)
                {
                    _feedback = FeedbackPool.ForDevice(this);
                    _feedbackDecided = true;
                }
            }
            return _feedback;
        }
    }
    private FeedbackPool? _feedback;
    private volatile bool _feedbackDecided;

    /// <summary>Feedback for fences (null with <c>VENUS_PERF=no_fence_feedback</c>).</summary>
    public FeedbackPool? FenceFeedback => PerfOptions.NoFenceFeedback ? null : Feedback;

    /// <summary>Feedback for timeline semaphores (null with <c>VENUS_PERF=no_semaphore_feedback</c>).</summary>
    public FeedbackPool? SemaphoreFeedback => PerfOptions.NoSemaphoreFeedback ? null : Feedback;

    /// <summary>Feedback for events (null with <c>VENUS_PERF=no_event_feedback</c>).</summary>
    public FeedbackPool? EventFeedback => PerfOptions.NoEventFeedback ? null : Feedback;

    /// <summary>After the feedback buffer could not be made: objects made from now on ask the host.</summary>
    public void DisableFeedback(string why)
    {
        IcdLog.Error($"status feedback off for this device: {why}");
        lock (_hostImportsLock)
        {
            _feedback = null;
            _feedbackDecided = true;
        }
    }

    public Queue? FindQueue(uint family, uint index, uint flags)
    {
        foreach (Queue q in _queues)
            if (q.Family == family && q.Index == index && q.Flags == flags)
                return q;
        return null;
    }

    public void Destroy()
    {
        try
        {
            foreach (Queue q in _queues)
                q.Destroy();
            if (!Ring.IsLost)
            {
                _feedback?.Destroy();
                Sends.vkDestroyDevice(Ring, Handle, null);
            }
        }
        catch (Exception e)
        {
            IcdLog.Info($"vkDestroyDevice: {e.Message}");
        }
        if (IcdLog.Init)
        {
            (int hits, int misses) = ImageCache.Counts;
            IcdLog.Info($"vkDestroyDevice: image requirements cache {hits} hits, {misses} misses; still tracked: {Images.Count} images " +
                $"({ImageRequirements.Count} with requirements), {BufferRequirements.Count} buffers");
        }
        foreach (CommandPool pool in CommandPools.Values)
            pool.FreeAll();
        foreach (DeviceMemory memory in Memories.Values)
            memory.Release();
        foreach (Queue q in _queues)
        {
            Instance.FreeTimeline(q.RingIdx);
            q.ReleaseHandle();
        }
        ReleaseHandle();
    }
}

/// <summary>A function table in a class, so that it is shared by reference.</summary>
internal sealed class DeviceFunctions
{
    public VkDeviceFunctions Table;
}

/// <summary>What a host image copy needs to know of an image: its format and array layers.</summary>
internal readonly record struct ImageShape(VkFormat Format, uint ArrayLayers);
