using Venus.Protocol.Vulkan;

namespace Venus.Protocol;

/// <summary>
/// A format's texel block as vk.xml describes it (<see cref="VkFormatInfo.TryGet"/>): bytes and
/// extent of one block, the bytes of a depth or stencil texel in a copy, and the plane formats.
/// </summary>
public readonly struct FormatBlock(int size, int width, int height, int depth, int depthBytes, int stencilBytes, int planeCount,
    VkFormat plane0 = default, VkFormat plane1 = default, VkFormat plane2 = default)
{
    public int Size { get; } = size;
    public int Width { get; } = width;
    public int Height { get; } = height;
    public int Depth { get; } = depth;
    public int DepthBytes { get; } = depthBytes;
    public int StencilBytes { get; } = stencilBytes;
    public int PlaneCount { get; } = planeCount;

    public VkFormat Plane(int index) => index switch { 0 => plane0, 1 => plane1, 2 => plane2, _ => default };
}

public static partial class VkFormatInfo
{
    private const uint AspectColor = 0x1, AspectDepth = 0x2, AspectStencil = 0x4, AspectPlane0 = 0x10, AspectPlane1 = 0x20, AspectPlane2 = 0x40;

    /// <summary>
    /// The block one aspect of <paramref name="format"/> has in host memory during a copy: the
    /// format's own for colour, 2 or 4 bytes per depth texel, 1 per stencil texel, the plane's
    /// compatible format for a plane. False for an unknown format or an aspect it lacks (or more than one aspect).
    /// </summary>
    public static bool TryGetCopyBlock(VkFormat format, uint aspectMask, out int size, out int width, out int height, out int depth)
    {
        size = 0; width = height = depth = 1;
        if (!TryGet(format, out FormatBlock b))
            return false;
        switch (aspectMask)
        {
            case AspectColor when b.PlaneCount == 0 && b.DepthBytes == 0 && b.StencilBytes == 0:
                (size, width, height, depth) = (b.Size, b.Width, b.Height, b.Depth);
                return true;
            case AspectDepth when b.DepthBytes != 0:
                size = b.DepthBytes;
                return true;
            case AspectStencil when b.StencilBytes != 0:
                size = b.StencilBytes;
                return true;
            case AspectPlane0 or AspectPlane1 or AspectPlane2:
            {
                int plane = aspectMask == AspectPlane0 ? 0 : aspectMask == AspectPlane1 ? 1 : 2;
                return plane < b.PlaneCount && TryGetCopyBlock(b.Plane(plane), AspectColor, out size, out width, out height, out depth);
            }
            default:
                return false;
        }
    }

    /// <summary>
    /// Bytes of host memory a host image copy region spans (Vulkan's buffer-image addressing with
    /// host memory in place of the buffer): from the first texel block to the end of the last.
    /// <paramref name="rowLength"/> and <paramref name="imageHeight"/> are in texels, 0 meaning
    /// tightly packed. False for an unknown format or aspect, a zero extent, a row length or image
    /// height below the extent, or a size that does not fit 64 bits.
    /// </summary>
    public static bool TryGetCopyBytes(VkFormat format, uint aspectMask, uint rowLength, uint imageHeight,
        uint width, uint height, uint depth, uint layerCount, out ulong bytes)
    {
        bytes = 0;
        if (!TryGetCopyBlock(format, aspectMask, out int size, out int bw, out int bh, out int bd))
            return false;
        if (width == 0 || height == 0 || depth == 0 || layerCount == 0)
            return false;
        if ((rowLength != 0 && rowLength < width) || (imageHeight != 0 && imageHeight < height))
            return false;
        ulong rowBlocks = Blocks(rowLength == 0 ? width : rowLength, bw);
        ulong sliceRows = Blocks(imageHeight == 0 ? height : imageHeight, bh);
        ulong slices = Blocks(depth, bd) * layerCount;
        try
        {
            ulong lastBlock = checked(((slices - 1) * sliceRows + (Blocks(height, bh) - 1)) * rowBlocks + Blocks(width, bw));
            bytes = checked(lastBlock * (ulong)size);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    private static ulong Blocks(uint texels, int block) => ((ulong)texels + (ulong)block - 1) / (ulong)block;
}
