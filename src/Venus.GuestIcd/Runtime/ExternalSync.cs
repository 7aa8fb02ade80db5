using System.Collections.Concurrent;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// SYNC_FD payloads of fences (VK_KHR_external_fence_fd, done by this driver alone) and semaphores
/// (VK_KHR_external_semaphore_fd, with the host's resource commands). A sync_fd never crosses the
/// wire.
/// <list type="bullet">
/// <item>Fence import: the fd (or -1, signalled) becomes the fence's temporary payload, kept here:
/// status and waits poll it, until reset, export or destroy restores the permanent payload;
/// nothing goes to the host.</item>
/// <item>Fence export: a temporary payload hands its fd over; otherwise this waits for the fence,
/// resets it (a copy-transference export has a reset's side effects) and returns -1, which the
/// spec allows for a signalled payload.</item>
/// <item>Semaphore import: an fd is waited for here (poll), then <c>vkImportSemaphoreResourceMESA</c>
/// with resource 0, the host's "signalled sync_fd" payload, which the next wait consumes.</item>
/// <item>Semaphore export: <c>vkWaitSemaphoreResourceMESA</c> (the host consumes the pending
/// signal, waiting for it), then the guest waits until the host has done it; -1.</item>
/// </list>
/// </summary>
internal static unsafe class ExternalSync
{
    /// <summary>
    /// Why OPAQUE_FD fences and semaphores are never offered (VENUS_DEBUG=init and README say it): an
    /// opaque fd names one payload that two devices share, and only the host's driver can make two
    /// VkFences or VkSemaphores share one. The protocol has no way to ask it to: vkImportFenceFdKHR and
    /// vkImportSemaphoreFdKHR would carry an fd number of the guest, meaningless on the host (venus-host
    /// ends a context that sends one), no message carries a sync object's fd between guest and host,
    /// and the resource commands (vkImportSemaphoreResourceMESA, vkResetFenceResourceMESA) know only
    /// resource 0, an already-signalled sync_fd. A guest-side copy of the payload at each submit would
    /// break the spec's sharing (a wait on one device for a signal submitted on the other).
    /// </summary>
    public const string NoOpaqueFd = "an opaque fd shares one payload between devices, which only the host's driver can do, and the Venus protocol carries no fence or semaphore fd between guest and host (vkImportFenceFdKHR/vkImportSemaphoreFdKHR would send a guest fd number; the resource commands know only resource 0, a signalled sync_fd); SYNC_FD is offered";

    public const uint FenceSyncFd = 0x8;        // VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT
    public const uint SemaphoreSyncFd = 0x10;   // VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT
    private const uint FenceImportTemporary = 0x1, SemaphoreImportTemporary = 0x1;
    private const int STypeExportFence = 1000113000, STypeSemaphoreType = 1000207002;

    /// <summary>Fences holding an imported payload (its sync_fd, -1 once signalled), by (device, fence); the count keeps the usual paths free of lookups.</summary>
    private static readonly ConcurrentDictionary<(ulong Device, ulong Fence), int> s_imported = new();
    private static int s_importedCount;

    public static bool AnyImported => Volatile.Read(ref s_importedCount) != 0;

    /// <summary>The status of a fence with an imported payload (VK_SUCCESS once its sync_fd signalled, else VK_NOT_READY); null for other fences.</summary>
    public static VkResult? ImportedStatus(Device dev, ulong fence)
    {
        if (!AnyImported || !s_imported.TryGetValue((dev.Handle, fence), out int fd))
            return null;
        return fd < 0 || Posix.SyncFileSignalled(fd) != false ? VkResult.VK_SUCCESS : VkResult.VK_NOT_READY;
    }

    /// <summary>Restores the permanent payload (reset, export, destroy), closing the imported fd; true when there was a temporary one.</summary>
    public static bool Restore(Device dev, ulong fence) => Take(dev, fence, out int fd) && Close(fd);

    private static bool Take(Device dev, ulong fence, out int fd)
    {
        fd = -1;
        if (!AnyImported || !s_imported.TryRemove((dev.Handle, fence), out fd))
            return false;
        Interlocked.Decrement(ref s_importedCount);
        return true;
    }

    private static bool Close(int fd)
    {
        if (fd >= 0)
            Posix.Close(fd);
        return true;
    }

    /// <summary>The fence create chain without the export struct (it is this driver's business, not the host driver's).</summary>
    public static void* WithoutFenceExport(void* chain)
    {
        var s = (VkBaseInStructure*)chain;
        while (s != null && (int)s->sType == STypeExportFence)
            s = s->pNext;
        return s;
    }

    public static VkResult ImportFence(Device dev, VkImportFenceFdInfoKHR* info)
    {
        if ((uint)info->handleType != FenceSyncFd)
            return Refuse("vkImportFenceFdKHR", $"handle type 0x{(uint)info->handleType:x}: only SYNC_FD is offered");
        if ((info->flags & FenceImportTemporary) == 0)
            return Refuse("vkImportFenceFdKHR", "a SYNC_FD import must be VK_FENCE_IMPORT_TEMPORARY_BIT");
        if (info->fd >= 0 && Posix.SyncFileSignalled(info->fd) is null)
            return Refuse("vkImportFenceFdKHR", $"fd {info->fd} is not a sync file (poll fails on it)");
        // The fd is the driver's now: kept as the payload, polled by status and waits.
        Restore(dev, info->fence);
        if (s_imported.TryAdd((dev.Handle, info->fence), info->fd))
            Interlocked.Increment(ref s_importedCount);
        else
            Close(info->fd);
        return VkResult.VK_SUCCESS;
    }

