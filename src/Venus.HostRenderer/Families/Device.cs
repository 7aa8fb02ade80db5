using System.Runtime.InteropServices;
using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>What the host keeps per VkDevice.</summary>
internal sealed unsafe class DeviceState
{
    public ulong Id;
    public ulong Handle;
    public ulong PhysicalDevice;
    public int Table;
    public VkDeviceFunctions* Fns;
    public VkPhysicalDeviceMemoryProperties Memory;
    /// <summary>VK_EXT_external_memory_host is enabled: host-visible memory is imported from memfds the guest can map.</summary>
    public bool HostPointerImport;
    public ulong HostPointerAlignment = 4096;
    /// <summary>How sync_fd semaphore payloads are handled (Families/Sync.cs).</summary>
    public SyncFdMode SyncFd;
    /// <summary>VK_KHR_external_memory_fd / VK_EXT_external_memory_dma_buf are enabled (Families/ExternalMemory.cs).</summary>
    public bool MemoryFd, DmaBuf;
    /// <summary>The first queue the guest fetched: where emulated sync_fd payloads are signalled and consumed.</summary>
    public ulong Queue;
    /// <summary>VkPhysicalDeviceLimits::maxViewports, asked for at the first command buffer recorded (0 until then).</summary>
    public uint MaxViewports;
}

/// <summary>VK_KHR_external_semaphore_fd on a device: not enabled, done by the driver, or emulated by the host.</summary>
internal enum SyncFdMode { Off, Native, Emulated }

internal sealed unsafe partial class Handlers
{
    const int ObjDevice = 3, ObjQueue = 4;
    const int VenusStructBase = 1000384000; // VK_MESA_venus_protocol sTypes never reach the driver

    readonly Dictionary<ulong, DeviceState> _devices = new();
    readonly object _devLock = new();

    DeviceState? DeviceOf(ulong deviceHandle)
    {
        lock (_devLock)
            foreach (var d in _devices.Values) if (d.Handle == deviceHandle) return d;
        return null;
    }

    /// <summary>
    /// The queues a device is created with (VUID-VkDeviceCreateInfo-queueCreateInfoCount-arraylength,
    /// -queueFamilyIndex-02802, VkDeviceQueueCreateInfo-queueFamilyIndex-00381, -queueCount-00382,
    /// -pQueuePriorities-00383): at least one, each of a family the physical device has and named once,
    /// no more queues than the family holds, priorities between 0 and 1. lavapipe created a device with
    /// no queue create info and faulted (found by the lavapipe fuzz target). Null when valid.
    /// </summary>
    static string? QueueCreateError(VkInstanceFunctions* fns, ulong physicalDevice, VkDeviceCreateInfo* ci)
    {
        if (ci->queueCreateInfoCount == 0 || ci->pQueueCreateInfos == null) return "a device needs at least one queue create info";
        if (fns == null || fns->vkGetPhysicalDeviceQueueFamilyProperties == null) return "no instance function";
        uint familyCount = 0;
        fns->vkGetPhysicalDeviceQueueFamilyProperties(physicalDevice, &familyCount, null);
        if (familyCount > 64) familyCount = 64;
        var families = stackalloc VkQueueFamilyProperties[(int)familyCount];
        fns->vkGetPhysicalDeviceQueueFamilyProperties(physicalDevice, &familyCount, families);
        // A driver that reports no queue families (the fuzz targets' stub driver) gets the rules that need none.
        bool known = familyCount != 0;
        if (known && ci->queueCreateInfoCount > familyCount) return $"{ci->queueCreateInfoCount} queue create infos for {familyCount} queue families";
        for (uint i = 0; i < ci->queueCreateInfoCount; i++)
        {
            var q = &ci->pQueueCreateInfos[i];
            if (known && q->queueFamilyIndex >= familyCount) return $"queue family {q->queueFamilyIndex} (the device has {familyCount})";
            for (uint o = 0; o < i; o++)
                if (ci->pQueueCreateInfos[o].queueFamilyIndex == q->queueFamilyIndex) return $"queue family {q->queueFamilyIndex} is named twice";
            uint most = known ? families[q->queueFamilyIndex].queueCount : uint.MaxValue;
            if (q->queueCount == 0 || q->queueCount > most) return $"{q->queueCount} queues of family {q->queueFamilyIndex} (it has {most})";
            if (q->pQueuePriorities == null) return $"queue family {q->queueFamilyIndex} without priorities";
            for (uint p = 0; p < q->queueCount; p++)
                if (!(q->pQueuePriorities[p] >= 0f && q->pQueuePriorities[p] <= 1f)) return $"queue priority {q->pQueuePriorities[p]} is not between 0 and 1";
        }
        return null;
    }

