using System.Numerics;
using System.Runtime.CompilerServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>What vkGetImageMemoryRequirements(2) answers for one image: the requirements and the dedicated-allocation flags.</summary>
internal readonly struct ImageRequirements(in VkMemoryRequirements memory, uint prefersDedicated, uint requiresDedicated)
{
    public readonly VkMemoryRequirements Memory = memory;
    public readonly uint PrefersDedicated = prefersDedicated, RequiresDedicated = requiresDedicated;
}

/// <summary>
/// Image memory requirements cached in the guest by create info (Mesa's venus keeps the same cache,
/// its image reqs cache), so that vkCreateImage need not wait for the host. Unlike a buffer's, an
/// image's requirements follow entirely from its create info, so the key is the create info itself,
/// kept whole and compared exactly (Mesa keeps a SHA-1 of it): flags (less ALIAS, which does not change
/// them, as Mesa), image type, format, extent, mip levels, array layers, samples, tiling, usage,
/// sharing mode, the queue family indices when concurrent (up to <see cref="MaxQueueFamilies"/>),
/// the initial layout, and of the chain only <c>VkImageFormatListCreateInfo</c> (up to
/// <see cref="MaxViewFormats"/> formats) and <c>VkImageStencilUsageCreateInfo</c>.
/// <para>
/// Not cached, so created with a reply as before (each can fail, or be answered, in a way the app must
/// see at that call, or has requirements per plane): any other structure in the chain (external memory,
/// whose import or export the host may refuse; DRM format modifiers and their tiling; swapchain
/// binding; compression control, which can fail with VK_ERROR_COMPRESSION_EXHAUSTED_EXT; opaque
/// capture data), sparse images (their address space is reserved at creation; Mesa caches them),
/// DISJOINT images (requirements per plane; Mesa caches up to four planes) and
/// DESCRIPTOR_BUFFER_CAPTURE_REPLAY (VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS).
/// </para>
/// <para>
/// On a miss the host is asked once: with <c>vkGetDeviceImageMemoryRequirements</c> where the device
/// has Vulkan 1.3 (the spec makes its answer that of an image created from the same info), then the
/// image is created without waiting; on an older device the image is created with a reply and its
/// requirements asked (Mesa's only path). A host that then fails an image created without a reply
/// (out of memory, or its object cap) leaves its id unregistered: the context fails at the next
/// command that uses it and the app sees VK_ERROR_DEVICE_LOST at the next call that waits for the host
/// (AsyncCreateCapTests). The table is direct-mapped (<see cref="SlotCount"/> slots by a hash of the
/// key; a colliding key replaces the older one), each slot an immutable entry published with a single
/// write, so lookups take no lock and allocate nothing; only a miss allocates its entry.
/// </para>
/// </summary>
internal sealed unsafe class ImageCache
{
    public const int SlotCount = 512;
    public const int MaxViewFormats = 8;
    public const int MaxQueueFamilies = 4;
    private const int KeyWords = 32;

    private const uint UncachedFlags = (uint)(VkImageCreateFlagBits.VK_IMAGE_CREATE_SPARSE_BINDING_BIT | VkImageCreateFlagBits.VK_IMAGE_CREATE_SPARSE_RESIDENCY_BIT
        | VkImageCreateFlagBits.VK_IMAGE_CREATE_SPARSE_ALIASED_BIT | VkImageCreateFlagBits.VK_IMAGE_CREATE_DISJOINT_BIT
        | VkImageCreateFlagBits.VK_IMAGE_CREATE_DESCRIPTOR_BUFFER_CAPTURE_REPLAY_BIT_EXT);
    private const uint AliasFlag = (uint)VkImageCreateFlagBits.VK_IMAGE_CREATE_ALIAS_BIT;

    private struct Key
    {
        public fixed uint Words[KeyWords];
    }

    private sealed class Entry(in Key key, in ImageRequirements requirements)
    {
        public Key Key = key; // never written after construction (a fixed buffer cannot be read through a readonly field)
        public readonly ImageRequirements Requirements = requirements;
    }

