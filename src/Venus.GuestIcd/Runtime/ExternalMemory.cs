using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.GuestIcd.Transport;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Device memory shared as file descriptors (VK_KHR_external_memory_fd, VK_EXT_external_memory_dma_buf),
/// the way the Venus protocol shares it: memory allocated with <c>VkExportMemoryAllocateInfo</c> is
/// exported by the host's driver, and its blob (blob_id = the memory's id, SHAREABLE) arrives as that
/// fd (vtest: over SCM_RIGHTS). vkGetMemoryFdKHR hands the app a new fd of the same open file. An fd
/// the app imports is recognised by its file identity (st_dev, st_ino) among the blobs this process
/// exported, and imported by resource id (<c>VkImportMemoryResourceInfoMESA</c>) on the same
/// transport, so the memory can go to a second VkDevice of the same VkInstance. Over vtest an fd this
/// driver did not export (another process, another instance's connection, another driver) is refused
/// with VK_ERROR_INVALID_EXTERNAL_HANDLE: the host cannot receive fds from the guest there. Inside a VM
/// (virtio-gpu) the fd is the PRIME export of the blob (a dma-buf), and one from elsewhere in the VM is
/// imported with PRIME and named by its resource id (IGuestTransport.TryImportMemoryFd).
/// </summary>
internal static unsafe class ExternalMemory
{
    public const uint OpaqueFd = 0x1;     // VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT
    public const uint DmaBuf = 0x200;     // VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT
    public const uint FdTypes = OpaqueFd | DmaBuf;

    private const int STypeAllocateFlags = 1000060000, STypeExport = 1000072002, STypeImportFd = 1000074000,
        STypeDedicated = 1000127001, STypeCaptureAddress = 1000257003;

    private readonly record struct Exported(IGuestTransport Transport, uint ResourceId, GuestShmem Blob);

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<(ulong, ulong), Exported> s_exported = new();

    /// <summary>The fd handle types the memory the transport shares: none where it cannot pass fds.</summary>
    public static uint SupportedTypes(PhysicalDevice pd)
    {
        if (!pd.Instance.Transport.SharesMemoryFds || !pd.IsHostExtension("VK_KHR_external_memory_fd"))
            return 0;
        return OpaqueFd | (pd.IsHostExtension("VK_EXT_external_memory_dma_buf") ? DmaBuf : 0);
    }

    /// <summary>
    /// Whether the host imports by resource id the blob of memory it exported, where the transport
    /// cannot ask it (virtio-gpu: the capset is the VMM's, the same for every render server). Asked
    /// once per physical device by doing it: a throw-away VkDevice with VK_KHR_external_memory_fd,
    /// 64 KiB of OPAQUE_FD-exportable memory, its blob (SHAREABLE, not mapped), an allocation that
    /// imports that resource, then everything freed. venus-host does it; virglrenderer 1.1.0's server
    /// on lavapipe answers VK_ERROR_INVALID_EXTERNAL_HANDLE (and Mesa's guest offers no memory fds
    /// there, its host driver exporting no dma-bufs). About ten ring calls, at initialisation only.
    /// </summary>
    public static bool HostImportsItsExports(PhysicalDevice pd, out string why)
    {
        GuestInstance instance = pd.Instance;
        GuestRing ring = instance.Ring;
        ulong device = instance.NewObjectId();
        float priority = 1.0f;
        var queue = new VkDeviceQueueCreateInfo { sType = VkDeviceQueueCreateInfo.SType, queueFamilyIndex = 0, queueCount = 1, pQueuePriorities = &priority };
        byte* name = stackalloc byte[32];
        ReadOnlySpan<byte> ext = "VK_KHR_external_memory_fd"u8;
        ext.CopyTo(new Span<byte>(name, 32));
        name[ext.Length] = 0;
        var info = new VkDeviceCreateInfo
        {
            sType = VkDeviceCreateInfo.SType, queueCreateInfoCount = 1, pQueueCreateInfos = &queue,
            enabledExtensionCount = 1, ppEnabledExtensionNames = &name,
        };
        VkResult r = Calls.vkCreateDevice(ring, pd.Handle, &info, null, &device);
        if (r != VkResult.VK_SUCCESS)
        {
            why = $"the host's vkCreateDevice with VK_KHR_external_memory_fd answered {r}";
            return false;
        }
        const ulong Size = 65536;
        ulong exported = instance.NewObjectId(), imported = instance.NewObjectId();
        bool exportedMade = false, importedMade = false;
        GuestShmem? blob = null;
        try
        {
            var export = new VkExportMemoryAllocateInfo { sType = (VkStructureType)STypeExport, handleTypes = OpaqueFd };
            var alloc = new VkMemoryAllocateInfo { sType = VkMemoryAllocateInfo.SType, pNext = &export, allocationSize = Size, memoryTypeIndex = 0 };
            r = Calls.vkAllocateMemory(ring, device, &alloc, null, &exported);
            if (r != VkResult.VK_SUCCESS)
            {
                why = $"the host's vkAllocateMemory of OPAQUE_FD-exportable memory answered {r}";
                return false;
            }
            exportedMade = true;
            try
            {
                blob = instance.Transport.CreateShareableMemoryBlob(exported, Size, mappable: false);
            }
            catch (Exception e)
            {
                why = $"a shareable blob of exportable memory failed: {e.Message}";
                return false;
            }
            ring.SyncVirtqueue();
            var resource = new VkImportMemoryResourceInfoMESA { sType = VkImportMemoryResourceInfoMESA.SType, resourceId = blob.ResourceId };
            alloc.pNext = &resource;
            r = Calls.vkAllocateMemory(ring, device, &alloc, null, &imported);
            if (r != VkResult.VK_SUCCESS)
            {
                why = $"the host refuses to import the blob of memory it exported (vkAllocateMemory with VkImportMemoryResourceInfoMESA answered {r})";
                return false;
            }
            importedMade = true;
            why = "";
            return true;
        }
        finally
        {
            if (importedMade)
                Sends.vkFreeMemory(ring, device, imported, null);
            if (exportedMade)
                Sends.vkFreeMemory(ring, device, exported, null);
            Sends.vkDestroyDevice(ring, device, null);
            try
            {
                blob?.Dispose();
            }
            catch (Exception e)
            {
                IcdLog.Info($"releasing the probe's blob: {e.Message}");
            }
        }
    }