    public bool vkCreateDevice(Dispatcher x, vkCreateDevice.Args* a)
    {
        var fns = x.InstanceFunctions;
        var ci = *a->pCreateInfo;
        if (QueueCreateError(fns, a->physicalDevice, &ci) is { } queues) return Fatal($"vkCreateDevice: {queues}");
        if (ci.enabledLayerCount != 0) { a->ret = VkResult.VK_ERROR_LAYER_NOT_PRESENT; return true; }
        var driver = DriverExtensions(fns, a->physicalDevice);
        var offered = OfferedExtensions(driver).Select(e => e.Name).ToHashSet();
        var names = new List<string>();
        for (uint i = 0; i < ci.enabledExtensionCount; i++)
        {
            string n = new string((sbyte*)ci.ppEnabledExtensionNames[i]);
            if (!offered.Contains(n)) { a->ret = VkResult.VK_ERROR_EXTENSION_NOT_PRESENT; return true; }
            names.Add(n);
        }
        // A driver without SYNC_FD semaphore imports gets them from the host (Families/Sync.cs).
        var syncFd = SyncFdMode.Off;
        if (names.Contains(SemaphoreFdExtension))
        {
            syncFd = DriverImportsSyncFd(fns, a->physicalDevice) ? SyncFdMode.Native : SyncFdMode.Emulated;
            if (!driver.Any(e => e.Name == SemaphoreFdExtension)) names.Remove(SemaphoreFdExtension);
        }
        bool emulateModifiers = names.Contains(DrmModifiers.Extension) && DrmModifiers.Needed(driver);
        if (emulateModifiers) names.Remove(DrmModifiers.Extension);
        // Host-visible memory reaches the guest as a memfd the driver imports (VK_EXT_external_memory_host).
        bool hostImport = driver.Any(e => e.Name == "VK_EXT_external_memory_host");
        if (hostImport && !names.Contains("VK_EXT_external_memory_host")) names.Add("VK_EXT_external_memory_host");
        var ptrs = new nint[names.Count];
        for (int i = 0; i < names.Count; i++) ptrs[i] = Marshal.StringToCoTaskMemUTF8(names[i]);
        try
        {
            fixed (nint* pp = ptrs)
            {
                ci.enabledExtensionCount = (uint)names.Count;
                ci.ppEnabledExtensionNames = (byte**)pp;
                ci.ppEnabledLayerNames = null;
                ulong device = 0;
                a->ret = fns->vkCreateDevice(a->physicalDevice, &ci, null, &device);
                if (a->ret != VkResult.VK_SUCCESS) return true;
                var table = VulkanLibrary.LoadDevice(fns, device);
                if (emulateModifiers) DrmModifiers.WrapDevice(device, table);
                int index = _ctx.AddDeviceTable(table, x.FirstTable);
                if (!x.Register(*a->pDevice, device, ObjDevice, index, x.FirstId))
                {
                    table->vkDestroyDevice(device, null);
                    DrmModifiers.ForgetDevice(device);
                    return false;
                }
                var state = new DeviceState { Id = *a->pDevice, Handle = device, PhysicalDevice = a->physicalDevice, Table = index, Fns = table, HostPointerImport = hostImport, SyncFd = syncFd,
                    MemoryFd = names.Contains("VK_KHR_external_memory_fd"), DmaBuf = names.Contains("VK_EXT_external_memory_dma_buf") };
                // The memory types as the guest sees them (Families/MemoryTypes.cs): a type offered without
                // HOST_VISIBLE is allocated as the driver's own memory.
                if (hostImport) LearnImportableTypes(fns, a->physicalDevice, device);
                VkPhysicalDeviceMemoryProperties mem;
                fns->vkGetPhysicalDeviceMemoryProperties(a->physicalDevice, &mem);
                OfferMappableTypes(fns, a->physicalDevice, &mem);
                state.Memory = mem;
                if (hostImport)
                {
                    var hp = new VkPhysicalDeviceExternalMemoryHostPropertiesEXT { sType = VkPhysicalDeviceExternalMemoryHostPropertiesEXT.SType };
                    var p2 = new VkPhysicalDeviceProperties2 { sType = VkPhysicalDeviceProperties2.SType, pNext = &hp };
                    fns->vkGetPhysicalDeviceProperties2(a->physicalDevice, &p2);
                    state.HostPointerAlignment = Math.Max(4096UL, hp.minImportedHostPointerAlignment);
                }
                lock (_devLock) _devices[state.Id] = state;
            }
        }
        finally
        {
            foreach (var p in ptrs) Marshal.FreeCoTaskMem(p);
        }
        return true;
    }

