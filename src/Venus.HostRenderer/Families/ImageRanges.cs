using Venus.HostRenderer.Context;
using Venus.Protocol;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;

namespace Venus.HostRenderer;

/// <summary>An image's create info as views and copies are checked against it (Families/ImageRanges.cs).</summary>
internal readonly record struct ImageShape(ulong Device, VkImageType Type, VkFormat Format, VkExtent3D Extent, uint MipLevels, uint Layers, uint Flags, uint Samples);

/// <summary>
/// Image subresources a driver trusts. lavapipe builds a view from whatever aspect mask and range
/// it names (an aspect mask of 0xf90001 on a colour image corrupted the heap in vkCreateImageView),
/// and copies whatever region a recorded vkCmdCopyBufferToImage / vkCmdCopyImageToBuffer names
/// (layers 0–63, a z of 91 on a 2D image, a buffer offset 600 MiB past a 16 KiB buffer: faults on
/// lavapipe's queue thread after vkQueueSubmit2). Both found by the lavapipe fuzz target. Checked
/// against the image's create info (<see cref="ImageShape"/>), as the spec's valid-usage rules say:
/// a view's type fits the image's type and flags, its format is the image's (or, for a mutable
/// image, one of the same texel block), its aspects are the format's, its mip levels and layers
/// exist (one layer for a non-array view, 6 per cube); a copy region names one aspect of the
/// format, an existing mip level and layers, lies inside that level (offsets on texel blocks), and
/// its bytes lie inside the bound buffer. Images this host did not create are left to the driver.
/// </summary>
internal sealed unsafe partial class Handlers
{
    const uint AspectColor = 0x1, AspectDepth = 0x2, AspectStencil = 0x4, AspectPlane0 = 0x10;
    const uint CreateMutableFormat = 0x8, CreateCubeCompatible = 0x10, Create2DArrayCompatible = 0x20,
        CreateBlockTexelViewCompatible = 0x80, Create2DViewCompatible = 0x20000;
    const uint RemainingLevels = 0xffffffffu;
    const int ObjImageView = 14;

    /// <summary>A destroyed device's images are gone with it.</summary>
    void ForgetImages(ulong device)
    {
        lock (_images)
            foreach (var (image, e) in _images)
                if (e.Device == device) _images.Remove(image);
    }

    bool TryImageShape(ulong image, out ImageShape shape)
    {
        lock (_images) return _images.TryGetValue(image, out shape);
    }

    /// <summary>The aspects a format has: colour, or its planes, or its depth and stencil; 0 for a format vk.xml does not describe.</summary>
    static uint FormatAspects(VkFormat format)
    {
        if (!VkFormatInfo.TryGet(format, out FormatBlock b)) return 0;
        if (b.PlaneCount > 0) return AspectColor | (((1u << b.PlaneCount) - 1) * AspectPlane0);
        if (b.DepthBytes != 0 || b.StencilBytes != 0) return (b.DepthBytes != 0 ? AspectDepth : 0) | (b.StencilBytes != 0 ? AspectStencil : 0);
        return AspectColor;
    }

    static uint MipSide(uint side, uint level) => level >= 32 ? 1 : Math.Max(1, side >> (int)level);

