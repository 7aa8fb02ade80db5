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

    internal partial bool vkCreateImageViewCheck(Dispatcher x, vkCreateImageView.Args* a)
    {
        if (a->pCreateInfo == null || a->pView == null) return Fatal("vkCreateImageView without a create info or a view id");
        if (TryImageShape(a->pCreateInfo->image, out var shape) && ImageViewError(a->pCreateInfo, shape) is { } why)
            return Fatal($"vkCreateImageView: {why}");
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

    internal partial bool vkCmdCopyBufferToImageCheck(Dispatcher x, vkCmdCopyBufferToImage.Args* a)
    {
        if (a->regionCount != 0 && a->pRegions == null) return Fatal("vkCmdCopyBufferToImage without regions");
        if (!BufferImageCopyFits(a->srcBuffer, a->dstImage, a->regionCount, a->pRegions, null, "vkCmdCopyBufferToImage")) return false;
        return true;
    }

    internal partial bool vkCmdCopyImageToBufferCheck(Dispatcher x, vkCmdCopyImageToBuffer.Args* a)
    {
        if (a->regionCount != 0 && a->pRegions == null) return Fatal("vkCmdCopyImageToBuffer without regions");
        if (!BufferImageCopyFits(a->dstBuffer, a->srcImage, a->regionCount, a->pRegions, null, "vkCmdCopyImageToBuffer")) return false;
        return true;
    }

    internal partial bool vkCmdCopyBufferToImage2Check(Dispatcher x, vkCmdCopyBufferToImage2.Args* a)
    {
        var info = a->pCopyBufferToImageInfo;
        if (info == null || (info->regionCount != 0 && info->pRegions == null)) return Fatal("vkCmdCopyBufferToImage2 without a copy info or regions");
        if (!BufferImageCopyFits(info->srcBuffer, info->dstImage, info->regionCount, null, info->pRegions, "vkCmdCopyBufferToImage2")) return false;
        return true;
    }

    internal partial bool vkCmdCopyImageToBuffer2Check(Dispatcher x, vkCmdCopyImageToBuffer2.Args* a)
    {
        var info = a->pCopyImageToBufferInfo;
        if (info == null || (info->regionCount != 0 && info->pRegions == null)) return Fatal("vkCmdCopyImageToBuffer2 without a copy info or regions");
        if (!BufferImageCopyFits(info->dstBuffer, info->srcImage, info->regionCount, null, info->pRegions, "vkCmdCopyImageToBuffer2")) return false;
        return true;
    }
}

/// <summary>
/// Image-to-image commands a driver runs on the regions it is given: vkCmdCopyImage, vkCmdBlitImage,
/// vkCmdResolveImage (and their <c>2</c> forms), vkCmdClearColorImage and
/// vkCmdClearDepthStencilImage. Each region or range is checked against the images' create infos
/// as the spec's valid-usage rules say (levels and layers the image has, aspects of its format,
/// offsets and extents inside the level; samples as the command needs). Images this host did not
/// create are left to the driver.
/// </summary>
internal sealed unsafe partial class Handlers
{
    /// <summary>A level, layers and aspects of <paramref name="image"/>; the level's size in whole texel blocks of the format. Null when valid.</summary>
    static string? LayersError(ImageShape image, VkImageSubresourceLayers sub, bool oneAspect, out uint w, out uint h, out uint d, out int bw, out int bh, out int bd)
    {
        w = h = d = 0;
        bw = bh = bd = 1;
        if (sub.mipLevel >= image.MipLevels) return $"mip level {sub.mipLevel} of an image of {image.MipLevels}";
        uint layers = sub.layerCount == RemainingLayers ? (sub.baseArrayLayer < image.Layers ? image.Layers - sub.baseArrayLayer : 0) : sub.layerCount;
        if (layers == 0 || sub.baseArrayLayer >= image.Layers || layers > image.Layers - sub.baseArrayLayer)
            return $"layers {sub.baseArrayLayer}+{sub.layerCount} of an image of {image.Layers}";
        uint aspects = FormatAspects(image.Format);
        if (sub.aspectMask == 0 || (aspects != 0 && (sub.aspectMask & ~aspects) != 0)) return $"aspect mask 0x{sub.aspectMask:x} on {image.Format}";
        if (oneAspect && (sub.aspectMask & (sub.aspectMask - 1)) != 0) return $"aspect mask 0x{sub.aspectMask:x}: more than one aspect";
        if (oneAspect && VkFormatInfo.TryGetCopyBlock(image.Format, sub.aspectMask, out _, out bw, out bh, out bd)) { }
        else { bw = bh = bd = 1; }
        w = RoundUp(MipSide(image.Extent.width, sub.mipLevel), (uint)bw);
        h = RoundUp(MipSide(image.Extent.height, sub.mipLevel), (uint)bh);
        d = RoundUp(MipSide(image.Extent.depth, sub.mipLevel), (uint)bd);
        return null;
    }

