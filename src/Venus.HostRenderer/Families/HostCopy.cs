using Venus.HostRenderer.Context;
using Venus.Protocol;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>
/// VK_MESA_venus_protocol spec 3's host copies (vkCopyMemoryToImageMESA, vkCopyImageToMemoryMESA):
/// the guest's bytes travel in the command (or come back in its reply) and the driver's
/// vkCopyMemoryToImage / vkCopyImageToMemory does the copy from or into them. Every region is
/// sized here with vk.xml's texel blocks from the image's recorded format (or, for MEMCPY copies,
/// the driver's own memcpy size), and a region the guest's bytes do not cover is fatal, so the
/// driver never reads or writes past them.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const uint MemcpyFlag = 0x1, RemainingLayers = 0xffffffffu;

    /// <summary>The create info's shape of every live image this host created, by driver handle (Families/ImageRanges.cs checks views and copies against it).</summary>
    readonly Dictionary<ulong, ImageShape> _images = new();

    internal partial bool vkCreateImageCheck(Dispatcher x, vkCreateImage.Args* a)
    {
        if (a->pImage == null || a->pCreateInfo == null) return Fatal("vkCreateImage without a create info or an image id");
        if (ImageCreateInfoError(a->pCreateInfo) is { } invalid) return Fatal($"vkCreateImage: {invalid}");
        return true;
    }

    /// <summary>A created image's shape (host.xml &lt;after&gt;).</summary>
    internal partial void vkCreateImageAfter(Dispatcher x, vkCreateImage.Args* a, ulong handle)
    {
        var ci = a->pCreateInfo;
        lock (_images) _images[handle] = new ImageShape(a->device, ci->imageType, ci->format, ci->extent, ci->mipLevels, ci->arrayLayers, ci->flags, (uint)ci->samples);
    }

    /// <summary>
    /// The shape rules of VkImageCreateInfo that drivers take for granted (lavapipe faults on an
    /// image of 0 mip levels): a valid guest never breaks them, so one that does loses its context.
    /// </summary>
    static string? ImageCreateInfoError(VkImageCreateInfo* ci)
    {
        var e = ci->extent;
        if (e.width == 0 || e.height == 0 || e.depth == 0) return $"extent {e.width}x{e.height}x{e.depth} has a zero side";
        if ((uint)ci->imageType > 2) return $"image type {(uint)ci->imageType}";
        if (ci->imageType == VkImageType.VK_IMAGE_TYPE_1D && (e.height != 1 || e.depth != 1)) return $"a 1D image of extent {e.width}x{e.height}x{e.depth}";
        if (ci->imageType == VkImageType.VK_IMAGE_TYPE_2D && e.depth != 1) return $"a 2D image of depth {e.depth}";
        if (ci->arrayLayers == 0) return "0 array layers";
        uint largest = Math.Max(e.width, Math.Max(e.height, e.depth));
        uint maxLevels = (uint)System.Numerics.BitOperations.Log2(largest) + 1;
        if (ci->mipLevels == 0 || ci->mipLevels > maxLevels) return $"{ci->mipLevels} mip levels for extent {e.width}x{e.height}x{e.depth} (1..{maxLevels})";
        uint samples = (uint)ci->samples;
        if (samples == 0 || samples > 64 || (samples & (samples - 1)) != 0) return $"sample count flags 0x{samples:x}";
        return null;
    }

    internal partial void vkDestroyImageAfter(Dispatcher x, vkDestroyImage.Args* a, ulong handle)
    {
        lock (_images) _images.Remove(handle);
    }

    public bool vkCopyMemoryToImageMESA(Dispatcher x, vkCopyMemoryToImageMESA.Args* a)
    {
        var info = a->pCopyMemoryToImageInfo;
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCopyMemoryToImage == null)
            return Fatal("vkCopyMemoryToImageMESA: the device has no vkCopyMemoryToImage (host image copy not enabled)");
        if (info->regionCount == 0 || info->regionCount > 4096 || info->pRegions == null)
            return Fatal($"vkCopyMemoryToImageMESA: {info->regionCount} regions");
        var regions = new VkMemoryToImageCopy[info->regionCount];
        for (uint i = 0; i < info->regionCount; i++)
        {
            VkMemoryToImageCopyMESA r = info->pRegions[i];
            if (r.pData == null)
                return Fatal($"vkCopyMemoryToImageMESA: region {i} has no data");
            if (!TryRegionBytes(a->device, fns, info->dstImage, (info->flags & MemcpyFlag) != 0, r.imageSubresource, r.imageOffset,
                    r.imageExtent, r.memoryRowLength, r.memoryImageHeight, out ulong need, out string? why))
                return Fatal($"vkCopyMemoryToImageMESA: region {i}: {why}");
            if (need > r.dataSize)
                return Fatal($"vkCopyMemoryToImageMESA: region {i} needs {need} bytes, the guest sent {r.dataSize}");
            regions[i] = new VkMemoryToImageCopy
            {
                sType = VkMemoryToImageCopy.SType,
                pHostPointer = r.pData,
                memoryRowLength = r.memoryRowLength,
                memoryImageHeight = r.memoryImageHeight,
                imageSubresource = r.imageSubresource,
                imageOffset = r.imageOffset,
                imageExtent = r.imageExtent,
            };
        }
        fixed (VkMemoryToImageCopy* p = regions)
        {
            var copy = new VkCopyMemoryToImageInfo
            {
                sType = VkCopyMemoryToImageInfo.SType,
                flags = info->flags,
                dstImage = info->dstImage,
                dstImageLayout = info->dstImageLayout,
                regionCount = info->regionCount,
                pRegions = p,
            };
            a->ret = fns->vkCopyMemoryToImage(a->device, &copy);
        }
        return true;
    }

    public bool vkCopyImageToMemoryMESA(Dispatcher x, vkCopyImageToMemoryMESA.Args* a)
    {
        var info = a->pCopyImageToMemoryInfo;
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCopyImageToMemory == null)
            return Fatal("vkCopyImageToMemoryMESA: the device has no vkCopyImageToMemory (host image copy not enabled)");
        if (a->pData == null)
            return Fatal("vkCopyImageToMemoryMESA: no room for the data");
        if (!TryRegionBytes(a->device, fns, info->srcImage, (info->flags & MemcpyFlag) != 0, info->imageSubresource, info->imageOffset,
                info->imageExtent, info->memoryRowLength, info->memoryImageHeight, out ulong need, out string? why))
            return Fatal($"vkCopyImageToMemoryMESA: {why}");
        if (need > a->dataSize)
            return Fatal($"vkCopyImageToMemoryMESA: the region needs {need} bytes, the guest has room for {a->dataSize}");
        var region = new VkImageToMemoryCopy
        {
            sType = VkImageToMemoryCopy.SType,
            pHostPointer = a->pData,
            memoryRowLength = info->memoryRowLength,
            memoryImageHeight = info->memoryImageHeight,
            imageSubresource = info->imageSubresource,
            imageOffset = info->imageOffset,
            imageExtent = info->imageExtent,
        };
        var copy = new VkCopyImageToMemoryInfo
        {
            sType = VkCopyImageToMemoryInfo.SType,
            flags = info->flags,
            srcImage = info->srcImage,
            srcImageLayout = info->srcImageLayout,
            regionCount = 1,
            pRegions = &region,
        };
        a->ret = fns->vkCopyImageToMemory(a->device, &copy);
        return true;
    }

    /// <summary>Bytes of host memory one region spans, from the image's recorded shape; false with the reason when it has none.</summary>
    bool TryRegionBytes(ulong device, VkDeviceFunctions* fns, ulong image, bool memcpy, VkImageSubresourceLayers sub, VkOffset3D offset,
        VkExtent3D extent, uint rowLength, uint imageHeight, out ulong bytes, out string? why)
    {
        bytes = 0;
        why = null;
        ImageShape shape;
        lock (_images)
            if (!_images.TryGetValue(image, out shape))
            {
                why = "an image this host did not create";
                return false;
            }
        // The region must lie inside the image (Families/ImageRanges.cs): the driver writes or reads
        // the image's memory at the offset it names.
        if (ImageRegionError(shape, sub, offset, extent) is { } outside)
        {
            why = outside;
            return false;
        }
        uint layers = sub.layerCount == RemainingLayers ? shape.Layers - sub.baseArrayLayer : sub.layerCount;
        if (memcpy)
        {
            if (fns->vkGetImageSubresourceLayout2 == null)
            {
                why = "MEMCPY without vkGetImageSubresourceLayout2";
                return false;
            }
            var size = new VkSubresourceHostMemcpySize { sType = VkSubresourceHostMemcpySize.SType };
            var layout = new VkSubresourceLayout2 { sType = VkSubresourceLayout2.SType, pNext = &size };
            var subresource = new VkImageSubresource2
            {
                sType = VkImageSubresource2.SType,
                imageSubresource = new VkImageSubresource { aspectMask = sub.aspectMask, mipLevel = sub.mipLevel, arrayLayer = sub.baseArrayLayer },
            };
            fns->vkGetImageSubresourceLayout2(device, image, &subresource, &layout);
            bytes = checked(size.size * layers);
            return true;
        }
        if (!VkFormatInfo.TryGetCopyBytes(shape.Format, sub.aspectMask, rowLength, imageHeight,
                extent.width, extent.height, extent.depth, layers, out bytes))
        {
            why = $"no size for {shape.Format}, aspect 0x{sub.aspectMask:x}, extent {extent.width}x{extent.height}x{extent.depth}, " +
                $"row length {rowLength}, image height {imageHeight}";
            return false;
        }
        return true;
    }
}
