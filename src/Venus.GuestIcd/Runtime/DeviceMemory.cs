using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

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