    public bool vkDestroyDevice(Dispatcher x, vkDestroyDevice.Args* a)
    {
        if (a->device == 0) return true;
        DeviceState? state;
        lock (_devLock) state = _devices.Values.FirstOrDefault(d => d.Handle == a->device);
        if (state == null) return Fatal("vkDestroyDevice: unknown device");
        DestroyDevice(state);
        return true;
    }

    /// <summary>
    /// Idles the device, frees the memory the host exported, destroys it and forgets its objects.
    /// Queue work that waits on a semaphore value nobody will signal never finishes (a guest may
    /// submit that: the lavapipe fuzz target's hangs), and vkDeviceWaitIdle would then hold this
    /// thread for ever: the host's fences on every submit bound the wait first
    /// (<see cref="SubmitRetire.WaitLimitNs"/>). A device still busy past that is left to its driver,
    /// not destroyed (destroying a device with pending work is what drivers crash on), the context
    /// ends with a line saying so, and its thread goes on.
    /// </summary>
    void DestroyDevice(DeviceState state)
    {
        // No timeline submits to its queues from here on: the render-server or vtest thread looks them up under the queue lock.
        lock (_ctx.Retire.QueueLock) _ctx.UnbindTimelines(state.Handle);
        if (!_ctx.Retire.BeforeDestroy(state.Handle, "vkDestroyDevice"))
        {
            _deviceLeftBusy = true;
            _ctx.Options.Log($"venus-host: context {_ctx.Label}: device 0x{state.Id:x} still has queue work after {SubmitRetire.WaitLimitNs / 1_000_000_000} s (a wait nobody signals?); left to the driver undestroyed");
            ForgetBuffers(state.Handle);
            ForgetDescriptors(state.Handle);
            ForgetQueryPools(state.Handle);
            ForgetImages(state.Handle);
            ForgetShaderModules(state.Handle);
            ForgetBoundState(state.Handle, state.Id);
            _ctx.Objects.RemoveDescendants(state.Id);
            _ctx.Objects.Remove(state.Id, out _);
            ForgetDeadSemaphores();
            lock (_devLock) _devices.Remove(state.Id);
            return;
        }
        lock (_ctx.Retire.QueueLock) state.Fns->vkDeviceWaitIdle(state.Handle);
        bool drained = _ctx.Timelines.DrainDevice(state.Handle, TimeSpan.FromSeconds(10));
        if (!drained)
            _ctx.Options.Log($"venus-host: context {_ctx.Label}: timeline fences of a destroyed device were still being waited for after 10 s; the driver's device is left alive");
        _ctx.Retire.ForgetDevice(state.Handle);
        FreeDeviceMemories(state);
        ForgetBuffers(state.Handle);
        ForgetDescriptors(state.Handle);
        ForgetQueryPools(state.Handle);
        ForgetImages(state.Handle);
        ForgetShaderModules(state.Handle);
        ForgetBoundState(state.Handle, state.Id);
        if (drained) state.Fns->vkDestroyDevice(state.Handle, null);
        DrmModifiers.ForgetDevice(state.Handle);
        _ctx.Objects.RemoveDescendants(state.Id);
        _ctx.Objects.Remove(state.Id, out _);
        ForgetDeadSemaphores();
        lock (_devLock) _devices.Remove(state.Id);
    }