    /// <summary>The handle types of a <c>VkExportMemoryAllocateInfo</c> in the chain, 0 without one.</summary>
    public static uint ExportTypes(void* chain)
    {
        uint types = 0;
        for (var s = (VkBaseInStructure*)chain; s != null; s = s->pNext)
            if ((int)s->sType == STypeExport)
                types |= ((VkExportMemoryAllocateInfo*)s)->handleTypes;
        return types;
    }

    public static VkImportMemoryFdInfoKHR* FindFdImport(void* chain)
    {
        for (var s = (VkBaseInStructure*)chain; s != null; s = s->pNext)
            if ((int)s->sType == STypeImportFd)
                return (VkImportMemoryFdInfoKHR*)s;
        return null;
    }

    /// <summary>
    /// Remembers the blob of exported memory by the file identity of the fd handed out
    /// (<paramref name="fd"/>): vtest's is the blob's own file, virtio-gpu's the GEM object's one
    /// dma-buf, the same file for every export of it while it lives.
    /// </summary>
    public static void Remember(IGuestTransport transport, GuestShmem blob, int fd)
    {
        if (!Posix.FileIdentity(fd, out var id))
            return;
        lock (s_lock)
            s_exported[id] = new Exported(transport, blob.ResourceId, blob);
    }

    public static void Forget(GuestShmem blob)
    {
        lock (s_lock)
        {
            foreach (var (id, e) in s_exported)
                if (ReferenceEquals(e.Blob, blob))
                {
                    s_exported.Remove(id);
                    return;
                }
        }
    }

    /// <summary>
    /// The resource an fd from the app names on <paramref name="transport"/>, or null with the reason:
    /// memory this process exported through it, or (where the transport can take fds from elsewhere,
    /// as virtio-gpu's PRIME import does) whatever the transport resolves; <paramref name="hold"/> is
    /// then to be disposed once the memory made from it is freed.
    /// </summary>
    public static uint? ResourceOf(IGuestTransport transport, int fd, out IDisposable? hold, out string why)
    {
        hold = null;
        if (!Posix.FileIdentity(fd, out var id))
        {
            why = $"fd {fd} is not an open file";
            return null;
        }
        string? elsewhere = null;
        lock (s_lock)
        {
            if (s_exported.TryGetValue(id, out Exported e))
            {
                if (ReferenceEquals(e.Transport, transport))
                {
                    why = "";
                    return e.ResourceId;
                }
                elsewhere = $"fd {fd} is memory exported through another VkInstance's connection ({e.Transport.Name}); the host keeps resources per connection";
            }
        }
        if (transport.TryImportMemoryFd(fd, out uint resource, out hold, out why))
            return resource;
        if (elsewhere is not null)
            why = elsewhere;
        return null;
    }

    /// <summary>
    /// A copy of an allocation chain with the fd import replaced by <c>VkImportMemoryResourceInfoMESA</c>:
    /// the structs that travel with vkAllocateMemory are copied (the app's chain is const), the rest
    /// would not travel anyway. The copies go in <paramref name="owned"/>, freed by the caller.
    /// </summary>
    public static void* WithResourceImport(void* chain, uint resourceId, List<nint> owned)
    {
        var res = (VkImportMemoryResourceInfoMESA*)NativeMemory.AllocZeroed((nuint)sizeof(VkImportMemoryResourceInfoMESA));
        owned.Add((nint)res);
        res->sType = VkImportMemoryResourceInfoMESA.SType;
        res->resourceId = resourceId;
        var tail = (VkBaseInStructure*)res;
        for (var s = (VkBaseInStructure*)chain; s != null; s = s->pNext)
        {
            int size = (int)s->sType switch
            {
                STypeAllocateFlags => sizeof(VkMemoryAllocateFlagsInfo),
                STypeExport => sizeof(VkExportMemoryAllocateInfo),
                STypeDedicated => sizeof(VkMemoryDedicatedAllocateInfo),
                STypeCaptureAddress => sizeof(VkMemoryOpaqueCaptureAddressAllocateInfo),
                _ => 0,
            };
            if (size == 0)
                continue;
            var copy = (VkBaseInStructure*)NativeMemory.Alloc((nuint)size);
            owned.Add((nint)copy);
            NativeMemory.Copy(s, copy, (nuint)size);
            copy->pNext = null;
            tail->pNext = copy;
            tail = copy;
        }
        return res;
    }
}
