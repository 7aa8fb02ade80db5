using System.Runtime.InteropServices;
using Venus.GuestIcd.Generated;
using Venus.Protocol;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// VK_EXT_host_image_copy / Vulkan 1.4 host copies between app memory and images, through
/// VK_MESA_venus_protocol spec 3's host copies: the app's bytes travel inline in
/// vkCopyMemoryToImageMESA and come back in vkCopyImageToMemoryMESA's reply, and the host's driver
/// does the copy. Regions are sized with vk.xml's texel blocks (<see cref="VkFormatInfo"/>), the
/// same rule the host checks them with; a region larger than <see cref="ChunkBytes"/> goes as
/// several calls of whole block rows, so no single command exceeds what the host decodes.
/// </summary>
internal static unsafe class HostImageCopy
{
    /// <summary>The most bytes one host copy command carries.</summary>
    public const ulong ChunkBytes = 16u << 20;

    private const uint MemcpyFlag = 0x1; // VK_HOST_IMAGE_COPY_MEMCPY_BIT
    private const uint RemainingLayers = 0xffffffffu;

    /// <summary>Whether the host does spec 3's host copies (else host image copy is not offered).</summary>
    public static bool HostSupports(GuestInstance instance) => instance.Capset.VkMesaVenusProtocolSpecVersion >= 3;

    public static VkResult ToImage(Device dev, VkCopyMemoryToImageInfo* info) =>
        EachRegion(dev, info->dstImage, info->flags, info->regionCount, info->pRegions,
            (in Region c, byte* p, ulong bytes, ImageShape shape) => SendToImage(dev, info, in c, p, bytes));

    // VkImageToMemoryCopy has VkMemoryToImageCopy's layout member for member (host pointer, row
    // length, image height, subresource, offset, extent), so both directions walk regions alike.
    public static VkResult FromImage(Device dev, VkCopyImageToMemoryInfo* info) =>
        EachRegion(dev, info->srcImage, info->flags, info->regionCount, (VkMemoryToImageCopy*)info->pRegions,
            (in Region c, byte* p, ulong bytes, ImageShape shape) => ReceiveFromImage(dev, info, shape, (info->flags & MemcpyFlag) != 0, in c, p, bytes));

    private static VkResult EachRegion(Device dev, ulong image, uint flags, uint count, VkMemoryToImageCopy* regions, ChunkAction action)
    {
        ImageShape shape = Shape(dev, image);
        bool memcpy = (flags & MemcpyFlag) != 0;
        for (uint i = 0; i < count; i++)
        {
            VkMemoryToImageCopy r = regions[i];
            var region = new Region(r.imageSubresource, r.imageOffset, r.imageExtent, r.memoryRowLength, r.memoryImageHeight);
            VkResult result = ForEachChunk(dev, image, shape, memcpy, region, (byte*)r.pHostPointer, action);
            if (result != VkResult.VK_SUCCESS)
                return result;
        }
        return VkResult.VK_SUCCESS;
    }

    private readonly record struct Region(VkImageSubresourceLayers Subresource, VkOffset3D Offset, VkExtent3D Extent, uint RowLength, uint ImageHeight);

    private delegate VkResult ChunkAction(in Region chunk, byte* memory, ulong bytes, ImageShape shape);

    private static ImageShape Shape(Device dev, ulong image) =>
        dev.Images.TryGetValue(image, out ImageShape s) ? s
            : throw new VulkanResultException(VkResult.VK_ERROR_UNKNOWN, $"host image copy: unknown image 0x{image:x}");

