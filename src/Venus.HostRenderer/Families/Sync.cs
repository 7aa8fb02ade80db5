using Venus.Native;
using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer;

/// <summary>
/// Semaphores and the sync_fd commands of VK_MESA_venus_protocol (wsi.md "Who does what").
/// A guest driver that presents imports "an already signalled sync_fd" into a host semaphore
/// (<c>vkImportSemaphoreResourceMESA</c>, resource 0) before a submit waits on it, and after
/// exporting a sync_fd of its own asks the host to consume the semaphore's payload
/// (<c>vkWaitSemaphoreResourceMESA</c>). Where the driver imports and exports SYNC_FD itself,
/// both go to it (<c>vkImportSemaphoreFdKHR</c> with fd -1, <c>vkGetSemaphoreFdKHR</c>). Where it
/// does not (lavapipe has no external semaphores at all), the host offers binary SYNC_FD imports
/// anyway and does the same on the device's queue: an empty submit that signals the semaphore,
/// or one that waits on it. File descriptors themselves never cross the wire.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const int ObjSemaphore = 5;
    const uint SyncFdBit = 0x10;                       // VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT
    const uint SemaphoreImportable = 0x2;              // VK_EXTERNAL_SEMAPHORE_FEATURE_IMPORTABLE_BIT
    const uint SemaphoreImportTemporary = 0x1;         // VK_SEMAPHORE_IMPORT_TEMPORARY_BIT
    const uint AllCommandsStage = 0x10000;             // VK_PIPELINE_STAGE_ALL_COMMANDS_BIT
    const string SemaphoreFdExtension = "VK_KHR_external_semaphore_fd";

    /// <summary>How long an emulated payload wait may take before the semaphore is judged to have had no signal pending.</summary>
    static readonly TimeSpan EmulatedWaitLimit = TimeSpan.FromSeconds(10);

    /// <summary>Guest ids of timeline semaphores: a sync_fd payload is binary, so importing into one is the guest's error.</summary>
    readonly HashSet<ulong> _timelineSemaphores = new();

    /// <summary>Whether the driver itself imports SYNC_FD payloads into binary semaphores.</summary>
    static bool DriverImportsSyncFd(VkInstanceFunctions* fns, ulong physicalDevice)
    {
        if (fns->vkGetPhysicalDeviceExternalSemaphoreProperties == null) return false;
        var info = new VkPhysicalDeviceExternalSemaphoreInfo
        {
            sType = VkPhysicalDeviceExternalSemaphoreInfo.SType,
            handleType = (VkExternalSemaphoreHandleTypeFlagBits)SyncFdBit,
        };
        var props = new VkExternalSemaphoreProperties { sType = VkExternalSemaphoreProperties.SType };
        fns->vkGetPhysicalDeviceExternalSemaphoreProperties(physicalDevice, &info, &props);
        return (props.externalSemaphoreFeatures & SemaphoreImportable) != 0;
    }

    /// <summary>The semaphore type a create-info or external-semaphore-info chain asks for.</summary>
    static bool ChainAsksTimeline(void* chain)
    {
        for (var p = (VnChainHeader*)chain; p != null; p = (VnChainHeader*)p->pNext)
            if (p->sType == (int)VkSemaphoreTypeCreateInfo.SType)
                return ((VkSemaphoreTypeCreateInfo*)p)->semaphoreType == VkSemaphoreType.VK_SEMAPHORE_TYPE_TIMELINE;
        return false;
    }

    public bool vkGetPhysicalDeviceExternalSemaphoreProperties(Dispatcher x, vkGetPhysicalDeviceExternalSemaphoreProperties.Args* a)
    {
        var fn = x.InstanceFunctions->vkGetPhysicalDeviceExternalSemaphoreProperties;
        if (fn == null) return x.MissingFunction((int)Venus.Protocol.Commands.vkGetPhysicalDeviceExternalSemaphoreProperties.Type);
        var props = a->pExternalSemaphoreProperties;
        void* next = props->pNext;
        fn(a->physicalDevice, a->pExternalSemaphoreInfo, props);
        if ((uint)a->pExternalSemaphoreInfo->handleType == SyncFdBit && props->externalSemaphoreFeatures == 0
            && !ChainAsksTimeline(a->pExternalSemaphoreInfo->pNext))
        {
            // Emulated on the device's queue (see the class comment): importable, not exportable.
            *props = new VkExternalSemaphoreProperties
            {
                sType = VkExternalSemaphoreProperties.SType,
                pNext = next,
                compatibleHandleTypes = SyncFdBit,
                externalSemaphoreFeatures = SemaphoreImportable,
            };
        }
        return true;
    }

    public bool vkCreateSemaphore(Dispatcher x, vkCreateSemaphore.Args* a)
    {
        var dev = DeviceOf(a->device);
        if (dev == null) return Fatal("vkCreateSemaphore: unknown device");
        var ci = *a->pCreateInfo;
        bool timeline = ChainAsksTimeline(ci.pNext);
        if (dev.SyncFd == SyncFdMode.Emulated) ci.pNext = StripExportSemaphoreInfo(ci.pNext);
        ulong semaphore = 0;
        a->ret = dev.Fns->vkCreateSemaphore(a->device, &ci, null, &semaphore);
        if (a->ret < 0 || semaphore == 0)
        {
            *a->pSemaphore = 0;
            return true;
        }
        if (!x.Register(*a->pSemaphore, semaphore, ObjSemaphore))
        {
            dev.Fns->vkDestroySemaphore(a->device, semaphore, null);
            return false;
        }
        if (timeline) lock (_timelineSemaphores) _timelineSemaphores.Add(*a->pSemaphore);
        return true;
    }

    public bool vkDestroySemaphore(Dispatcher x, vkDestroySemaphore.Args* a)
    {
        if (a->semaphore == 0) return true;
        ulong id = _ctx.Objects.IdOf(a->semaphore, ObjSemaphore);
        if (!_ctx.Retire.BeforeDestroy(a->device, "vkDestroySemaphore")) return false;
        x.DeviceFunctions->vkDestroySemaphore(a->device, a->semaphore, null);
        x.Unregister(a->semaphore, ObjSemaphore);
        lock (_timelineSemaphores) _timelineSemaphores.Remove(id);
        return true;
    }

    /// <summary>
    /// An emulating device's driver has no external semaphores at all: no export info may reach it. The
    /// SYNC_FD bit is emulated; any other bit is one the guest was told is not exportable (ffmpeg 7.1
    /// asks for OPAQUE_FD whenever VK_KHR_external_semaphore_fd is enabled, without asking first):
    /// the semaphore is created without it, and exporting it as that type is refused later.
    /// </summary>
    static void* StripExportSemaphoreInfo(void* chain)
    {
        void* head = chain;
        VnChainHeader* prev = null;
        for (var p = (VnChainHeader*)chain; p != null; p = (VnChainHeader*)p->pNext)
        {
            if (p->sType == (int)VkExportSemaphoreCreateInfo.SType)
            {
                if (prev == null) head = p->pNext; else prev->pNext = p->pNext;
                continue;
            }
            prev = p;
        }
        return head;
    }

    /// <summary>
    /// Checks a sync_fd command's device and semaphore: the guest enabled VK_KHR_external_semaphore_fd,
    /// the semaphore is a binary one of this device, and an emulating device has a queue.
    /// </summary>
    bool CheckSyncFdSemaphore(string command, ulong deviceHandle, ulong semaphore, out DeviceState dev)
    {
        dev = DeviceOf(deviceHandle)!;
        if (dev == null) return Fatal($"{command}: unknown device");
        if (dev.SyncFd == SyncFdMode.Off) return Fatal($"{command}: the device was created without {SemaphoreFdExtension}");
        if (semaphore == 0) return Fatal($"{command}: no semaphore");
        ulong id = _ctx.Objects.IdOf(semaphore, ObjSemaphore);
        if (id == 0 || !_ctx.Objects.TryGet(id, ObjSemaphore, out var o) || o.Parent != dev.Id)
            return Fatal($"{command}: semaphore 0x{id:x} does not belong to device 0x{dev.Id:x}");
        bool timeline;
        lock (_timelineSemaphores) timeline = _timelineSemaphores.Contains(id);
        if (timeline) return Fatal($"{command}: semaphore 0x{id:x} is a timeline semaphore; sync_fd payloads are binary");
        if (dev.SyncFd == SyncFdMode.Emulated && dev.Queue == 0) return Fatal($"{command}: device 0x{dev.Id:x} has no queue yet");
        return true;
    }

    public bool vkImportSemaphoreResourceMESA(Dispatcher x, vkImportSemaphoreResourceMESA.Args* a)
    {
        var info = a->pImportSemaphoreResourceInfo;
        // Resource 0 means "a signalled sync_fd" (fd -1); payloads carried by resources are not offered.
        if (info->resourceId != 0) return Fatal($"vkImportSemaphoreResourceMESA: resource {info->resourceId}: only resource 0 (a signalled payload) is offered");
        if (!CheckSyncFdSemaphore("vkImportSemaphoreResourceMESA", a->device, info->semaphore, out var dev)) return false;
        VkResult r;
        if (dev.SyncFd == SyncFdMode.Native)
        {
            var import = new VkImportSemaphoreFdInfoKHR
            {
                sType = VkImportSemaphoreFdInfoKHR.SType,
                semaphore = info->semaphore,
                flags = SemaphoreImportTemporary,
                handleType = (VkExternalSemaphoreHandleTypeFlagBits)SyncFdBit,
                fd = -1,
            };
            r = dev.Fns->vkImportSemaphoreFdKHR(a->device, &import);
        }
        else
        {
            ulong semaphore = info->semaphore;
            var submit = new VkSubmitInfo { sType = VkSubmitInfo.SType, signalSemaphoreCount = 1, pSignalSemaphores = &semaphore };
            lock (_ctx.Retire.QueueLock) r = dev.Fns->vkQueueSubmit(dev.Queue, 1, &submit, 0);
        }
        return r == VkResult.VK_SUCCESS || Fatal($"vkImportSemaphoreResourceMESA: the driver answered {r}");
    }

    public bool vkWaitSemaphoreResourceMESA(Dispatcher x, vkWaitSemaphoreResourceMESA.Args* a)
    {
        if (!CheckSyncFdSemaphore("vkWaitSemaphoreResourceMESA", a->device, a->semaphore, out var dev)) return false;
        if (dev.SyncFd == SyncFdMode.Native)
        {
            var get = new VkSemaphoreGetFdInfoKHR
            {
                sType = VkSemaphoreGetFdInfoKHR.SType,
                semaphore = a->semaphore,
                handleType = (VkExternalSemaphoreHandleTypeFlagBits)SyncFdBit,
            };
            int fd = -1;
            var r = dev.Fns->vkGetSemaphoreFdKHR(a->device, &get, &fd);
            // The guest exports the payload as signalled (fd -1) once this command is done: wait for it.
            bool signalled = fd < 0 || Native.Posix.WaitSyncFile(fd, (int)EmulatedWaitLimit.TotalMilliseconds);
            if (fd >= 0) Libc.Close(fd);
            if (r == VkResult.VK_SUCCESS && !signalled) return Fatal($"vkWaitSemaphoreResourceMESA: the semaphore's sync_fd did not signal within {EmulatedWaitLimit.TotalSeconds:0} s");
            return r == VkResult.VK_SUCCESS || Fatal($"vkWaitSemaphoreResourceMESA: the driver answered {r}");
        }
        return WaitEmulated(dev, a->semaphore);
    }

    /// <summary>
    /// Consumes the payload with an empty submit that waits on the semaphore, and waits for it: the
    /// guest exported its sync_fd only after the signal was submitted, so it completes. A semaphore
    /// with no signal pending would block the queue for good; past the limit it gets one, so the
    /// queue (and the context's teardown) can go on, and the context ends.
    /// </summary>
    bool WaitEmulated(DeviceState dev, ulong semaphore)
    {
        var fci = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
        ulong fence = 0;
        var r = dev.Fns->vkCreateFence(dev.Handle, &fci, null, &fence);
        if (r != VkResult.VK_SUCCESS) return Fatal($"vkWaitSemaphoreResourceMESA: vkCreateFence answered {r}");
        try
        {
            uint stage = AllCommandsStage;
            var wait = new VkSubmitInfo { sType = VkSubmitInfo.SType, waitSemaphoreCount = 1, pWaitSemaphores = &semaphore, pWaitDstStageMask = &stage };
            lock (_ctx.Retire.QueueLock) r = dev.Fns->vkQueueSubmit(dev.Queue, 1, &wait, fence);
            if (r != VkResult.VK_SUCCESS) return Fatal($"vkWaitSemaphoreResourceMESA: vkQueueSubmit answered {r}");
            r = dev.Fns->vkWaitForFences(dev.Handle, 1, &fence, 1, (ulong)EmulatedWaitLimit.Ticks * 100);
            if (r == VkResult.VK_SUCCESS) return true;
            var signal = new VkSubmitInfo { sType = VkSubmitInfo.SType, signalSemaphoreCount = 1, pSignalSemaphores = &semaphore };
            lock (_ctx.Retire.QueueLock) dev.Fns->vkQueueSubmit(dev.Queue, 1, &signal, 0);
            dev.Fns->vkWaitForFences(dev.Handle, 1, &fence, 1, (ulong)EmulatedWaitLimit.Ticks * 100);
            return Fatal($"vkWaitSemaphoreResourceMESA: semaphore had no signal pending ({r} after {EmulatedWaitLimit.TotalSeconds:0} s)");
        }
        finally
        {
            dev.Fns->vkDestroyFence(dev.Handle, fence, null);
        }
    }

    /// <summary>Forgets the timeline semaphores of objects that are gone (a destroyed device takes its semaphores with it).</summary>
    void ForgetDeadSemaphores()
    {
        lock (_timelineSemaphores) _timelineSemaphores.RemoveWhere(id => !_ctx.Objects.TryGet(id, ObjSemaphore, out _));
    }

    // File descriptors are numbers in the host process: one from the guest would name whatever the
    // host has open there, and one to the guest would leak. Guest drivers implement these commands
    // with the resource commands above and blobs; over the wire they end the context.
    bool FdCommand(string command) => Fatal($"{command}: file descriptors do not cross the wire");

    public bool vkGetMemoryFdKHR(Dispatcher x, vkGetMemoryFdKHR.Args* a) => FdCommand("vkGetMemoryFdKHR");
    public bool vkGetMemoryFdPropertiesKHR(Dispatcher x, vkGetMemoryFdPropertiesKHR.Args* a) => FdCommand("vkGetMemoryFdPropertiesKHR");
    public bool vkImportFenceFdKHR(Dispatcher x, vkImportFenceFdKHR.Args* a) => FdCommand("vkImportFenceFdKHR");
    public bool vkGetFenceFdKHR(Dispatcher x, vkGetFenceFdKHR.Args* a) => FdCommand("vkGetFenceFdKHR");
    public bool vkImportSemaphoreFdKHR(Dispatcher x, vkImportSemaphoreFdKHR.Args* a) => FdCommand("vkImportSemaphoreFdKHR");
    public bool vkGetSemaphoreFdKHR(Dispatcher x, vkGetSemaphoreFdKHR.Args* a) => FdCommand("vkGetSemaphoreFdKHR");
}
