using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>A VkDevice: its queues (fetched once at creation), enabled extensions, and the guest state of its objects.</summary>
internal sealed unsafe class Device : DispatchableObject
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
    /// <summary>Events with a feedback slot (<see cref="Events"/>).</summary>
    public readonly ConcurrentDictionary<ulong, GuestEvent> Events = new();
    /// <summary>Query pools with feedback slots (<see cref="GuestQueryPool"/>).</summary>
    public readonly ConcurrentDictionary<ulong, GuestQueryPool> QueryPools = new();
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
        _enabledExtensions = enabledExtensions;
        _memoryReports = memoryReports;
    }

    public PhysicalDevice PhysicalDevice { get; }
    public override GuestInstance Instance => PhysicalDevice.Instance;
    public uint ApiVersion => PhysicalDevice.ApiVersion;
    public bool IsEnabled(string extension) => _enabledExtensions.Contains(extension);
    public IReadOnlyList<Queue> Queues => _queues;

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

    public static VkResult Create(PhysicalDevice physicalDevice, VkDeviceCreateInfo* createInfo, ulong* pDevice)
    {
        var enabled = new HashSet<string>(StringComparer.Ordinal);
        for (uint i = 0; i < createInfo->enabledExtensionCount; i++)
        {
            string name = Marshal.PtrToStringUTF8((nint)createInfo->ppEnabledExtensionNames[i]) ?? "";
            if (!physicalDevice.HasExtension(name))
            {
                IcdLog.Info($"vkCreateDevice: device extension {name} is not supported");
                return VkResult.VK_ERROR_EXTENSION_NOT_PRESENT;
            }
            enabled.Add(name);
        }

        // Device-memory report structs are not in the protocol (the encoder leaves them out); the
        // callbacks stay here.
        var reports = new List<(nint, nint)>();
        for (var s = (VkBaseOutStructure*)createInfo->pNext; s != null; s = s->pNext)
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_DEVICE_DEVICE_MEMORY_REPORT_CREATE_INFO_EXT)
            {
                var report = (VkDeviceDeviceMemoryReportCreateInfoEXT*)s;
                if (report->pfnUserCallback != 0)
                    reports.Add((report->pfnUserCallback, (nint)report->pUserData));
            }

        var device = new Device(physicalDevice, enabled, reports.ToArray());
        for (var s = (VkBaseOutStructure*)createInfo->pNext; s != null; s = s->pNext)
            if ((s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MULTIVIEW_FEATURES && ((VkPhysicalDeviceMultiviewFeatures*)s)->multiview != 0)
                || (s->sType == VkStructureType.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES && ((VkPhysicalDeviceVulkan11Features*)s)->multiview != 0))
                device.MultiviewEnabled = true;
        GuestRing ring = device.Ring;
        VkDeviceCreateInfo hostInfo = *createInfo;
        hostInfo.enabledLayerCount = 0;
        hostInfo.ppEnabledLayerNames = null;
        // Only the host's own extensions are enabled there; the ones this driver answers alone are not.
        byte** hostNames = stackalloc byte*[(int)Math.Min(createInfo->enabledExtensionCount, 1024u)];
        uint hostCount = 0;
        for (uint i = 0; i < createInfo->enabledExtensionCount && hostCount < 1024; i++)
        {
            string name = Marshal.PtrToStringUTF8((nint)createInfo->ppEnabledExtensionNames[i]) ?? "";
            if (physicalDevice.IsHostExtension(name))
                hostNames[hostCount++] = createInfo->ppEnabledExtensionNames[i];
        }
        hostInfo.enabledExtensionCount = hostCount;
        hostInfo.ppEnabledExtensionNames = hostCount == 0 ? null : hostNames;
        ulong id = device.Handle;
        VkResult r = Calls.vkCreateDevice(ring, physicalDevice.Handle, &hostInfo, null, &id);
        if (r != VkResult.VK_SUCCESS)
        {
            device.ReleaseHandle();
            return Icd.Trace(r, "vkCreateDevice");
        }

        // Every queue is fetched now, each with its own timeline (ring_idx) when the host has them (§8.5).
        bool timelines = physicalDevice.Instance.Capset.SupportsMultipleTimelines;
        for (uint i = 0; i < createInfo->queueCreateInfoCount; i++)
        {
            VkDeviceQueueCreateInfo* q = &createInfo->pQueueCreateInfos[i];
            for (uint index = 0; index < q->queueCount; index++)
            {
                var queue = new Queue(device, q->queueFamilyIndex, index, q->flags,
                    timelines ? physicalDevice.Instance.AllocateTimeline() : 0);
                var timeline = new VkDeviceQueueTimelineInfoMESA { sType = VkDeviceQueueTimelineInfoMESA.SType, ringIdx = queue.RingIdx };
                var info = new VkDeviceQueueInfo2
                {
                    sType = VkDeviceQueueInfo2.SType,
                    pNext = queue.RingIdx != 0 ? &timeline : null,
                    flags = q->flags,
                    queueFamilyIndex = q->queueFamilyIndex,
                    queueIndex = index,
                };
                ulong queueId = queue.Handle;
                Sends.vkGetDeviceQueue2(ring, device.Handle, &info, &queueId);
                device._queues.Add(queue);
            }
        }
        *pDevice = device.Handle;
        return VkResult.VK_SUCCESS;
    }

    public bool ReportsMemory => _memoryReports.Length != 0;

    /// <summary>Tells the VK_EXT_device_memory_report callbacks about a VkDeviceMemory event.</summary>
    public void ReportMemory(VkDeviceMemoryReportEventTypeEXT type, ulong memoryId, ulong size, uint typeIndex)
    {
        var data = new VkDeviceMemoryReportCallbackDataEXT
        {
            sType = VkDeviceMemoryReportCallbackDataEXT.SType,
            type = type,
            memoryObjectId = memoryId,
            size = size,
            objectType = VkObjectType.VK_OBJECT_TYPE_DEVICE_MEMORY,
            objectHandle = memoryId,
            heapIndex = typeIndex < PhysicalDevice.MemoryProperties.memoryTypeCount
                ? PhysicalDevice.MemoryProperties.memoryTypes[(int)typeIndex].heapIndex : 0,
        };
        foreach ((nint callback, nint userData) in _memoryReports)
            ((delegate* unmanaged<VkDeviceMemoryReportCallbackDataEXT*, void*, void>)callback)(&data, (void*)userData);
    }

    public void AddHostImport(HostPointerMemory m)
    {
        lock (_hostImportsLock)
            _hostImports = [.. _hostImports, m];
    }

    public void RemoveHostImport(HostPointerMemory m)
    {
        lock (_hostImportsLock)
            _hostImports = Array.FindAll(_hostImports, x => x != m);
    }

    /// <summary>Before the device may read: the app's writes to imported host memory go to the device (no-op without imports).</summary>
    public void PushHostWrites()
    {
        foreach (HostPointerMemory m in _hostImports)
            m.Push();
    }

    /// <summary>After the app observed completion: the device's writes to imported host memory come back.</summary>
    public void PullDeviceWrites()
    {
        foreach (HostPointerMemory m in _hostImports)
            m.Pull();
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

/// <summary>A VkQueue, with its timeline and (for vkQueueWaitIdle) a fence of its own, made on first use.</summary>
internal sealed unsafe class Queue : DispatchableObject
{
    private ulong _idleFence;

    public Queue(Device device, uint family, uint index, uint flags, uint ringIdx)
    {
        Device = device;
        Family = family;
        Index = index;
        Flags = flags;
        RingIdx = ringIdx;
    }

    public Device Device { get; }
    public override GuestInstance Instance => Device.Instance;
    public uint Family { get; }
    public uint Index { get; }
    public uint Flags { get; }
    public uint RingIdx { get; }

    /// <summary>
    /// vkQueueWaitIdle without blocking the host's ring thread (a host may refuse blocking waits):
    /// an empty submission with our fence (with feedback where the device has it), then the fence is polled.
    /// </summary>
    public VkResult WaitIdle()
    {
        if (_idleFence == 0)
        {
            var info = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
            ulong fence;
            VkResult r = Fences.Create(Device, &info, &fence);
            if (r != VkResult.VK_SUCCESS)
                return r;
            _idleFence = fence;
        }
        ulong f = _idleFence;
        Submits.Submit(this, 0, null, f);
        VkResult result = Sync.WaitFences(Device, 1, &f, 1, ulong.MaxValue);
        if (result == VkResult.VK_SUCCESS)
            Fences.Reset(Device, 1, &f);
        return result;
    }

    public void Destroy()
    {
        if (_idleFence != 0 && !Ring.IsLost)
        {
            Fences.Destroy(Device, _idleFence);
        }
    }
}

/// <summary>
/// A VkDeviceMemory: the app's size, the size allocated on the host (whole pages for host-visible
/// types), the type, and the blob that maps it (made on first vkMapMemory, §8.4).
/// </summary>
internal sealed unsafe class DeviceMemory(Device device, ulong id, ulong size, ulong hostSize, uint typeIndex)
{
    private readonly Lock _lock = new();
    private Transport.GuestShmem? _blob;

    public Device Device { get; } = device;
    public ulong Id { get; } = id;
    public ulong Size { get; } = size;
    public ulong HostSize { get; } = hostSize;
    public uint TypeIndex { get; } = typeIndex;

    /// <summary>The fd of the mapped blob (vtest's memfd) for sharing with another local process (X11 MIT-SHM), or -1.</summary>
    public int BlobFd
    {
        get
        {
            lock (_lock)
                return _blob?.Fd ?? -1;
        }
    }

    /// <summary>The fd handle types it was allocated exportable with (or imported as): its blob is then shareable (Runtime/ExternalMemory.cs).</summary>
    public uint ExternalHandleTypes { get; set; }

    /// <summary>What keeps the resource of an imported fd attached to the context (virtio-gpu: the PRIME handle); disposed on free.</summary>
    public IDisposable? ImportHold { get; set; }

    /// <summary>The blob of exportable memory, made SHAREABLE (and mapped where the type is mappable) on first use.</summary>
    public Transport.GuestShmem ShareableBlob()
    {
        lock (_lock)
            return _blob ??= Device.Instance.Transport.CreateShareableMemoryBlob(Id, HostSize, Device.PhysicalDevice.IsMappable(TypeIndex));
    }

    /// <summary>Set when the memory imports an app's host pointer: its blob is the device's side of it.</summary>
    public HostPointerMemory? HostImport { get; private set; }

    /// <summary>VK_EXT_external_memory_host: maps the blob and takes the app's range as the contents.</summary>
    public VkResult ImportHostPointer(byte* pointer)
    {
        void* blob;
        VkResult r = Map(0, ulong.MaxValue, &blob);
        if (r != VkResult.VK_SUCCESS)
            return r;
        HostImport = new HostPointerMemory(pointer, (byte*)blob, Size);
        Device.AddHostImport(HostImport);
        return VkResult.VK_SUCCESS;
    }

    public VkResult Map(ulong offset, ulong size, void** ppData)
    {
        if (HostImport is null && !Device.PhysicalDevice.IsMappable(TypeIndex))
            return VkResult.VK_ERROR_MEMORY_MAP_FAILED;
        if (offset >= Size || (size != ulong.MaxValue && (size == 0 || size > Size - offset)))
            return VkResult.VK_ERROR_MEMORY_MAP_FAILED;
        if (HostImport is not null)
        {
            // Mapping imported memory gives the app's own pointer back (what drivers do); its
            // contents are the app's side, synchronised at the usual points.
            *ppData = HostImport.AppPointer + offset;
            return VkResult.VK_SUCCESS;
        }
        lock (_lock)
        {
            if (_blob is null)
            {
                try
                {
                    _blob = ExternalHandleTypes != 0
                        ? Device.Instance.Transport.CreateShareableMemoryBlob(Id, HostSize, mappable: true)
                        : Device.Instance.Transport.CreateMemoryBlob(Id, HostSize, mappable: true);
                }
                catch (Exception e)
                {
                    IcdLog.Error($"vkMapMemory: the host could not share memory 0x{Id:x} ({Size} bytes) as a blob: {e.Message}");
                    return VkResult.VK_ERROR_MEMORY_MAP_FAILED;
                }
            }
            *ppData = _blob.Pointer + offset;
            return VkResult.VK_SUCCESS;
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            if (HostImport is not null)
            {
                Device.RemoveHostImport(HostImport);
                HostImport.Dispose();
                HostImport = null;
            }
            try
            {
                if (_blob is not null && ExternalHandleTypes != 0)
                    ExternalMemory.Forget(_blob);
                _blob?.Dispose();
            }
            catch (Exception e)
            {
                IcdLog.Info($"releasing the blob of memory 0x{Id:x}: {e.Message}");
            }
            _blob = null;
            try
            {
                ImportHold?.Dispose();
            }
            catch (Exception e)
            {
                IcdLog.Info($"releasing the import of memory 0x{Id:x}: {e.Message}");
            }
            ImportHold = null;
        }
    }
}

/// <summary>A VkCommandPool's command buffers, so a pool reset or destroy reaches them.</summary>
internal sealed class CommandPool(ulong id, uint flags, uint queueFamily)
{
    public ulong Id { get; } = id;
    public uint Flags { get; } = flags;
    public uint QueueFamily { get; } = queueFamily;
    public readonly HashSet<CommandBuffer> Buffers = new();

    public void FreeAll()
    {
        lock (Buffers)
        {
            foreach (CommandBuffer cb in Buffers)
                cb.Free();
            Buffers.Clear();
        }
    }
}

/// <summary>What a host image copy needs to know of an image: its format and array layers.</summary>
internal readonly record struct ImageShape(VkFormat Format, uint ArrayLayers);
