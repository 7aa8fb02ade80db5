using System.Collections.Concurrent;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// SYNC_FD payloads of fences (VK_KHR_external_fence_fd, done by this driver alone) and semaphores
/// (VK_KHR_external_semaphore_fd, with the host's resource commands). A sync_fd never crosses the
/// wire; as Mesa's venus does, an imported sync_fd is waited for here (poll) when it is imported,
/// and the fence or semaphore then holds a temporary, already signalled payload; an export waits
/// for the payload's signal and returns -1, which the spec allows for a signalled payload.
/// <list type="bullet">
/// <item>Fence import: the fence reads signalled (status, waits) until reset, export or destroy
/// restores its permanent payload; nothing goes to the host.</item>
/// <item>Fence export: waits for the fence, then resets it (a copy-transference export has a
/// reset's side effects), returns -1.</item>
/// <item>Semaphore import: <c>vkImportSemaphoreResourceMESA</c> with resource 0, the host's
/// "signalled sync_fd" payload, which the next wait consumes.</item>
/// <item>Semaphore export: <c>vkWaitSemaphoreResourceMESA</c> (the host consumes the pending
/// signal, waiting for it), then the guest waits until the host has done it; -1.</item>
/// </list>
/// </summary>
internal static unsafe class ExternalSync
{
    public const uint FenceSyncFd = 0x8;        // VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT
    public const uint SemaphoreSyncFd = 0x10;   // VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT
    private const uint FenceImportTemporary = 0x1, SemaphoreImportTemporary = 0x1;
    private const int STypeExportFence = 1000113000, STypeSemaphoreType = 1000207002;

    /// <summary>Fences holding an imported (signalled) payload, by (device, fence); the count keeps the usual paths free of lookups.</summary>
    private static readonly ConcurrentDictionary<(ulong Device, ulong Fence), byte> s_imported = new();
    private static int s_importedCount;

    public static bool AnyImported => Volatile.Read(ref s_importedCount) != 0;

    public static bool IsImported(Device dev, ulong fence) => AnyImported && s_imported.ContainsKey((dev.Handle, fence));

    /// <summary>Restores the permanent payload (reset, export, destroy); true when there was a temporary one.</summary>
    public static bool Restore(Device dev, ulong fence)
    {
        if (!AnyImported || !s_imported.TryRemove((dev.Handle, fence), out _))
            return false;
        Interlocked.Decrement(ref s_importedCount);
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
        if (info->fd >= 0)
        {
            if (!Posix.WaitSyncFile(info->fd, out string why))
                return Refuse("vkImportFenceFdKHR", why);
            Posix.Close(info->fd);
        }
        if (s_imported.TryAdd((dev.Handle, info->fence), 0))
            Interlocked.Increment(ref s_importedCount);
        return VkResult.VK_SUCCESS;
    }

    public static VkResult ExportFence(Device dev, VkFenceGetFdInfoKHR* info, int* pFd)
    {
        if ((uint)info->handleType != FenceSyncFd)
            return Refuse("vkGetFenceFdKHR", $"handle type 0x{(uint)info->handleType:x}: only SYNC_FD is offered");
        ulong fence = info->fence;
        if (!Restore(dev, fence))
        {
            VkResult r = Sync.WaitFences(dev, 1, &fence, 1, ulong.MaxValue);
            if (r != VkResult.VK_SUCCESS)
                return r;
            Fences.Reset(dev, 1, &fence);
        }
        *pFd = -1;
        return VkResult.VK_SUCCESS;
    }

    /// <summary>vkWaitForFences with imported payloads among the fences (signalled): waits for the others only, or for none.</summary>
    public static VkResult WaitFences(Device dev, uint count, ulong* fences, uint waitAll, ulong timeout)
    {
        ulong* rest = stackalloc ulong[(int)Math.Min(count, 256u)];
        uint n = 0;
        bool any = false;
        for (uint i = 0; i < count; i++)
        {
            if (s_imported.ContainsKey((dev.Handle, fences[i])))
                any = true;
            else if (n < 256)
                rest[n++] = fences[i];
            else
                return Fallback(dev, count, fences, waitAll, timeout);
        }
        if ((any && waitAll == 0) || n == 0)
            return VkResult.VK_SUCCESS;
        return Sync.WaitFencesDirect(dev, n, rest, waitAll, timeout);
    }

    // More than 256 fences with an import among them: poll each in turn.
    private static VkResult Fallback(Device dev, uint count, ulong* fences, uint waitAll, ulong timeout)
    {
        for (uint i = 0; i < count; i++)
        {
            if (s_imported.ContainsKey((dev.Handle, fences[i])))
                continue;
            ulong f = fences[i];
            VkResult r = Sync.WaitFencesDirect(dev, 1, &f, 1, timeout);
            if (r != VkResult.VK_SUCCESS)
                return r;
        }
        return VkResult.VK_SUCCESS;
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
