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

    /// <summary>Keys kept per device; buffers of further keys are created with a reply (apps use a handful).</summary>
    public const int MaxEntries = 64;

    private readonly struct Entry(uint flags, uint usage, VkSharingMode sharing, ulong alignment, uint typeBits, bool usable)
    {
        public readonly uint Flags = flags, Usage = usage;
        public readonly VkSharingMode Sharing = sharing;
        public readonly ulong Alignment = alignment;
        public readonly uint TypeBits = typeBits;
        public readonly bool Usable = usable;
    }

    /// <summary>The entries, replaced whole when one is added (rare), so lookups take no lock and allocate nothing.</summary>
    private Entry[] _entries = [];
    private readonly Lock _addLock = new();

    public static VkResult Create(Device dev, VkBufferCreateInfo* info, ulong* pBuffer)
    {
        ulong id = dev.Instance.NewObjectId();
        bool cacheable = !PerfOptions.NoAsyncCreate && info->pNext == null && info->size <= MaxCachedSize;
        if (cacheable && dev.BufferCache.TryFind(info->flags, info->usage, info->sharingMode, out Entry known))
        {
            if (known.Usable)
            {
                VkMemoryRequirements req = new()
                {
                    size = AlignUp(info->size, known.Alignment),
                    alignment = known.Alignment,
                    memoryTypeBits = known.TypeBits,
                };
                Sends.vkCreateBuffer(dev.Ring, dev.Handle, info, null, &id);
                dev.BufferRequirements.Set(id, in req);
                *pBuffer = id;
                return VkResult.VK_SUCCESS;
            }
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
            dev.BufferRequirements.Set(id, in real);
            bool usable = real.alignment != 0 && (real.alignment & (real.alignment - 1)) == 0 && real.size <= AlignUp(info->size, real.alignment);
            dev.BufferCache.Add(new Entry(info->flags, info->usage, info->sharingMode, real.alignment, real.memoryTypeBits, usable));
        }
        return r;
    }

    private bool TryFind(uint flags, uint usage, VkSharingMode sharing, out Entry found)
    {
        Entry[] entries = Volatile.Read(ref _entries);
        for (int i = 0; i < entries.Length; i++)
        {
            ref readonly Entry e = ref entries[i];
            if (e.Flags == flags && e.Usage == usage && e.Sharing == sharing)
            {
                found = e;
                return true;
            }
        }
        found = default;
        return false;
    }

    private void Add(Entry entry)
    {
        lock (_addLock)
        {
            Entry[] old = _entries;
            if (old.Length >= MaxEntries || TryFind(entry.Flags, entry.Usage, entry.Sharing, out _))
                return;
            var grown = new Entry[old.Length + 1];
            old.CopyTo(grown, 0);
            grown[old.Length] = entry;
            Volatile.Write(ref _entries, grown);
        }
    }

    private static ulong AlignUp(ulong size, ulong alignment) => alignment == 0 ? size : (size + alignment - 1) & ~(alignment - 1);
}