    /// <summary>Runs <paramref name="action"/> on the region whole, or on pieces of whole block rows when it is larger than <see cref="ChunkBytes"/>.</summary>
    private static VkResult ForEachChunk(Device dev, ulong image, ImageShape shape, bool memcpy, Region r, byte* memory, ChunkAction action)
    {
        VkImageSubresourceLayers sub = r.Subresource;
        if (sub.layerCount == RemainingLayers)
        {
            if (sub.baseArrayLayer >= shape.ArrayLayers)
                throw new VulkanResultException(VkResult.VK_ERROR_UNKNOWN, $"host image copy: base layer {sub.baseArrayLayer} of an image with {shape.ArrayLayers}");
            sub.layerCount = shape.ArrayLayers - sub.baseArrayLayer;
            r = r with { Subresource = sub };
        }
        if (memcpy)
        {
            ulong whole = MemcpyBytes(dev, image, sub);
            if (whole > ChunkBytes)
                throw new VulkanResultException(VkResult.VK_ERROR_OUT_OF_HOST_MEMORY,
                    $"host image copy: a MEMCPY region of {whole} bytes is above the {ChunkBytes} one command carries");
            return action(in r, memory, whole, shape);
        }
        ulong bytes = CopyBytes(shape.Format, in r);
        if (bytes <= ChunkBytes)
            return action(in r, memory, bytes, shape);

        VkFormatInfo.TryGetCopyBlock(shape.Format, sub.aspectMask, out int size, out int bw, out int bh, out int bd);
        uint rowTexels = r.RowLength == 0 ? r.Extent.width : r.RowLength;
        ulong rowBytes = Blocks(rowTexels, bw) * (ulong)size;
        ulong sliceRows = Blocks(r.ImageHeight == 0 ? r.Extent.height : r.ImageHeight, bh);
        ulong rows = Blocks(r.Extent.height, bh), slices = Blocks(r.Extent.depth, bd);
        ulong rowsPerChunk = Math.Max(1, ChunkBytes / rowBytes);
        for (uint layer = 0; layer < sub.layerCount; layer++)
            for (ulong z = 0; z < slices; z++)
                for (ulong y = 0; y < rows; y += rowsPerChunk)
                {
                    ulong n = Math.Min(rowsPerChunk, rows - y);
                    var chunk = new Region(
                        sub with { baseArrayLayer = sub.baseArrayLayer + layer, layerCount = 1 },
                        new VkOffset3D { x = r.Offset.x, y = r.Offset.y + (int)(y * (ulong)bh), z = r.Offset.z + (int)(z * (ulong)bd) },
                        new VkExtent3D
                        {
                            width = r.Extent.width,
                            height = (uint)Math.Min(n * (ulong)bh, r.Extent.height - y * (ulong)bh),
                            depth = (uint)Math.Min((ulong)bd, r.Extent.depth - z * (ulong)bd),
                        },
                        rowTexels, 0);
                    byte* p = memory + (((ulong)layer * slices + z) * sliceRows + y) * rowBytes;
                    VkResult result = action(in chunk, p, CopyBytes(shape.Format, in chunk), shape);
                    if (result != VkResult.VK_SUCCESS)
                        return result;
                }
        return VkResult.VK_SUCCESS;
    }

    private static ulong CopyBytes(VkFormat format, in Region r) =>
        VkFormatInfo.TryGetCopyBytes(format, r.Subresource.aspectMask, r.RowLength, r.ImageHeight,
            r.Extent.width, r.Extent.height, r.Extent.depth, r.Subresource.layerCount, out ulong bytes) ? bytes
            : throw new VulkanResultException(VkResult.VK_ERROR_UNKNOWN,
                $"host image copy: a region of {format} (aspect 0x{r.Subresource.aspectMask:x}, extent {r.Extent.width}x{r.Extent.height}x{r.Extent.depth}, " +
                $"row length {r.RowLength}, image height {r.ImageHeight}) has no size");

    /// <summary>A MEMCPY region's bytes: the host's memcpy size of the subresource, once per layer.</summary>
    private static ulong MemcpyBytes(Device dev, ulong image, VkImageSubresourceLayers sub)
    {
        var memcpySize = new VkSubresourceHostMemcpySize { sType = VkSubresourceHostMemcpySize.SType };
        var layout = new VkSubresourceLayout2 { sType = VkSubresourceLayout2.SType, pNext = &memcpySize };
        var subresource = new VkImageSubresource2
        {
            sType = VkImageSubresource2.SType,
            imageSubresource = new VkImageSubresource { aspectMask = sub.aspectMask, mipLevel = sub.mipLevel, arrayLayer = sub.baseArrayLayer },
        };
        Calls.vkGetImageSubresourceLayout2(dev.Ring, dev.Handle, image, &subresource, &layout);
        return checked(memcpySize.size * sub.layerCount);
    }