    private readonly Entry?[] _slots = new Entry?[SlotCount];
    private int _hits, _misses;

    /// <summary>Lookups answered from the cache, and misses (each a round trip), for tests and the log.</summary>
    public (int Hits, int Misses) Counts => (Volatile.Read(ref _hits), Volatile.Read(ref _misses));

    public static VkResult Create(Device dev, VkImageCreateInfo* info, ulong* pImage)
    {
        ulong id = dev.Instance.NewObjectId();
        var shape = new ImageShape(info->format, info->arrayLayers);
        Key key;
        if (!PerfOptions.NoAsyncCreate && TryMakeKey(info, &key))
        {
            ImageCache cache = dev.ImageCache;
            uint hash = Hash(&key);
            Entry? known = cache.Find(&key, hash);
            if (known is null && dev.HasDeviceImageRequirements)
            {
                Interlocked.Increment(ref cache._misses);
                var reqInfo = new VkDeviceImageMemoryRequirements { sType = VkDeviceImageMemoryRequirements.SType, pCreateInfo = info };
                var dedicated = new VkMemoryDedicatedRequirements { sType = VkMemoryDedicatedRequirements.SType };
                var req2 = new VkMemoryRequirements2 { sType = VkMemoryRequirements2.SType, pNext = &dedicated };
                Calls.vkGetDeviceImageMemoryRequirements(dev.Ring, dev.Handle, &reqInfo, &req2);
                known = cache.Add(&key, hash, new ImageRequirements(req2.memoryRequirements, dedicated.prefersDedicatedAllocation, dedicated.requiresDedicatedAllocation));
            }
            else if (known is not null)
            {
                Interlocked.Increment(ref cache._hits);
            }
            if (known is not null)
            {
                Sends.vkCreateImage(dev.Ring, dev.Handle, info, null, &id);
                dev.ImageRequirements.Set(id, in known.Requirements);
                dev.Images.Set(id, shape);
                *pImage = id;
                return VkResult.VK_SUCCESS;
            }
            // A device older than 1.3: Mesa's way, the first image of a key with a reply, then its requirements.
            Interlocked.Increment(ref cache._misses);
            VkResult created = CreateWithReply(dev, info, id, shape, pImage);
            if (created == VkResult.VK_SUCCESS)
            {
                ImageRequirements real = AskHost(dev, id);
                dev.ImageRequirements.Set(id, in real);
                cache.Add(&key, hash, in real);
            }
            return created;
        }
        return CreateWithReply(dev, info, id, shape, pImage);
    }

    /// <summary>vkCreateImage with a reply.</summary>
    private static VkResult CreateWithReply(Device dev, VkImageCreateInfo* info, ulong id, ImageShape shape, ulong* pImage)
    {
        VkResult r = Calls.vkCreateImage(dev.Ring, dev.Handle, info, null, &id);
        if (r != VkResult.VK_SUCCESS)
        {
            *pImage = 0;
            return r;
        }
        dev.Images.Set(id, shape);
        *pImage = id;
        return r; // an image outside the cache has its requirements asked of the host at use, as before
    }

    /// <summary>The requirements of a created image, from the host (vkGetImageMemoryRequirements2, core in 1.1).</summary>
    public static ImageRequirements AskHost(Device dev, ulong image)
    {
        var info = new VkImageMemoryRequirementsInfo2 { sType = VkImageMemoryRequirementsInfo2.SType, image = image };
        var dedicated = new VkMemoryDedicatedRequirements { sType = VkMemoryDedicatedRequirements.SType };
        var req2 = new VkMemoryRequirements2 { sType = VkMemoryRequirements2.SType, pNext = &dedicated };
        Calls.vkGetImageMemoryRequirements2(dev.Ring, dev.Handle, &info, &req2);
        return new ImageRequirements(req2.memoryRequirements, dedicated.prefersDedicatedAllocation, dedicated.requiresDedicatedAllocation);
    }