    static uint RoundUp(uint v, uint block) => block <= 1 ? v : (uint)Math.Min(uint.MaxValue, ((ulong)v + block - 1) / block * block);

    /// <summary>offset + extent inside a level of w x h x d texels. Null when inside.</summary>
    static string? BoxError(VkOffset3D o, VkExtent3D e, uint w, uint h, uint d, string side)
    {
        if (e.width == 0 || e.height == 0 || e.depth == 0) return $"{side}: extent {e.width}x{e.height}x{e.depth} has a zero side";
        if (o.x < 0 || o.y < 0 || o.z < 0 || (ulong)(uint)o.x + e.width > w || (ulong)(uint)o.y + e.height > h || (ulong)(uint)o.z + e.depth > d)
            return $"{side}: offset ({o.x}, {o.y}, {o.z}) extent {e.width}x{e.height}x{e.depth} is outside the level ({w}x{h}x{d})";
        return null;
    }

    /// <summary>One vkCmdCopyImage / vkCmdResolveImage region (resolve: a multisampled source, a single-sampled destination). Null when valid.</summary>
    internal static string? ImageToImageError(ImageShape src, ImageShape dst, VkImageSubresourceLayers srcSub, VkOffset3D srcOffset,
        VkImageSubresourceLayers dstSub, VkOffset3D dstOffset, VkExtent3D extent, bool resolve)
    {
        if (resolve ? src.Samples == 1 || dst.Samples != 1 : src.Samples != dst.Samples) return $"samples {src.Samples} to {dst.Samples}";
        if (LayersError(src, srcSub, !resolve, out uint sw, out uint sh, out uint sd, out int sbw, out int sbh, out int sbd) is { } s) return $"source: {s}";
        if (LayersError(dst, dstSub, !resolve, out uint dw, out uint dh, out uint dd, out int dbw, out int dbh, out int dbd) is { } d) return $"destination: {d}";
        // Between a 3D image and a 2D one (maintenance1), the 2D side's layers are the 3D side's
        // depth: extent.depth must be that layer count, and the 2D side's box is one texel deep.
        bool src3D = src.Type == VkImageType.VK_IMAGE_TYPE_3D, dst3D = dst.Type == VkImageType.VK_IMAGE_TYPE_3D;
        if (src3D != dst3D)
        {
            var flat = src3D ? dstSub : srcSub;
            uint layers = flat.layerCount == RemainingLayers ? (src3D ? dst : src).Layers - flat.baseArrayLayer : flat.layerCount;
            if (extent.depth != layers) return $"a copy between 3D and 2D images of depth {extent.depth} over {layers} layers";
        }
        var srcBox = extent;
        if (!src3D && dst3D) srcBox.depth = 1;
        if (BoxError(srcOffset, srcBox, sw, sh, sd, "source") is { } sb) return sb;
        // The destination's extent in its own texels (a copy between compressed and uncompressed
        // formats counts blocks of the source as texels of the destination, and back).
        var dstExtent = new VkExtent3D
        {
            width = (uint)Math.Min(uint.MaxValue, ((ulong)extent.width + (ulong)sbw - 1) / (ulong)sbw * (ulong)dbw),
            height = (uint)Math.Min(uint.MaxValue, ((ulong)extent.height + (ulong)sbh - 1) / (ulong)sbh * (ulong)dbh),
            depth = (uint)Math.Min(uint.MaxValue, ((ulong)extent.depth + (ulong)sbd - 1) / (ulong)sbd * (ulong)dbd),
        };
        if (src3D && !dst3D) dstExtent.depth = 1;
        return BoxError(dstOffset, dstExtent, dw, dh, dd, "destination");
    }

