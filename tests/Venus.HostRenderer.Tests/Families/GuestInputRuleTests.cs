using Venus.HostRenderer.Native;
using Venus.HostRenderer.Tests.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Tests.Families;

/// <summary>
/// Rules the lavapipe fuzz target's findings (fuzz/regressions/lavapipe) added, shown on the fake
/// driver or on the rule itself: image views and buffer-image copies against the image's create
/// info (Families/ImageRanges.cs), SPIR-V and shader stages (Native/SpirvTools.cs,
/// Families/Shaders.cs), and values of enum arrays (the generated decoder).
/// </summary>
public sealed unsafe class GuestInputRuleTests
{
    /// <summary>glslangValidator -V of "#version 450 / layout(local_size_x = 1) in; / void main() {}": valid for vulkan1.0 (spirv-val).</summary>
    static readonly uint[] ComputeMain =
    [
        0x07230203, 0x00010000, 0x0008000b, 0x0000000a, 0x00000000, 0x00020011, 0x00000001, 0x0006000b, 0x00000001, 0x4c534c47,
        0x6474732e, 0x3035342e, 0x00000000, 0x0003000e, 0x00000000, 0x00000001, 0x0005000f, 0x00000005, 0x00000004, 0x6e69616d,
        0x00000000, 0x00060010, 0x00000004, 0x00000011, 0x00000001, 0x00000001, 0x00000001, 0x00030003, 0x00000002, 0x000001c2,
        0x00040005, 0x00000004, 0x6e69616d, 0x00000000, 0x00040047, 0x00000009, 0x0000000b, 0x00000019, 0x00020013, 0x00000002,
        0x00030021, 0x00000003, 0x00000002, 0x00040015, 0x00000006, 0x00000020, 0x00000000, 0x00040017, 0x00000007, 0x00000006,
        0x00000003, 0x0004002b, 0x00000006, 0x00000008, 0x00000001, 0x0006002c, 0x00000007, 0x00000009, 0x00000008, 0x00000008,
        0x00000008, 0x00050036, 0x00000002, 0x00000004, 0x00000000, 0x00000003, 0x000200f8, 0x00000005, 0x000100fd, 0x00010038,
    ];

    static readonly ImageShape Color2D = new(1, VkImageType.VK_IMAGE_TYPE_2D, VkFormat.VK_FORMAT_R8G8B8A8_UNORM,
        new VkExtent3D { width = 128, height = 96, depth = 1 }, 3, 2, 0, 1);

    static VkImageViewCreateInfo View(VkImageViewType type, VkFormat format, uint aspect, uint baseLevel, uint levels, uint baseLayer, uint layers) => new()
    {
        sType = VkImageViewCreateInfo.SType, viewType = type, format = format,
        subresourceRange = new VkImageSubresourceRange { aspectMask = aspect, baseMipLevel = baseLevel, levelCount = levels, baseArrayLayer = baseLayer, layerCount = layers },
    };

