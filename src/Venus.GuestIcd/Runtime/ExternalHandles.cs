using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// What the fd commands of Families/External.cs and the external-handle property queries answer:
/// VK_KHR_external_memory_fd and VK_EXT_external_memory_dma_buf (through <see cref="ExternalMemory"/>),
/// VK_KHR_external_fence_fd and VK_KHR_external_semaphore_fd (through <see cref="ExternalSync"/>);
/// none of them sends an fd number to the host.
/// </summary>
internal static unsafe class ExternalHandles
{
    /// <summary>
    /// The host driver's external memory properties of <paramref name="type"/>, limited to the fd
    /// types this transport shares; and since this driver imports only what its host exported, a
    /// type the host cannot export (lavapipe's dma-buf without udmabuf) is not importable either.
    /// </summary>
    internal static VkExternalMemoryProperties Limit(VkExternalMemoryProperties p, uint type, uint supported)
    {
        p.compatibleHandleTypes &= supported;
        p.exportFromImportedHandleTypes &= supported;
        if ((p.compatibleHandleTypes & type) == 0 || (p.externalMemoryFeatures & 0x2) == 0) // EXPORTABLE
            p = default;
        return p;
    }


    // ---- memory ------------------------------------------------------------------------------------

    /// <summary>
    /// What vkAllocateMemory does for external memory: export types are checked and travel as they
    /// are (the host exports); an fd import becomes an import of the fd's resource. Null when the
    /// allocation is not external; <paramref name="refusal"/> is set when it cannot be done.
    /// </summary>
    public sealed class Allocation : IDisposable
    {
        private readonly List<nint> _owned = new();
        /// <summary>What keeps an imported fd's resource attached (virtio-gpu's PRIME handle) until the memory is freed.</summary>
        private IDisposable? _hold;
        public uint HandleTypes { get; private set; }
        /// <summary>The app's fd, which a successful import takes over (closed here).</summary>
        public int ImportedFd { get; private set; } = -1;

        public static Allocation? Prepare(Device dev, ref VkMemoryAllocateInfo info, out VkResult refusal)
        {
            refusal = VkResult.VK_SUCCESS;
            uint export = ExternalMemory.ExportTypes(info.pNext);
            VkImportMemoryFdInfoKHR* import = ExternalMemory.FindFdImport(info.pNext);
            if (export == 0 && import == null)
                return null;
            uint supported = ExternalMemory.SupportedTypes(dev.PhysicalDevice);
            uint asked = export | (import != null ? (uint)import->handleType : 0);
            if ((asked & ~supported) != 0)
            {
                IcdLog.Error($"vkAllocateMemory: handle types 0x{asked:x} asked, 0x{supported:x} offered on {dev.Instance.Transport.Name}");
                refusal = VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
                return null;
            }
            var a = new Allocation { HandleTypes = export };
            if (import != null)
            {
                uint? resource = ExternalMemory.ResourceOf(dev.Instance.Transport, import->fd, out a._hold, out string why);
                if (resource is null)
                {
                    IcdLog.Error($"vkAllocateMemory: cannot import: {why}");
                    refusal = VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
                    return null;
                }
                if (a._hold is not null)
                    dev.Ring.SyncVirtqueue(); // the PRIME import's attachment reaches the host before the ring's allocation
                info.pNext = ExternalMemory.WithResourceImport(info.pNext, resource.Value, a._owned);
                a.HandleTypes |= (uint)import->handleType;
                a.ImportedFd = import->fd;
            }
            return a;
        }

        /// <summary>After a successful allocation: the memory's blob will be shareable, and an imported fd is the driver's now.</summary>
        public void Succeeded(DeviceMemory memory)
        {
            memory.ExternalHandleTypes = HandleTypes;
            memory.ImportHold = _hold;
            _hold = null;
            if (ImportedFd >= 0)
                Posix.Close(ImportedFd);
        }

        public void Dispose()
        {
            foreach (nint p in _owned)
                NativeMemory.Free((void*)p);
            _owned.Clear();
            _hold?.Dispose();
            _hold = null;
        }
    }

    /// <summary>
    /// vkGetPhysicalDeviceExternalBufferProperties for the fd types: the host's driver's answer where
    /// this transport shares memory fds, limited to the fd types offered; none elsewhere.
    /// </summary>
    public static bool BufferProperties(PhysicalDevice pd, VkPhysicalDeviceExternalBufferInfo* info, VkExternalBufferProperties* props)
    {
        uint type = (uint)info->handleType;
        if ((type & ExternalMemory.FdTypes) == 0 || (type & (type - 1)) != 0)
            return false;
        uint supported = ExternalMemory.SupportedTypes(pd);
        if ((type & supported) == 0)
            return true;
        var host = new VkExternalBufferProperties { sType = VkExternalBufferProperties.SType };
        var query = *info;
        query.pNext = null;
        Calls.vkGetPhysicalDeviceExternalBufferProperties(pd.Ring, pd.Handle, &query, &host);
        props->externalMemoryProperties = Limit(host.externalMemoryProperties, type, supported);
        return true;
    }

    // ---- fences and semaphores ---------------------------------------------------------------------

    /// <summary>SYNC_FD on fences: this driver imports and exports it itself, on any transport.</summary>
    public static void FenceProperties(VkPhysicalDeviceExternalFenceInfo* info, VkExternalFenceProperties* props)
    {
        props->exportFromImportedHandleTypes = 0;
        props->compatibleHandleTypes = 0;
        props->externalFenceFeatures = 0;
        if (info != null && (uint)info->handleType == ExternalSync.FenceSyncFd)
        {
            props->compatibleHandleTypes = ExternalSync.FenceSyncFd;
            props->exportFromImportedHandleTypes = ExternalSync.FenceSyncFd;
            props->externalFenceFeatures = 0x3; // EXPORTABLE | IMPORTABLE
        }
    }

    /// <summary>SYNC_FD on binary semaphores where the host has VK_KHR_external_semaphore_fd (its resource commands).</summary>
    public static void SemaphoreProperties(PhysicalDevice pd, VkPhysicalDeviceExternalSemaphoreInfo* info, VkExternalSemaphoreProperties* props)
    {
        props->exportFromImportedHandleTypes = 0;
        props->compatibleHandleTypes = 0;
        props->externalSemaphoreFeatures = 0;
        if (info != null && (uint)info->handleType == ExternalSync.SemaphoreSyncFd && ExternalSync.IsBinary(info->pNext)
            && ExternalSync.SemaphoreSupported(pd))
        {
            props->compatibleHandleTypes = ExternalSync.SemaphoreSyncFd;
            props->exportFromImportedHandleTypes = ExternalSync.SemaphoreSyncFd;
            props->externalSemaphoreFeatures = 0x3; // EXPORTABLE | IMPORTABLE
        }
    }
}