    /// <summary>One vkCmdBlitImage region: single-sampled images, both corners of each box inside its level. Null when valid.</summary>
    internal static string? BlitError(ImageShape src, ImageShape dst, VkImageSubresourceLayers srcSub, VkOffset3D_Array2 srcOffsets,
        VkImageSubresourceLayers dstSub, VkOffset3D_Array2 dstOffsets)
    {
        if (src.Samples != 1 || dst.Samples != 1) return $"a blit with {src.Samples} and {dst.Samples} samples";
        if (LayersError(src, srcSub, false, out uint sw, out uint sh, out uint sd, out _, out _, out _) is { } s) return $"source: {s}";
        if (LayersError(dst, dstSub, false, out uint dw, out uint dh, out uint dd, out _, out _, out _) is { } d) return $"destination: {d}";
        for (int i = 0; i < 2; i++)
        {
            VkOffset3D so = srcOffsets[i], dstO = dstOffsets[i];
            if (so.x < 0 || so.y < 0 || so.z < 0 || (uint)so.x > sw || (uint)so.y > sh || (uint)so.z > sd)
                return $"source corner {i} ({so.x}, {so.y}, {so.z}) is outside the level ({sw}x{sh}x{sd})";
            if (dstO.x < 0 || dstO.y < 0 || dstO.z < 0 || (uint)dstO.x > dw || (uint)dstO.y > dh || (uint)dstO.z > dd)
                return $"destination corner {i} ({dstO.x}, {dstO.y}, {dstO.z}) is outside the level ({dw}x{dh}x{dd})";
        }
        return null;
    }

    /// <summary>One range of a clear: aspects of the format (colour for a colour clear), levels and layers the image has. Null when valid.</summary>
    internal static string? ClearRangeError(ImageShape image, VkImageSubresourceRange r, bool color)
    {
        uint aspects = FormatAspects(image.Format);
        if (color ? r.aspectMask != AspectColor : r.aspectMask == 0 || (r.aspectMask & ~(AspectDepth | AspectStencil)) != 0 || (aspects != 0 && (r.aspectMask & ~aspects) != 0))
            return $"aspect mask 0x{r.aspectMask:x} on {image.Format}";
        if (r.baseMipLevel >= image.MipLevels) return $"base mip level {r.baseMipLevel} of an image of {image.MipLevels}";
        uint levels = r.levelCount == RemainingLevels ? image.MipLevels - r.baseMipLevel : r.levelCount;
        if (levels == 0 || levels > image.MipLevels - r.baseMipLevel) return $"mip levels {r.baseMipLevel}+{r.levelCount} of an image of {image.MipLevels}";
        if (r.baseArrayLayer >= image.Layers) return $"base layer {r.baseArrayLayer} of an image of {image.Layers}";
        uint layers = r.layerCount == RemainingLayers ? image.Layers - r.baseArrayLayer : r.layerCount;
        if (layers == 0 || layers > image.Layers - r.baseArrayLayer) return $"layers {r.baseArrayLayer}+{r.layerCount} of an image of {image.Layers}";
        return null;
    }

    bool Shapes(ulong src, ulong dst, out ImageShape s, out ImageShape d)
    {
        d = default;
        return TryImageShape(src, out s) & TryImageShape(dst, out d);
    }

    internal partial bool vkCmdCopyImageCheck(Dispatcher x, vkCmdCopyImage.Args* a)
    {
        if (a->regionCount != 0 && a->pRegions == null) return Fatal("vkCmdCopyImage without regions");
        if (Shapes(a->srcImage, a->dstImage, out var s, out var d))
            for (uint i = 0; i < a->regionCount; i++)
            {
                var r = &a->pRegions[i];
                if (ImageToImageError(s, d, r->srcSubresource, r->srcOffset, r->dstSubresource, r->dstOffset, r->extent, false) is { } why)
                    return Fatal($"vkCmdCopyImage: region {i}: {why}");
            }
        return true;
    }