    [Fact]
    public void ImageViewsMustFitTheirImage()
    {
        var ok = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_2D_ARRAY, VkFormat.VK_FORMAT_R8G8B8A8_UNORM, 1, 0, uint.MaxValue, 0, 2);
        Assert.Null(Handlers.ImageViewError(&ok, Color2D));
        // The fuzz finding: a colour image viewed with aspect mask 0xf90001 corrupted lavapipe's heap.
        var aspect = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_2D, VkFormat.VK_FORMAT_R8G8B8A8_UNORM, 0xf90001, 0, 1, 0, 1);
        Assert.Contains("aspect mask 0xf90001", Handlers.ImageViewError(&aspect, Color2D));
        var levels = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_2D, VkFormat.VK_FORMAT_R8G8B8A8_UNORM, 1, 3, 1, 0, 1);
        Assert.Contains("base mip level 3", Handlers.ImageViewError(&levels, Color2D));
        var tooMany = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_2D, VkFormat.VK_FORMAT_R8G8B8A8_UNORM, 1, 1, 327752, 0, 1);
        Assert.Contains("mip levels 1+327752", Handlers.ImageViewError(&tooMany, Color2D));
        var twoLayers = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_2D, VkFormat.VK_FORMAT_R8G8B8A8_UNORM, 1, 0, 1, 0, 2);
        Assert.Contains("2 layers in a view of type 1", Handlers.ImageViewError(&twoLayers, Color2D));
        var cube = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_CUBE, VkFormat.VK_FORMAT_R8G8B8A8_UNORM, 1, 0, 1, 0, 1);
        Assert.Contains("view type 3", Handlers.ImageViewError(&cube, Color2D));
        var format = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_2D, VkFormat.VK_FORMAT_R8_USCALED, 1, 0, 1, 0, 1);
        Assert.Contains("without MUTABLE_FORMAT", Handlers.ImageViewError(&format, Color2D));
        var mutable = Color2D with { Flags = 0x8 };
        var sameSize = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_2D, VkFormat.VK_FORMAT_R32_UINT, 1, 0, 1, 0, 1);
        Assert.Null(Handlers.ImageViewError(&sameSize, mutable));
        Assert.Contains("1 bytes a block", Handlers.ImageViewError(&format, mutable));
        var depth = Color2D with { Format = VkFormat.VK_FORMAT_D16_UNORM };
        var stencil = View(VkImageViewType.VK_IMAGE_VIEW_TYPE_2D, VkFormat.VK_FORMAT_D16_UNORM, 4, 0, 1, 0, 1);
        Assert.Contains("aspect mask 0x4", Handlers.ImageViewError(&stencil, depth));
    }

    /// <summary>A 64x64 RGBA8 image, a 16 KiB buffer bound to memory, and a command buffer recording, on the fake driver.</summary>
    static (ulong Device, ulong Image, ulong Buffer, ulong CommandBuffer) CopySetup(FakeDriverHost h)
    {
        (_, _, ulong device) = h.CreateDevice();
        var imageInfo = new VkImageCreateInfo
        {
            sType = VkImageCreateInfo.SType, imageType = VkImageType.VK_IMAGE_TYPE_2D, format = VkFormat.VK_FORMAT_R8G8B8A8_UNORM,
            extent = new VkExtent3D { width = 64, height = 64, depth = 1 }, mipLevels = 1, arrayLayers = 1, samples = VkSampleCountFlagBits.VK_SAMPLE_COUNT_1_BIT,
        };
        ulong image = h.NewId();
        VnEncoder e = h.BeginCommand(vkCreateImage.Size(device, &imageInfo, null, &image));
        vkCreateImage.Encode(ref e, FakeDriverHost.NoReply, device, &imageInfo, null, &image);
        h.Run(FakeDriverHost.Bytes(e));
        var bufferInfo = new VkBufferCreateInfo { sType = VkBufferCreateInfo.SType, size = 16384, usage = 3 };
        ulong buffer = h.NewId();
        e = h.BeginCommand(vkCreateBuffer.Size(device, &bufferInfo, null, &buffer));
        vkCreateBuffer.Encode(ref e, FakeDriverHost.NoReply, device, &bufferInfo, null, &buffer);
        h.Run(FakeDriverHost.Bytes(e));
        var poolInfo = new VkCommandPoolCreateInfo { sType = VkCommandPoolCreateInfo.SType };
        ulong pool = h.NewId();
        e = h.BeginCommand(vkCreateCommandPool.Size(device, &poolInfo, null, &pool));
        vkCreateCommandPool.Encode(ref e, FakeDriverHost.NoReply, device, &poolInfo, null, &pool);
        h.Run(FakeDriverHost.Bytes(e));
        var allocInfo = new VkCommandBufferAllocateInfo { sType = VkCommandBufferAllocateInfo.SType, commandPool = pool, commandBufferCount = 1 };
        ulong commandBuffer = h.NewId();
        e = h.BeginCommand(vkAllocateCommandBuffers.Size(device, &allocInfo, &commandBuffer));
        vkAllocateCommandBuffers.Encode(ref e, FakeDriverHost.NoReply, device, &allocInfo, &commandBuffer);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Null(h.Ctx.FatalReason);
        return (device, image, buffer, commandBuffer);
    }

    static void CopyToImage(FakeDriverHost h, ulong commandBuffer, ulong buffer, ulong image, VkBufferImageCopy region)
    {
        VnEncoder e = h.BeginCommand(vkCmdCopyBufferToImage.Size(commandBuffer, buffer, image, VkImageLayout.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region));
        vkCmdCopyBufferToImage.Encode(ref e, FakeDriverHost.NoReply, commandBuffer, buffer, image, VkImageLayout.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
        h.Run(FakeDriverHost.Bytes(e));
    }

    static VkBufferImageCopy Region(uint aspect, uint layers, int z, uint width, uint depth) => new()
    {
        imageSubresource = new VkImageSubresourceLayers { aspectMask = aspect, layerCount = layers },
        imageOffset = new VkOffset3D { z = z },
        imageExtent = new VkExtent3D { width = width, height = 64, depth = depth },
    };

    [Fact]
    public void BufferImageCopyRegionsMustLieInsideTheImage()
    {
        using var h = new FakeDriverHost();
        var (_, image, buffer, cb) = CopySetup(h);
        CopyToImage(h, cb, buffer, image, Region(1, 1, 0, 64, 1));
        Assert.Null(h.Ctx.FatalReason);
        // The fuzz finding: 64 layers, aspect 0, z 91 on a 2D image of one layer (a fault on lavapipe's queue thread).
        CopyToImage(h, cb, buffer, image, Region(0, 64, 91, 0, 0));
        Assert.Contains("vkCmdCopyBufferToImage: region 0: layers 0+64 of an image of 1", h.Ctx.FatalReason);
    }

    [Fact]
    public void BufferImageCopyRegionsMustNameOneAspectAndStayInsideTheLevel()
    {
        using var h = new FakeDriverHost();
        var (_, image, buffer, cb) = CopySetup(h);
        CopyToImage(h, cb, buffer, image, Region(0, 1, 1, 64, 1));
        Assert.Contains("aspect mask 0x0 is not one aspect", h.Ctx.FatalReason);
        using var h2 = new FakeDriverHost();
        (_, image, buffer, cb) = CopySetup(h2);
        CopyToImage(h2, cb, buffer, image, Region(1, 1, 1, 64, 1));
        Assert.Contains("is outside mip level 0 (64x64x1)", h2.Ctx.FatalReason);
    }

    [Fact]
    public void ImageToImageRegionsMustFitBothImages()
    {
        var layers = new VkImageSubresourceLayers { aspectMask = 1, layerCount = 1 };
        var box = new VkExtent3D { width = 128, height = 96, depth = 1 };
        Assert.Null(Handlers.ImageToImageError(Color2D, Color2D, layers, default, layers, default, box, false));
        Assert.Contains("destination: offset (1, 0, 0)", Handlers.ImageToImageError(Color2D, Color2D, layers, default, layers, new VkOffset3D { x = 1 }, box, false));
        Assert.Contains("source: layers 0+3", Handlers.ImageToImageError(Color2D, Color2D, layers with { layerCount = 3 }, default, layers, default, box, false));
        Assert.Contains("samples 1 to 1", Handlers.ImageToImageError(Color2D, Color2D, layers, default, layers, default, box, true));
        // 2D array layers into 3D slices (maintenance1): the layer count is the depth.
        var volume = Color2D with { Type = VkImageType.VK_IMAGE_TYPE_3D, Extent = new VkExtent3D { width = 128, height = 96, depth = 2 }, Layers = 1 };
        Assert.Null(Handlers.ImageToImageError(Color2D, volume, layers with { layerCount = 2 }, default, layers, default, box with { depth = 2 }, false));
        Assert.Contains("depth 3 over 2 layers", Handlers.ImageToImageError(Color2D, volume, layers with { layerCount = 2 }, default, layers, default, box with { depth = 3 }, false));

        var corners = new VkOffset3D_Array2();
        corners[1] = new VkOffset3D { x = 128, y = 96, z = 1 };
        Assert.Null(Handlers.BlitError(Color2D, Color2D, layers, corners, layers, corners));
        var past = corners;
        past[0] = new VkOffset3D { x = 129, y = 0, z = 0 };
        Assert.Contains("destination corner 0 (129, 0, 0)", Handlers.BlitError(Color2D, Color2D, layers, corners, layers, past));

        var range = new VkImageSubresourceRange { aspectMask = 1, levelCount = uint.MaxValue, layerCount = uint.MaxValue };
        Assert.Null(Handlers.ClearRangeError(Color2D, range, true));
        Assert.Contains("aspect mask 0x2", Handlers.ClearRangeError(Color2D, range with { aspectMask = 2 }, false));
        Assert.Contains("mip levels 1+3", Handlers.ClearRangeError(Color2D, range with { baseMipLevel = 1, levelCount = 3 }, true));
    }

    [Fact]
    public void SpirvStructureIsCheckedBeforeTheValidator()
    {
        fixed (uint* code = ComputeMain)
        {
            Assert.Null(SpirvTools.Structure(code, ComputeMain.Length));
            Assert.Null(SpirvTools.Check(code, (nuint)ComputeMain.Length * 4, 1u << 22));
            Assert.Contains("not a positive multiple of 4", SpirvTools.Check(code, 6, 1u << 22));
            var entry = Assert.Single(SpirvTools.EntryPoints(code, ComputeMain.Length));
            Assert.Equal(0x20u, entry.Stage);
            Assert.Equal("main"u8.ToArray(), entry.Name);
        }
        uint[] bad = (uint[])ComputeMain.Clone();
        bad[0] = 0x03022307;
        fixed (uint* code = bad) Assert.Contains("magic", SpirvTools.Structure(code, bad.Length));
        bad = (uint[])ComputeMain.Clone();
        bad[3] = 0;
        fixed (uint* code = bad) Assert.Contains("id bound 0", SpirvTools.Structure(code, bad.Length));
        // The campaign's finding: a vertex input at Location 201326594. Here ComputeMain's
        // OpDecorate %9 BuiltIn WorkgroupSize (words 34-37) made a Location 25 decoration.
        bad = (uint[])ComputeMain.Clone();
        bad[36] = 30;
        fixed (uint* code = bad)
        {
            Assert.Contains("Location 25 at word 34 (the device's interfaces have 16)", SpirvTools.Structure(code, bad.Length, 16));
            Assert.Null(SpirvTools.Structure(code, bad.Length, 32));
        }
        bad = (uint[])ComputeMain.Clone();
        bad[^1] = 0x00050038; // OpFunctionEnd claiming 5 words at the module's last word
        fixed (uint* code = bad) Assert.Contains("word count 5 (1 words left)", SpirvTools.Structure(code, bad.Length));
    }

    static ulong CreateModule(FakeDriverHost h, ulong device, uint[] words)
    {
        fixed (uint* code = words)
        {
            var info = new VkShaderModuleCreateInfo { sType = VkShaderModuleCreateInfo.SType, codeSize = (nuint)words.Length * 4, pCode = code };
            ulong module = h.NewId();
            VnEncoder e = h.BeginCommand(vkCreateShaderModule.Size(device, &info, null, &module));
            vkCreateShaderModule.Encode(ref e, FakeDriverHost.NoReply, device, &info, null, &module);
            h.Run(FakeDriverHost.Bytes(e));
            return module;
        }
    }

    [Fact]
    public void ShaderModulesAndComputeStagesAreChecked()
    {
        using var h = new FakeDriverHost();
        (_, _, ulong device) = h.CreateDevice();
        ulong module = CreateModule(h, device, ComputeMain);
        Assert.Null(h.Ctx.FatalReason);
        Assert.True(h.Has(module, 15));
        var layoutInfo = new VkPipelineLayoutCreateInfo { sType = VkPipelineLayoutCreateInfo.SType };
        ulong layout = h.NewId();
        VnEncoder l = h.BeginCommand(vkCreatePipelineLayout.Size(device, &layoutInfo, null, &layout));
        vkCreatePipelineLayout.Encode(ref l, FakeDriverHost.NoReply, device, &layoutInfo, null, &layout);
        h.Run(FakeDriverHost.Bytes(l));
        byte* name = stackalloc byte[] { (byte)'n', (byte)'o', 0 };
        var info = new VkComputePipelineCreateInfo
        {
            sType = VkComputePipelineCreateInfo.SType,
            layout = layout,
            stage = new VkPipelineShaderStageCreateInfo { sType = VkPipelineShaderStageCreateInfo.SType, stage = VkShaderStageFlagBits.VK_SHADER_STAGE_COMPUTE_BIT, module = module, pName = name },
        };
        ulong pipeline = h.NewId();
        VnEncoder e = h.BeginCommand(vkCreateComputePipelines.Size(device, 0, 1, &info, null, &pipeline));
        vkCreateComputePipelines.Encode(ref e, FakeDriverHost.NoReply, device, 0, 1, &info, null, &pipeline);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkCreateComputePipelines: create info 0: the module has no entry point \"no\" for stage 0x20", h.Ctx.FatalReason);

        using var h2 = new FakeDriverHost();
        (_, _, device) = h2.CreateDevice();
        uint[] bad = (uint[])ComputeMain.Clone();
        bad[^2] = 0x000900fd; // OpReturn claiming 9 words
        CreateModule(h2, device, bad);
        Assert.Contains("vkCreateShaderModule: instruction at word 68", h2.Ctx.FatalReason);
    }

    [Fact]
    public void RayTracingGroupsIndexStagesOfTheirKind()
    {
        using var h = new FakeDriverHost();
        (_, _, ulong device) = h.CreateDevice();
        var layoutInfo = new VkPipelineLayoutCreateInfo { sType = VkPipelineLayoutCreateInfo.SType };
        ulong layout = h.NewId();
        VnEncoder l = h.BeginCommand(vkCreatePipelineLayout.Size(device, &layoutInfo, null, &layout));
        vkCreatePipelineLayout.Encode(ref l, FakeDriverHost.NoReply, device, &layoutInfo, null, &layout);
        h.Run(FakeDriverHost.Bytes(l));
        var group = new VkRayTracingShaderGroupCreateInfoKHR
        {
            sType = VkRayTracingShaderGroupCreateInfoKHR.SType, type = VkRayTracingShaderGroupTypeKHR.VK_RAY_TRACING_SHADER_GROUP_TYPE_GENERAL_KHR,
            generalShader = 5, closestHitShader = uint.MaxValue, anyHitShader = uint.MaxValue, intersectionShader = uint.MaxValue,
        };
        var info = new VkRayTracingPipelineCreateInfoKHR { sType = VkRayTracingPipelineCreateInfoKHR.SType, groupCount = 1, pGroups = &group, layout = layout };
        ulong pipeline = h.NewId();
        VnEncoder e = h.BeginCommand(vkCreateRayTracingPipelinesKHR.Size(device, 0, 0, 1, &info, null, &pipeline));
        vkCreateRayTracingPipelinesKHR.Encode(ref e, FakeDriverHost.NoReply, device, 0, 0, 1, &info, null, &pipeline);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkCreateRayTracingPipelinesKHR: create info 0: group 0: general shader 5 of 0 stages", h.Ctx.FatalReason);
    }

    [Fact]
    public void EnumArrayValuesAreCheckedLikeSingleEnums()
    {
        using var h = new FakeDriverHost();
        (_, _, ulong device) = h.CreateDevice();
        VkFormat* formats = stackalloc VkFormat[] { VkFormat.VK_FORMAT_R8G8B8A8_UNORM, (VkFormat)301989888 };
        var list = new VkImageFormatListCreateInfo { sType = VkImageFormatListCreateInfo.SType, viewFormatCount = 2, pViewFormats = formats };
        var imageInfo = new VkImageCreateInfo
        {
            sType = VkImageCreateInfo.SType, pNext = &list, flags = 0x8, imageType = VkImageType.VK_IMAGE_TYPE_2D, format = VkFormat.VK_FORMAT_R8G8B8A8_UNORM,
            extent = new VkExtent3D { width = 4, height = 4, depth = 1 }, mipLevels = 1, arrayLayers = 1, samples = VkSampleCountFlagBits.VK_SAMPLE_COUNT_1_BIT,
        };
        ulong image = h.NewId();
        VnEncoder e = h.BeginCommand(vkCreateImage.Size(device, &imageInfo, null, &image));
        vkCreateImage.Encode(ref e, FakeDriverHost.NoReply, device, &imageInfo, null, &image);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkCreateImage: decode error InvalidEnum", h.Ctx.FatalReason);
    }
}
