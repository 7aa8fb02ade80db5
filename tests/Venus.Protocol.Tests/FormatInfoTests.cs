using Venus.Protocol;
using Venus.Protocol.Vulkan;

namespace Venus.Protocol.Tests;

/// <summary>
/// <see cref="VkFormatInfo"/> (generated from vk.xml's formats) and the host-copy region sizes both
/// halves compute with it: the host refuses a region the guest's bytes do not cover, so these sizes
/// are what stands between a hostile guest and the driver reading past its data.
/// </summary>
public sealed class FormatInfoTests
{
    private const uint Color = 0x1, Depth = 0x2, Stencil = 0x4, Plane1 = 0x20;

    [Theory]
    [InlineData(VkFormat.VK_FORMAT_R8G8B8A8_UNORM, Color, 0u, 0u, 64u, 32u, 1u, 1u, 64ul * 32 * 4)]
    [InlineData(VkFormat.VK_FORMAT_R8G8B8A8_UNORM, Color, 80u, 0u, 64u, 32u, 1u, 1u, (31ul * 80 + 64) * 4)]
    [InlineData(VkFormat.VK_FORMAT_R8G8B8A8_UNORM, Color, 0u, 40u, 64u, 32u, 1u, 3u, ((2ul * 40 + 31) * 64 + 64) * 4)]
    [InlineData(VkFormat.VK_FORMAT_R16G16B16A16_SFLOAT, Color, 0u, 0u, 3u, 3u, 3u, 1u, 27ul * 8)]
    [InlineData(VkFormat.VK_FORMAT_BC1_RGB_UNORM_BLOCK, Color, 0u, 0u, 10u, 10u, 1u, 1u, 3ul * 3 * 8)]
    [InlineData(VkFormat.VK_FORMAT_ASTC_8x8_UNORM_BLOCK, Color, 0u, 0u, 17u, 9u, 1u, 1u, 3ul * 2 * 16)]
    [InlineData(VkFormat.VK_FORMAT_D24_UNORM_S8_UINT, Depth, 0u, 0u, 5u, 5u, 1u, 1u, 25ul * 4)]
    [InlineData(VkFormat.VK_FORMAT_D24_UNORM_S8_UINT, Stencil, 0u, 0u, 5u, 5u, 1u, 1u, 25ul)]
    [InlineData(VkFormat.VK_FORMAT_D16_UNORM, Depth, 0u, 0u, 4u, 4u, 1u, 1u, 32ul)]
    [InlineData(VkFormat.VK_FORMAT_D32_SFLOAT_S8_UINT, Depth, 0u, 0u, 4u, 4u, 1u, 1u, 64ul)]
    [InlineData(VkFormat.VK_FORMAT_G8_B8R8_2PLANE_420_UNORM, Plane1, 0u, 0u, 8u, 4u, 1u, 1u, 8ul * 4 * 2)]
    public void RegionSizesFollowTheTexelBlocks(VkFormat format, uint aspect, uint rowLength, uint imageHeight,
        uint width, uint height, uint depth, uint layers, ulong expected)
    {
        Assert.True(VkFormatInfo.TryGetCopyBytes(format, aspect, rowLength, imageHeight, width, height, depth, layers, out ulong bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData(VkFormat.VK_FORMAT_UNDEFINED, Color, 0u, 4u, 4u)]                   // no block
    [InlineData((VkFormat)123456789, Color, 0u, 4u, 4u)]                             // not a format
    [InlineData(VkFormat.VK_FORMAT_R8G8B8A8_UNORM, Depth, 0u, 4u, 4u)]              // an aspect the format lacks
    [InlineData(VkFormat.VK_FORMAT_D24_UNORM_S8_UINT, Depth | Stencil, 0u, 4u, 4u)] // two aspects at once
    [InlineData(VkFormat.VK_FORMAT_D24_UNORM_S8_UINT, Color, 0u, 4u, 4u)]           // colour of a depth format
    [InlineData(VkFormat.VK_FORMAT_G8_B8R8_2PLANE_420_UNORM, Color, 0u, 4u, 4u)]    // colour of a planar format
    [InlineData(VkFormat.VK_FORMAT_R8G8B8A8_UNORM, Color, 3u, 4u, 4u)]              // row length below the width
    [InlineData(VkFormat.VK_FORMAT_R8G8B8A8_UNORM, Color, 0u, 0u, 4u)]              // zero width
    public void RegionsWithoutASizeAreRefused(VkFormat format, uint aspect, uint rowLength, uint width, uint height)
    {
        Assert.False(VkFormatInfo.TryGetCopyBytes(format, aspect, rowLength, 0, width, height, 1, 1, out _));
    }

    [Fact]
    public void SizesBeyond64BitsAreRefused()
    {
        Assert.False(VkFormatInfo.TryGetCopyBytes(VkFormat.VK_FORMAT_R32G32B32A32_SFLOAT, Color, uint.MaxValue, uint.MaxValue,
            uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue, out _));
    }

    [Fact]
    public void EveryFormatOfVkXmlHasABlock()
    {
        int described = Enum.GetValues<VkFormat>().Count(f => VkFormatInfo.TryGet(f, out _));
        Assert.True(described >= 240, $"only {described} formats described");
        Assert.False(VkFormatInfo.TryGet(VkFormat.VK_FORMAT_UNDEFINED, out _));
    }
}