    private static VkResult SendToImage(Device dev, VkCopyMemoryToImageInfo* info, in Region c, byte* memory, ulong bytes)
    {
        var region = new VkMemoryToImageCopyMESA
        {
            sType = VkMemoryToImageCopyMESA.SType,
            dataSize = (nuint)bytes,
            pData = memory,
            memoryRowLength = c.RowLength,
            memoryImageHeight = c.ImageHeight,
            imageSubresource = c.Subresource,
            imageOffset = c.Offset,
            imageExtent = c.Extent,
        };
        var copy = new VkCopyMemoryToImageInfoMESA
        {
            sType = VkCopyMemoryToImageInfoMESA.SType,
            flags = info->flags,
            dstImage = info->dstImage,
            dstImageLayout = info->dstImageLayout,
            regionCount = 1,
            pRegions = &region,
        };
        return Calls.vkCopyMemoryToImageMESA(dev.Ring, dev.Handle, &copy);
    }

    private static VkResult ReceiveFromImage(Device dev, VkCopyImageToMemoryInfo* info, ImageShape shape, bool memcpy, in Region c, byte* memory, ulong bytes)
    {
        var copy = new VkCopyImageToMemoryInfoMESA
        {
            sType = VkCopyImageToMemoryInfoMESA.SType,
            flags = info->flags,
            srcImage = info->srcImage,
            srcImageLayout = info->srcImageLayout,
            memoryRowLength = c.RowLength,
            memoryImageHeight = c.ImageHeight,
            imageSubresource = c.Subresource,
            imageOffset = c.Offset,
            imageExtent = c.Extent,
        };
        // Rows or slices with gaps between them: the host's bytes land in a bounce buffer and only
        // the texels go into the app's memory, so the gaps keep what the app had there.
        bool gaps = !memcpy && ((c.RowLength != 0 && c.RowLength != c.Extent.width) || (c.ImageHeight != 0 && c.ImageHeight != c.Extent.height));
        if (!gaps)
            return Calls.vkCopyImageToMemoryMESA(dev.Ring, dev.Handle, &copy, (nuint)bytes, memory);
        byte* bounce = (byte*)NativeMemory.Alloc((nuint)bytes);
        try
        {
            VkResult r = Calls.vkCopyImageToMemoryMESA(dev.Ring, dev.Handle, &copy, (nuint)bytes, bounce);
            if (r == VkResult.VK_SUCCESS)
                ScatterTexels(shape.Format, in c, bounce, memory);
            return r;
        }
        finally
        {
            NativeMemory.Free(bounce);
        }
    }

    /// <summary>Copies only the texel blocks of a region laid out with row and slice pitches from <paramref name="src"/> to <paramref name="dst"/>.</summary>
    private static void ScatterTexels(VkFormat format, in Region c, byte* src, byte* dst)
    {
        VkFormatInfo.TryGetCopyBlock(format, c.Subresource.aspectMask, out int size, out int bw, out int bh, out int bd);
        ulong rowBytes = Blocks(c.RowLength == 0 ? c.Extent.width : c.RowLength, bw) * (ulong)size;
        ulong sliceRows = Blocks(c.ImageHeight == 0 ? c.Extent.height : c.ImageHeight, bh);
        ulong texelBytes = Blocks(c.Extent.width, bw) * (ulong)size;
        ulong rows = Blocks(c.Extent.height, bh), slices = Blocks(c.Extent.depth, bd) * c.Subresource.layerCount;
        for (ulong s = 0; s < slices; s++)
            for (ulong y = 0; y < rows; y++)
            {
                ulong at = (s * sliceRows + y) * rowBytes;
                Buffer.MemoryCopy(src + at, dst + at, texelBytes, texelBytes);
            }
    }

    private static ulong Blocks(uint texels, int block) => ((ulong)texels + (ulong)block - 1) / (ulong)block;
}