    public static VkResult ExportFence(Device dev, VkFenceGetFdInfoKHR* info, int* pFd)
    {
        if ((uint)info->handleType != FenceSyncFd)
            return Refuse("vkGetFenceFdKHR", $"handle type 0x{(uint)info->handleType:x}: only SYNC_FD is offered");
        ulong fence = info->fence;
        if (Take(dev, fence, out int imported))
        {
            // A temporary payload is exported as it is (its fd moves to the app) and the permanent one comes back.
            *pFd = imported;
            return VkResult.VK_SUCCESS;
        }
        VkResult r = Sync.WaitFences(dev, 1, &fence, 1, ulong.MaxValue);
        if (r != VkResult.VK_SUCCESS)
            return r;
        Fences.Reset(dev, 1, &fence);
        *pFd = -1;
        return VkResult.VK_SUCCESS;
    }

    /// <summary>
    /// vkWaitForFences with imported payloads among the fences: polls each fence in turn (an imported
    /// one by its sync_fd, the others by a zero-timeout wait) until the condition holds or time is up.
    /// </summary>
    public static VkResult WaitFences(Device dev, uint count, ulong* fences, uint waitAll, ulong timeout)
    {
        long deadline = timeout >= long.MaxValue / 2 ? long.MaxValue
            : System.Diagnostics.Stopwatch.GetTimestamp() + (long)((double)timeout * System.Diagnostics.Stopwatch.Frequency / 1e9);
        var relax = new GuestRing.Relax(dev.Ring);
        while (true)
        {
            uint done = 0;
            for (uint i = 0; i < count; i++)
            {
                ulong f = fences[i];
                VkResult r = ImportedStatus(dev, f) ?? Sync.WaitFencesDirect(dev, 1, &f, 1, 0);
                if (r == VkResult.VK_SUCCESS)
                    done++;
                else if (r != VkResult.VK_TIMEOUT && r != VkResult.VK_NOT_READY)
                    return r;
            }
            if (waitAll != 0 ? done == count : done != 0)
                return VkResult.VK_SUCCESS;
            if (timeout == 0 || System.Diagnostics.Stopwatch.GetTimestamp() >= deadline)
                return VkResult.VK_TIMEOUT;
            relax.Step();
        }
    }

    public static bool SemaphoreSupported(PhysicalDevice pd) => pd.IsHostExtension("VK_KHR_external_semaphore_fd");

    /// <summary>A binary semaphore asked for in a properties query (no VkSemaphoreTypeCreateInfo with TIMELINE).</summary>
    public static bool IsBinary(void* chain)
    {
        for (var s = (VkBaseInStructure*)chain; s != null; s = s->pNext)
            if ((int)s->sType == STypeSemaphoreType && ((VkSemaphoreTypeCreateInfo*)s)->semaphoreType != VkSemaphoreType.VK_SEMAPHORE_TYPE_BINARY)
                return false;
        return true;
    }

    public static VkResult ImportSemaphore(Device dev, VkImportSemaphoreFdInfoKHR* info)
    {
        if ((uint)info->handleType != SemaphoreSyncFd)
            return Refuse("vkImportSemaphoreFdKHR", $"handle type 0x{(uint)info->handleType:x}: only SYNC_FD is offered");
        if ((info->flags & SemaphoreImportTemporary) == 0)
            return Refuse("vkImportSemaphoreFdKHR", "a SYNC_FD import must be VK_SEMAPHORE_IMPORT_TEMPORARY_BIT");
        if (info->fd >= 0)
        {
            if (!Posix.WaitSyncFile(info->fd, out string why))
                return Refuse("vkImportSemaphoreFdKHR", why);
            Posix.Close(info->fd);
        }
        var res = new VkImportSemaphoreResourceInfoMESA
        {
            sType = VkImportSemaphoreResourceInfoMESA.SType,
            semaphore = info->semaphore,
            resourceId = 0,
        };
        Generated.Sends.vkImportSemaphoreResourceMESA(dev.Ring, dev.Handle, &res);
        return VkResult.VK_SUCCESS;
    }

    public static VkResult ExportSemaphore(Device dev, VkSemaphoreGetFdInfoKHR* info, int* pFd)
    {
        if ((uint)info->handleType != SemaphoreSyncFd)
            return Refuse("vkGetSemaphoreFdKHR", $"handle type 0x{(uint)info->handleType:x}: only SYNC_FD is offered");
        uint seqno = Generated.Sends.vkWaitSemaphoreResourceMESA(dev.Ring, dev.Handle, info->semaphore);
        dev.Ring.WaitSeqno(seqno);
        *pFd = -1;
        return VkResult.VK_SUCCESS;
    }

    private static VkResult Refuse(string command, string why)
    {
        IcdLog.Error($"{command}: {why}");
        return VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
    }
}