    internal partial bool vkCmdCopyImage2Check(Dispatcher x, vkCmdCopyImage2.Args* a)
    {
        var info = a->pCopyImageInfo;
        if (info == null || (info->regionCount != 0 && info->pRegions == null)) return Fatal("vkCmdCopyImage2 without a copy info or regions");
        if (Shapes(info->srcImage, info->dstImage, out var s, out var d))
            for (uint i = 0; i < info->regionCount; i++)
            {
                var r = &info->pRegions[i];
                if (ImageToImageError(s, d, r->srcSubresource, r->srcOffset, r->dstSubresource, r->dstOffset, r->extent, false) is { } why)
                    return Fatal($"vkCmdCopyImage2: region {i}: {why}");
            }
        return true;
    }

    internal partial bool vkCmdResolveImageCheck(Dispatcher x, vkCmdResolveImage.Args* a)
    {
        if (a->regionCount != 0 && a->pRegions == null) return Fatal("vkCmdResolveImage without regions");
        if (Shapes(a->srcImage, a->dstImage, out var s, out var d))
            for (uint i = 0; i < a->regionCount; i++)
            {
                var r = &a->pRegions[i];
                if (ImageToImageError(s, d, r->srcSubresource, r->srcOffset, r->dstSubresource, r->dstOffset, r->extent, true) is { } why)
                    return Fatal($"vkCmdResolveImage: region {i}: {why}");
            }
        return true;
    }

    internal partial bool vkCmdResolveImage2Check(Dispatcher x, vkCmdResolveImage2.Args* a)
    {
        var info = a->pResolveImageInfo;
        if (info == null || (info->regionCount != 0 && info->pRegions == null)) return Fatal("vkCmdResolveImage2 without a resolve info or regions");
        if (Shapes(info->srcImage, info->dstImage, out var s, out var d))
            for (uint i = 0; i < info->regionCount; i++)
            {
                var r = &info->pRegions[i];
                if (ImageToImageError(s, d, r->srcSubresource, r->srcOffset, r->dstSubresource, r->dstOffset, r->extent, true) is { } why)
                    return Fatal($"vkCmdResolveImage2: region {i}: {why}");
            }
        return true;
    }

    internal partial bool vkCmdBlitImageCheck(Dispatcher x, vkCmdBlitImage.Args* a)
    {
        if (a->regionCount != 0 && a->pRegions == null) return Fatal("vkCmdBlitImage without regions");
        if (Shapes(a->srcImage, a->dstImage, out var s, out var d))
            for (uint i = 0; i < a->regionCount; i++)
            {
                var r = &a->pRegions[i];
                if (BlitError(s, d, r->srcSubresource, r->srcOffsets, r->dstSubresource, r->dstOffsets) is { } why)
                    return Fatal($"vkCmdBlitImage: region {i}: {why}");
            }
        return true;
    }

    internal partial bool vkCmdBlitImage2Check(Dispatcher x, vkCmdBlitImage2.Args* a)
    {
        var info = a->pBlitImageInfo;
        if (info == null || (info->regionCount != 0 && info->pRegions == null)) return Fatal("vkCmdBlitImage2 without a blit info or regions");
        if (Shapes(info->srcImage, info->dstImage, out var s, out var d))
            for (uint i = 0; i < info->regionCount; i++)
            {
                var r = &info->pRegions[i];
                if (BlitError(s, d, r->srcSubresource, r->srcOffsets, r->dstSubresource, r->dstOffsets) is { } why)
                    return Fatal($"vkCmdBlitImage2: region {i}: {why}");
            }
        return true;
    }

    internal partial bool vkCmdClearColorImageCheck(Dispatcher x, vkCmdClearColorImage.Args* a)
    {
        if (a->rangeCount != 0 && a->pRanges == null) return Fatal("vkCmdClearColorImage without ranges");
        if (TryImageShape(a->image, out var shape))
            for (uint i = 0; i < a->rangeCount; i++)
                if (ClearRangeError(shape, a->pRanges[i], true) is { } why) return Fatal($"vkCmdClearColorImage: range {i}: {why}");
        return true;
    }

    internal partial bool vkCmdClearDepthStencilImageCheck(Dispatcher x, vkCmdClearDepthStencilImage.Args* a)
    {
        if (a->rangeCount != 0 && a->pRanges == null) return Fatal("vkCmdClearDepthStencilImage without ranges");
        if (TryImageShape(a->image, out var shape))
            for (uint i = 0; i < a->rangeCount; i++)
                if (ClearRangeError(shape, a->pRanges[i], false) is { } why) return Fatal($"vkCmdClearDepthStencilImage: range {i}: {why}");
        return true;
    }
}
