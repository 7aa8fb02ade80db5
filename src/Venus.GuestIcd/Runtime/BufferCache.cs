using System.Collections.Concurrent;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// Buffer memory requirements cached in the guest (what Mesa's venus calls the buffer requirements
/// cache), so that vkCreateBuffer need not wait for the host. Keyed by the create info's flags, usage
/// and sharing mode (create infos with a pNext chain are not cached): the first buffer of a key is
/// created with a reply and its requirements asked; later ones are sent without waiting and get that
/// alignment and memory type mask, with the size rounded up to the alignment. That is never below what
/// the driver needs (checked on the first buffer: a key whose real size exceeds the rounded size is
/// never cached), so memory the app allocates from it always fits.
/// </summary>
internal sealed unsafe class BufferCache
{
    /// <summary>Above this size a buffer is created with a reply (a driver may refuse it for its size).</summary>
    private const ulong MaxCachedSize = 1ul << 32;

    private readonly ConcurrentDictionary<(uint Flags, uint Usage, VkSharingMode Sharing), (ulong Alignment, uint TypeBits, bool Usable)> _entries = new();

    public static VkResult Create(Device dev, VkBufferCreateInfo* info, ulong* pBuffer)
    {
        ulong id = dev.Instance.NewObjectId();
        bool cacheable = !PerfOptions.NoAsyncCreate && info->pNext == null && info->size <= MaxCachedSize;
        var key = (info->flags, info->usage, info->sharingMode);
        if (cacheable && dev.BufferCache._entries.TryGetValue(key, out var known) && known.Usable)
        {
            Sends.vkCreateBuffer(dev.Ring, dev.Handle, info, null, &id);
            dev.BufferRequirements[id] = new VkMemoryRequirements
            {
                size = AlignUp(info->size, known.Alignment),
                alignment = known.Alignment,
                memoryTypeBits = known.TypeBits,
            };
            *pBuffer = id;
            return VkResult.VK_SUCCESS;
        }
        VkResult r = Calls.vkCreateBuffer(dev.Ring, dev.Handle, info, null, &id);
        if (r < 0)
        {
            *pBuffer = 0;
            return r;
        }
        *pBuffer = id;
        if (cacheable)
        {
            VkMemoryRequirements real;
            Calls.vkGetBufferMemoryRequirements(dev.Ring, dev.Handle, id, &real);
            dev.BufferRequirements[id] = real;
            bool usable = real.alignment != 0 && (real.alignment & (real.alignment - 1)) == 0 && real.size <= AlignUp(info->size, real.alignment);
            dev.BufferCache._entries.TryAdd(key, (real.alignment, real.memoryTypeBits, usable));
        }
        return r;
    }

    private static ulong AlignUp(ulong size, ulong alignment) => alignment == 0 ? size : (size + alignment - 1) & ~(alignment - 1);
}
