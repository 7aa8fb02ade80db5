using System.Runtime.InteropServices;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// VK_EXT_external_memory_host, done in the guest. The app's pages cannot reach the host (another
/// process over vtest, another kernel in a VM), so imported memory is an ordinary host-visible
/// allocation whose blob the guest maps, kept coherent with the app's range at the points where
/// Vulkan lets the two sides see each other's writes:
/// <list type="bullet">
/// <item>before the device may read (vkQueueSubmit*, vkQueueBindSparse, vkSetEvent,
/// vkFlushMappedMemoryRanges) the app's writes go to the blob;</item>
/// <item>after the app observes completion (fence, semaphore, event, queue and device waits and
/// status queries, vkInvalidateMappedMemoryRanges) the device's writes come back.</item>
/// </list>
/// Only bytes that changed travel, judged against a shadow of what both sides last agreed on: a
/// byte the app wrote since then goes to the device, a byte the device wrote comes back, and the
/// other bytes are left alone on both sides. So the app's writes to parts the device does not use
/// (the rest of a page around a frame, malloc's own data) are never overwritten, and device writes
/// still in flight when the app submits again are not undone.
/// </summary>
internal sealed unsafe class HostPointerMemory : IDisposable
{
    /// <summary>The alignment this driver asks of imported pointers and sizes (the page size, as drivers do).</summary>
    public static ulong Alignment => (ulong)Environment.SystemPageSize;

    public const uint HandleTypes = (uint)(VkExternalMemoryHandleTypeFlagBits.VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT
                                         | VkExternalMemoryHandleTypeFlagBits.VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_MAPPED_FOREIGN_MEMORY_BIT_EXT);

    private readonly Lock _lock = new();
    private readonly byte* _app;
    private readonly byte* _device;
    private byte* _shadow;

    /// <summary>Takes the app's current contents as the memory's initial contents.</summary>
    public HostPointerMemory(byte* app, byte* device, ulong size)
    {
        _app = app;
        _device = device;
        Size = size;
        _shadow = (byte*)NativeMemory.Alloc((nuint)size);
        Buffer.MemoryCopy(app, _shadow, size, size);
        Buffer.MemoryCopy(app, device, size, size);
    }

    public ulong Size { get; }
    public byte* AppPointer => _app;

    /// <summary>The app's writes since the last exchange, to the device's copy.</summary>
    public void Push()
    {
        lock (_lock)
            if (_shadow != null)
                Propagate(_app, _shadow, _device, Size);
    }

    /// <summary>The device's writes since the last exchange, to the app's range.</summary>
    public void Pull()
    {
        lock (_lock)
            if (_shadow != null)
                Propagate(_device, _shadow, _app, Size);
    }

    /// <summary>Copies every byte of <paramref name="from"/> that differs from the shadow into <paramref name="to"/> and the shadow.</summary>
    private static void Propagate(byte* from, byte* shadow, byte* to, ulong size)
    {
        const int Chunk = 1 << 30;
        for (ulong done = 0; done < size; done += Chunk)
        {
            int n = (int)Math.Min(Chunk, size - done);
            var src = new ReadOnlySpan<byte>(from + done, n);
            var agreed = new Span<byte>(shadow + done, n);
            var dst = new Span<byte>(to + done, n);
            int i = 0;
            while (i < n)
            {
                i += src[i..].CommonPrefixLength(agreed[i..]);
                if (i >= n)
                    break;
                int end = i + 1;
                while (end < n && src[end] != agreed[end])
                    end++;
                src[i..end].CopyTo(agreed[i..]);
                agreed[i..end].CopyTo(dst[i..]);
                i = end;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            NativeMemory.Free(_shadow);
            _shadow = null;
        }
    }

    /// <summary>vkGetMemoryHostPointerPropertiesEXT: every memory type this driver can map, for an aligned pointer.</summary>
    public static VkResult GetProperties(PhysicalDevice pd, uint handleType, void* pointer, VkMemoryHostPointerPropertiesEXT* props)
    {
        if (PointerRefusal(handleType, pointer) is not null)
            return VkResult.VK_ERROR_INVALID_EXTERNAL_HANDLE;
        props->memoryTypeBits = pd.MappableTypeBits;
        return VkResult.VK_SUCCESS;
    }

    /// <summary>A single host-pointer handle type (the only ones this driver imports).</summary>
    public static bool IsHostHandleType(uint handleType) =>
        handleType != 0 && (handleType & (handleType - 1)) == 0 && (handleType & HandleTypes) != 0;

    /// <summary>The import request in a vkAllocateMemory chain, or null.</summary>
    public static VkImportMemoryHostPointerInfoEXT* FindImport(void* chain)
    {
        for (var s = (VkBaseOutStructure*)chain; s != null; s = s->pNext)
            if (s->sType == VkStructureType.VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT)
                return (VkImportMemoryHostPointerInfoEXT*)s;
        return null;
    }

    /// <summary>Why an import cannot be honoured (the spec's valid-usage rules), or null.</summary>
    public static string? Refusal(PhysicalDevice pd, VkImportMemoryHostPointerInfoEXT* import, ulong allocationSize, uint typeIndex)
    {
        if (PointerRefusal((uint)import->handleType, import->pHostPointer) is { } why)
            return why;
        if (allocationSize == 0 || allocationSize % Alignment != 0)
            return $"allocationSize {allocationSize} is not a multiple of {Alignment}";
        if (typeIndex >= 32 || (pd.MappableTypeBits & (1u << (int)typeIndex)) == 0)
            return $"memory type {typeIndex} cannot hold imported host memory";
        return null;
    }

    /// <summary>Why this handle type and pointer cannot be imported (a single host-pointer type, page-aligned), or null.</summary>
    private static string? PointerRefusal(uint handleType, void* pointer)
    {
        if (!IsHostHandleType(handleType))
            return $"handle type 0x{handleType:x} is not a host-pointer type";
        if (pointer == null || (ulong)pointer % Alignment != 0)
            return $"pointer 0x{(ulong)pointer:x} is not aligned to {Alignment}";
        return null;
    }
}