    public bool vkCreateImageView(Dispatcher x, vkCreateImageView.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCreateImageView == null) return Fatal("vkCreateImageView: no device function");
        if (a->pCreateInfo == null || a->pView == null) return Fatal("vkCreateImageView without a create info or a view id");
        if (TryImageShape(a->pCreateInfo->image, out var shape) && ImageViewError(a->pCreateInfo, shape) is { } why)
            return Fatal($"vkCreateImageView: {why}");
        ulong view = 0;
        a->ret = fns->vkCreateImageView(a->device, a->pCreateInfo, null, &view);
        if ((int)a->ret < 0 || view == 0)
        {
            *a->pView = 0;
            return true;
        }
        if (!x.Register(*a->pView, view, ObjImageView))
        {
            fns->vkDestroyImageView(a->device, view, null);
            return false;
        }
        return true;
    }

    /// <summary>VkImageViewCreateInfo against its image's create info; null when valid.</summary>
    internal static string? ImageViewError(VkImageViewCreateInfo* ci, ImageShape image)
    {
        var r = ci->subresourceRange;
        uint viewType = (uint)ci->viewType;
        bool typeFits = image.Type switch
        {
            VkImageType.VK_IMAGE_TYPE_1D => viewType is 0 or 4,                                     // 1D, 1D_ARRAY
            VkImageType.VK_IMAGE_TYPE_2D => viewType is 1 or 5 || (viewType is 3 or 6 && (image.Flags & CreateCubeCompatible) != 0),
            VkImageType.VK_IMAGE_TYPE_3D => viewType == 2                                            // 3D
                || (viewType is 1 or 5 && (image.Flags & Create2DArrayCompatible) != 0)
                || (viewType == 1 && (image.Flags & Create2DViewCompatible) != 0),
            _ => false,
        };
        if (!typeFits) return $"view type {viewType} on an image of type {(uint)image.Type} with flags 0x{image.Flags:x}";
        // Aspects: some of the image format's own (a plane only of a multi-planar format).
        uint aspects = FormatAspects(image.Format);
        if (r.aspectMask == 0) return "aspect mask 0";
        if (aspects != 0 && (r.aspectMask & ~aspects) != 0) return $"aspect mask 0x{r.aspectMask:x} on {image.Format} (aspects 0x{aspects:x})";
        // Format: the image's, or, on a mutable image, one of the same texel block size (and block
        // extent, unless the image allows block-texel views).
        if (ci->format != image.Format)
        {
            if ((image.Flags & CreateMutableFormat) == 0) return $"format {ci->format} on an image of {image.Format} without MUTABLE_FORMAT";
            bool known = VkFormatInfo.TryGet(image.Format, out FormatBlock cb);
            VkFormat compare = image.Format;
            if (known && cb.PlaneCount > 0)
            {
                // A multi-planar image's colour view has its format; a plane's view one like the plane's.
                uint planes = r.aspectMask >> 4;
                if ((r.aspectMask & AspectColor) != 0 || planes == 0 || (planes & (planes - 1)) != 0)
                    return $"format {ci->format} on a multi-planar image of {image.Format} with aspect mask 0x{r.aspectMask:x}";
                compare = cb.Plane(System.Numerics.BitOperations.TrailingZeroCount(planes));
                known = VkFormatInfo.TryGet(compare, out cb);
            }
            if (!VkFormatInfo.TryGet(ci->format, out FormatBlock vb)) return $"format {ci->format} is not one vk.xml describes";
            if (known)
            {
                if (vb.Size != cb.Size) return $"format {ci->format} ({vb.Size} bytes a block) on an image of {compare} ({cb.Size} bytes a block)";
                if ((image.Flags & CreateBlockTexelViewCompatible) == 0 && (vb.Width != cb.Width || vb.Height != cb.Height || vb.Depth != cb.Depth))
                    return $"format {ci->format} has another texel block than {compare}";
            }
        }
        // Mip levels.
        if (r.baseMipLevel >= image.MipLevels) return $"base mip level {r.baseMipLevel} of an image of {image.MipLevels}";
        uint levels = r.levelCount == RemainingLevels ? image.MipLevels - r.baseMipLevel : r.levelCount;
        if (levels == 0 || levels > image.MipLevels - r.baseMipLevel) return $"mip levels {r.baseMipLevel}+{r.levelCount} of an image of {image.MipLevels}";
        // Layers: a 3D image's 2D views take depth slices of the base level as layers.
        uint imageLayers = image.Type == VkImageType.VK_IMAGE_TYPE_3D && viewType is 1 or 5 ? MipSide(image.Extent.depth, r.baseMipLevel) : image.Layers;
        if (r.baseArrayLayer >= imageLayers) return $"base layer {r.baseArrayLayer} of an image of {imageLayers}";
        uint layers = r.layerCount == RemainingLayers ? imageLayers - r.baseArrayLayer : r.layerCount;
        if (layers == 0 || layers > imageLayers - r.baseArrayLayer) return $"layers {r.baseArrayLayer}+{r.layerCount} of an image of {imageLayers}";
        if (viewType is 0 or 1 or 2 && layers != 1) return $"{layers} layers in a view of type {viewType} (1)";
        if (viewType == 3 && layers != 6) return $"{layers} layers in a cube view (6)";
        if (viewType == 6 && layers % 6 != 0) return $"{layers} layers in a cube array view (a multiple of 6)";
        return null;
    }

    /// <summary>
    /// One buffer-image copy region against the image and the bound buffer; null when valid. The
    /// image side: one aspect of the format, a level and layers the image has, offset and extent
    /// inside that level and on texel blocks; a single-sampled image. The buffer side: row length and
    /// image height 0 or at least the extent, and the bytes the region spans inside the buffer.
    /// </summary>
    string? BufferImageRegionError(ulong buffer, ImageShape image, ulong bufferOffset, uint rowLength, uint imageHeight,
        VkImageSubresourceLayers sub, VkOffset3D offset, VkExtent3D extent, string command, uint region)
    {
        if (ImageRegionError(image, sub, offset, extent) is { } why) return $"region {region}: {why}";
        uint layers = sub.layerCount == RemainingLayers ? image.Layers - sub.baseArrayLayer : sub.layerCount;
        if (!VkFormatInfo.TryGetCopyBytes(image.Format, sub.aspectMask, rowLength, imageHeight, extent.width, extent.height, extent.depth, layers, out ulong bytes))
            return $"region {region}: row length {rowLength}, image height {imageHeight} for extent {extent.width}x{extent.height}";
        return InBuffer(buffer, bufferOffset, bytes, command, $"region {region}") ? null : "";
    }

    /// <summary>
    /// The image side of a copy region (buffer-image and host image copies): a single-sampled
    /// image, a mip level and layers it has, one aspect of its format, an offset and a non-zero
    /// extent inside that level, the offset on texel blocks. Null when valid.
    /// </summary>
    internal static string? ImageRegionError(ImageShape image, VkImageSubresourceLayers sub, VkOffset3D offset, VkExtent3D extent)
    {
        if (image.Samples != 1) return $"a copy with an image of {image.Samples} samples";
        if (sub.mipLevel >= image.MipLevels) return $"mip level {sub.mipLevel} of an image of {image.MipLevels}";
        uint layers = sub.layerCount == RemainingLayers ? (sub.baseArrayLayer < image.Layers ? image.Layers - sub.baseArrayLayer : 0) : sub.layerCount;
        if (layers == 0 || sub.baseArrayLayer >= image.Layers || layers > image.Layers - sub.baseArrayLayer)
            return $"layers {sub.baseArrayLayer}+{sub.layerCount} of an image of {image.Layers}";
        if (!VkFormatInfo.TryGetCopyBlock(image.Format, sub.aspectMask, out _, out int bw, out int bh, out int bd))
            return $"aspect mask 0x{sub.aspectMask:x} is not one aspect of {image.Format}";
        uint w = MipSide(image.Extent.width, sub.mipLevel), h = MipSide(image.Extent.height, sub.mipLevel), d = MipSide(image.Extent.depth, sub.mipLevel);
        if (extent.width == 0 || extent.height == 0 || extent.depth == 0) return $"extent {extent.width}x{extent.height}x{extent.depth} has a zero side";
        if (offset.x < 0 || offset.y < 0 || offset.z < 0
            || (ulong)(uint)offset.x + extent.width > w || (ulong)(uint)offset.y + extent.height > h || (ulong)(uint)offset.z + extent.depth > d)
            return $"offset ({offset.x}, {offset.y}, {offset.z}) extent {extent.width}x{extent.height}x{extent.depth} is outside mip level {sub.mipLevel} ({w}x{h}x{d})";
        if (offset.x % bw != 0 || offset.y % bh != 0 || offset.z % bd != 0)
            return $"offset ({offset.x}, {offset.y}, {offset.z}) is not on a {bw}x{bh}x{bd} texel block";
        return null;
    }

    /// <summary>Every region of a buffer-image copy; false with the context fatal on the first bad one.</summary>
    bool BufferImageCopyFits(ulong buffer, ulong image, uint count, VkBufferImageCopy* regions, VkBufferImageCopy2* regions2, string command)
    {
        if (count != 0 && regions == null && regions2 == null) return Fatal($"{command}: {count} regions without their array");
        if (!TryImageShape(image, out var shape)) return true;
        for (uint i = 0; i < count; i++)
        {
            string? why = regions != null
                ? BufferImageRegionError(buffer, shape, regions[i].bufferOffset, regions[i].bufferRowLength, regions[i].bufferImageHeight,
                    regions[i].imageSubresource, regions[i].imageOffset, regions[i].imageExtent, command, i)
                : BufferImageRegionError(buffer, shape, regions2[i].bufferOffset, regions2[i].bufferRowLength, regions2[i].bufferImageHeight,
                    regions2[i].imageSubresource, regions2[i].imageOffset, regions2[i].imageExtent, command, i);
            if (why == "") return false; // InBuffer ended the context with its own line
            if (why != null) return Fatal($"{command}: {why}");
        }
        return true;
    }

    public bool vkCmdCopyBufferToImage(Dispatcher x, vkCmdCopyBufferToImage.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCmdCopyBufferToImage == null) return Fatal("vkCmdCopyBufferToImage: no device function");
        if (a->regionCount != 0 && a->pRegions == null) return Fatal("vkCmdCopyBufferToImage without regions");
        if (!BufferImageCopyFits(a->srcBuffer, a->dstImage, a->regionCount, a->pRegions, null, "vkCmdCopyBufferToImage")) return false;
        fns->vkCmdCopyBufferToImage(a->commandBuffer, a->srcBuffer, a->dstImage, a->dstImageLayout, a->regionCount, a->pRegions);
        return true;
    }

    public bool vkCmdCopyImageToBuffer(Dispatcher x, vkCmdCopyImageToBuffer.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCmdCopyImageToBuffer == null) return Fatal("vkCmdCopyImageToBuffer: no device function");
        if (a->regionCount != 0 && a->pRegions == null) return Fatal("vkCmdCopyImageToBuffer without regions");
        if (!BufferImageCopyFits(a->dstBuffer, a->srcImage, a->regionCount, a->pRegions, null, "vkCmdCopyImageToBuffer")) return false;
        fns->vkCmdCopyImageToBuffer(a->commandBuffer, a->srcImage, a->srcImageLayout, a->dstBuffer, a->regionCount, a->pRegions);
        return true;
    }

    public bool vkCmdCopyBufferToImage2(Dispatcher x, vkCmdCopyBufferToImage2.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCmdCopyBufferToImage2 == null) return Fatal("vkCmdCopyBufferToImage2: no device function");
        var info = a->pCopyBufferToImageInfo;
        if (info == null || (info->regionCount != 0 && info->pRegions == null)) return Fatal("vkCmdCopyBufferToImage2 without a copy info or regions");
        if (!BufferImageCopyFits(info->srcBuffer, info->dstImage, info->regionCount, null, info->pRegions, "vkCmdCopyBufferToImage2")) return false;
        fns->vkCmdCopyBufferToImage2(a->commandBuffer, info);
        return true;
    }

    public bool vkCmdCopyImageToBuffer2(Dispatcher x, vkCmdCopyImageToBuffer2.Args* a)
    {
        var fns = x.DeviceFunctions;
        if (fns == null || fns->vkCmdCopyImageToBuffer2 == null) return Fatal("vkCmdCopyImageToBuffer2: no device function");
        var info = a->pCopyImageToBufferInfo;
        if (info == null || (info->regionCount != 0 && info->pRegions == null)) return Fatal("vkCmdCopyImageToBuffer2 without a copy info or regions");
        if (!BufferImageCopyFits(info->dstBuffer, info->srcImage, info->regionCount, null, info->pRegions, "vkCmdCopyImageToBuffer2")) return false;
        fns->vkCmdCopyImageToBuffer2(a->commandBuffer, info);
        return true;
    }
}