    /// <summary>A device was left busy (see <see cref="DestroyDevice"/>): its instance must stay too.</summary>
    bool _deviceLeftBusy;

    void DestroyAllDevices()
    {
        List<DeviceState> all;
        lock (_devLock) all = _devices.Values.ToList();
        foreach (var d in all) DestroyDevice(d);
    }

    /// <summary>Removes the Venus-only structs from a chain before it reaches the driver.</summary>
    static void* StripVenusStructs(void* chain, out uint ringIdx, out bool hasRing)
    {
        ringIdx = 0;
        hasRing = false;
        void* head = chain;
        VnChainHeader* prev = null;
        for (var p = (VnChainHeader*)chain; p != null; p = (VnChainHeader*)p->pNext)
        {
            if (p->sType >= VenusStructBase && p->sType < VenusStructBase + 1000)
            {
                if (p->sType == (int)VkDeviceQueueTimelineInfoMESA.SType) { ringIdx = ((VkDeviceQueueTimelineInfoMESA*)p)->ringIdx; hasRing = true; }
                if (prev == null) head = p->pNext; else prev->pNext = p->pNext;
                continue;
            }
            prev = p;
        }
        return head;
    }

    bool BindQueue(Dispatcher x, ulong id, ulong queue, ulong deviceHandle, bool hasRing, uint ringIdx)
    {
        if (queue == 0) return Fatal("vkGetDeviceQueue: the driver has no such queue");
        if (_ctx.Objects.TryGet(id, out var known))
        {
            if (known.Type != ObjQueue || known.Handle != queue) return Fatal($"vkGetDeviceQueue: id 0x{id:x} is in use");
        }
        else if (!x.Register(id, queue, ObjQueue, x.FirstTable, x.FirstId)) return false;
        var dev = DeviceOf(deviceHandle);
        if (dev != null && dev.Queue == 0) dev.Queue = queue;
        if (hasRing)
        {
            if (ringIdx == 0 || ringIdx >= 64) return Fatal($"vkGetDeviceQueue2: ring index {ringIdx} is outside 1..63");
            if (!_ctx.BindTimeline(ringIdx, queue, deviceHandle, x.DeviceFunctions)) return Fatal($"vkGetDeviceQueue2: ring index {ringIdx} is already bound");
        }
        return true;
    }

    public bool vkGetDeviceQueue(Dispatcher x, vkGetDeviceQueue.Args* a)
    {
        ulong queue = 0;
        x.DeviceFunctions->vkGetDeviceQueue(a->device, a->queueFamilyIndex, a->queueIndex, &queue);
        return BindQueue(x, *a->pQueue, queue, a->device, false, 0);
    }

    public bool vkGetDeviceQueue2(Dispatcher x, vkGetDeviceQueue2.Args* a)
    {
        var info = *a->pQueueInfo;
        info.pNext = StripVenusStructs(info.pNext, out uint ringIdx, out bool hasRing);
        ulong queue = 0;
        x.DeviceFunctions->vkGetDeviceQueue2(a->device, &info, &queue);
        return BindQueue(x, *a->pQueue, queue, a->device, hasRing, ringIdx);
    }
}