    /// <summary>
    /// Fills <paramref name="out2"/> from <paramref name="req"/> when its chain holds only what the
    /// cache knows (VkMemoryDedicatedRequirements); false (nothing written) otherwise.
    /// </summary>
    public static bool TryFill(in ImageRequirements req, VkMemoryRequirements2* out2)
    {
        for (var s = (VkBaseOutStructure*)out2->pNext; s != null; s = s->pNext)
            if (s->sType != VkStructureType.VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS)
                return false;
        out2->memoryRequirements = req.Memory;
        for (var s = (VkBaseOutStructure*)out2->pNext; s != null; s = s->pNext)
        {
            var d = (VkMemoryDedicatedRequirements*)s;
            d->prefersDedicatedAllocation = req.PrefersDedicated;
            d->requiresDedicatedAllocation = req.RequiresDedicated;
        }
        return true;
    }

    /// <summary>The key of a create info, or false where such an image is not cached (see the class).</summary>
    private static bool TryMakeKey(VkImageCreateInfo* info, Key* key)
    {
        if ((info->flags & UncachedFlags) != 0 || info->tiling == VkImageTiling.VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT)
            return false;
        *key = default;
        uint* w = key->Words;
        // flags .. sharingMode are 12 consecutive 32-bit fields.
        uint* fields = &info->flags;
        for (int i = 0; i < 12; i++)
            w[i] = fields[i];
        w[0] &= ~AliasFlag;
        w[12] = (uint)info->initialLayout;
        if (info->sharingMode == VkSharingMode.VK_SHARING_MODE_CONCURRENT)
        {
            if (info->queueFamilyIndexCount > MaxQueueFamilies || (info->queueFamilyIndexCount != 0 && info->pQueueFamilyIndices == null))
                return false;
            w[13] = info->queueFamilyIndexCount;
            for (uint i = 0; i < info->queueFamilyIndexCount; i++)
                w[14 + i] = info->pQueueFamilyIndices[i];
        }
        bool formatList = false, stencil = false;
        for (var s = (VkBaseInStructure*)info->pNext; s != null; s = s->pNext)
        {
            switch (s->sType)
            {
                case VkStructureType.VK_STRUCTURE_TYPE_IMAGE_FORMAT_LIST_CREATE_INFO when !formatList:
                    var list = (VkImageFormatListCreateInfo*)s;
                    if (list->viewFormatCount > MaxViewFormats || (list->viewFormatCount != 0 && list->pViewFormats == null))
                        return false;
                    formatList = true;
                    w[18] = 1 + list->viewFormatCount;
                    for (uint i = 0; i < list->viewFormatCount; i++)
                        w[19 + i] = (uint)list->pViewFormats[i];
                    break;
                case VkStructureType.VK_STRUCTURE_TYPE_IMAGE_STENCIL_USAGE_CREATE_INFO when !stencil:
                    stencil = true;
                    w[27] = 1;
                    w[28] = ((VkImageStencilUsageCreateInfo*)s)->stencilUsage;
                    break;
                default:
                    return false;
            }
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(Key* key)
    {
        var q = (ulong*)key->Words;
        ulong h = 0xcbf29ce484222325;
        for (int i = 0; i < KeyWords / 2; i++)
            h = (BitOperations.RotateLeft(h, 23) ^ q[i]) * 0x9E3779B97F4A7C15;
        return (uint)(h >> 32);
    }

    private Entry? Find(Key* key, uint hash)
    {
        Entry? e = Volatile.Read(ref _slots[hash & (SlotCount - 1)]);
        if (e is null)
            return null;
        fixed (uint* known = e.Key.Words)
            return new ReadOnlySpan<byte>(known, KeyWords * 4).SequenceEqual(new ReadOnlySpan<byte>(key->Words, KeyWords * 4)) ? e : null;
    }

    private Entry Add(Key* key, uint hash, in ImageRequirements requirements)
    {
        var e = new Entry(in *key, in requirements);
        Volatile.Write(ref _slots[hash & (SlotCount - 1)], e);
        return e;
    }
}
