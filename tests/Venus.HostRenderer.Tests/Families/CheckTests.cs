using System.Runtime.InteropServices;
using Venus.Fuzz;
using Venus.HostRenderer.Native;
using Venus.HostRenderer.Tests.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Tests.Families;

/// <summary>
/// The host's checks before the driver (host.xml &lt;check&gt;: the generated handler calls
/// Handlers.&lt;command&gt;Check, then the driver): each rule, broken, ends the context with its reason
/// and the command never reaches the driver; kept, the command runs as generated. On the fake driver,
/// wrapped so that buffers have memory requirements and the device one memory type (the rules on
/// buffer ranges need both).
/// </summary>
public sealed unsafe class CheckTests
{
    private const VkCommandFlagBitsEXT NoReply = FakeDriverHost.NoReply;
    private const ulong BufferBytes = 256, BufferAlignment = 16, MemoryBytes = 4096;
    private const int ObjPipeline = 19;

    /// <summary><see cref="FakeVulkan"/> with vkGetBufferMemoryRequirements (256 bytes, 16-aligned) and one device-local memory type.</summary>
    private static class SizedVulkan
    {
        public static readonly VulkanLibrary Library = VulkanLibrary.FromProcAddr(&GetProcAddr);

        [UnmanagedCallersOnly]
        private static nint GetProcAddr(nint instance, byte* name) => Marshal.PtrToStringUTF8((nint)name) switch
        {
            "vkGetInstanceProcAddr" or "vkGetDeviceProcAddr" => (nint)(delegate* unmanaged<nint, byte*, nint>)&GetProcAddr,
            "vkGetBufferMemoryRequirements" => (nint)(delegate* unmanaged<ulong, ulong, VkMemoryRequirements*, void>)&BufferRequirements,
            "vkGetPhysicalDeviceMemoryProperties" => (nint)(delegate* unmanaged<ulong, VkPhysicalDeviceMemoryProperties*, void>)&MemoryProperties,
            _ => FakeVulkan.Library.GetInstanceProcAddr(instance, name),
        };

        [UnmanagedCallersOnly]
        private static void BufferRequirements(ulong device, ulong buffer, VkMemoryRequirements* r) =>
            *r = new VkMemoryRequirements { size = BufferBytes, alignment = BufferAlignment, memoryTypeBits = 1 };

        [UnmanagedCallersOnly]
        private static void MemoryProperties(ulong physicalDevice, VkPhysicalDeviceMemoryProperties* p)
        {
            *p = default;
            p->memoryTypeCount = 1;
            p->memoryTypes.Element0 = new VkMemoryType { propertyFlags = (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, heapIndex = 0 };
            p->memoryHeapCount = 1;
            p->memoryHeaps.Element0 = new VkMemoryHeap { size = 1UL << 30, flags = 1 };
        }
    }

    /// <summary>A context with a device, a command buffer, a buffer bound to memory of 4096 bytes, and a timestamp pool of 4 queries.</summary>
    private sealed class Scene : IDisposable
    {
        public readonly FakeDriverHost H = new(vulkan: SizedVulkan.Library);
        public readonly ulong Device, CommandBuffer, Buffer, Memory, QueryPool;

        public Scene(bool bind = true)
        {
            (_, _, Device) = H.CreateDevice();
            var poolInfo = new VkCommandPoolCreateInfo { sType = VkCommandPoolCreateInfo.SType };
            ulong pool = H.NewId(), device = Device;
            VnEncoder e = H.BeginCommand(vkCreateCommandPool.Size(device, &poolInfo, null, &pool));
            vkCreateCommandPool.Encode(ref e, NoReply, device, &poolInfo, null, &pool);
            H.Run(FakeDriverHost.Bytes(e));
            var allocInfo = new VkCommandBufferAllocateInfo { sType = VkCommandBufferAllocateInfo.SType, commandPool = pool, commandBufferCount = 1 };
            ulong cb = H.NewId();
            e = H.BeginCommand(vkAllocateCommandBuffers.Size(device, &allocInfo, &cb));
            vkAllocateCommandBuffers.Encode(ref e, NoReply, device, &allocInfo, &cb);
            H.Run(FakeDriverHost.Bytes(e));
            CommandBuffer = cb;

            var bufferInfo = new VkBufferCreateInfo { sType = VkBufferCreateInfo.SType, size = BufferBytes, usage = 0x3 };
            ulong buffer = H.NewId();
            e = H.BeginCommand(vkCreateBuffer.Size(device, &bufferInfo, null, &buffer));
            vkCreateBuffer.Encode(ref e, NoReply, device, &bufferInfo, null, &buffer);
            H.Run(FakeDriverHost.Bytes(e));
            Buffer = buffer;
            var memoryInfo = new VkMemoryAllocateInfo { sType = VkMemoryAllocateInfo.SType, allocationSize = MemoryBytes, memoryTypeIndex = 0 };
            ulong memory = H.NewId();
            e = H.BeginCommand(vkAllocateMemory.Size(device, &memoryInfo, null, &memory));
            vkAllocateMemory.Encode(ref e, NoReply, device, &memoryInfo, null, &memory);
            H.Run(FakeDriverHost.Bytes(e));
            Memory = memory;
            if (bind) Bind(0);

            var queryInfo = new VkQueryPoolCreateInfo { sType = VkQueryPoolCreateInfo.SType, queryType = VkQueryType.VK_QUERY_TYPE_TIMESTAMP, queryCount = 4 };
            ulong queryPool = H.NewId();
            e = H.BeginCommand(vkCreateQueryPool.Size(device, &queryInfo, null, &queryPool));
            vkCreateQueryPool.Encode(ref e, NoReply, device, &queryInfo, null, &queryPool);
            H.Run(FakeDriverHost.Bytes(e));
            QueryPool = queryPool;
            Assert.Null(H.Ctx.FatalReason);
        }

        public void Bind(ulong offset)
        {
            VnEncoder e = H.BeginCommand(vkBindBufferMemory.Size(Device, Buffer, Memory, offset));
            vkBindBufferMemory.Encode(ref e, NoReply, Device, Buffer, Memory, offset);
            H.Run(FakeDriverHost.Bytes(e));
        }

        public string? Fatal => H.Ctx.FatalReason;

        public void Dispose() => H.Dispose();
    }

    [Theory]
    [InlineData(4000UL, "vkBindBufferMemory: 256 bytes at offset 4000 do not fit an allocation of 4096")]
    [InlineData(8UL, "vkBindBufferMemory: offset 8 is not aligned to 16")]
    [InlineData(0UL, null)]
    public void ABindMustFitItsAllocation(ulong offset, string? why)
    {
        using var s = new Scene(bind: false);
        s.Bind(offset);
        if (why == null) Assert.Null(s.Fatal);
        else Assert.Contains(why, s.Fatal);
    }

    /// <summary>One command on the bound 256-byte buffer: <paramref name="size"/> bytes at <paramref name="offset"/>.</summary>
    private static void RecordBufferCommand(Scene s, string command, ulong offset, ulong size)
    {
        ulong cb = s.CommandBuffer, buffer = s.Buffer;
        VnEncoder e;
        switch (command)
        {
            case "vkCmdCopyBuffer":
                var region = new VkBufferCopy { srcOffset = 0, dstOffset = offset, size = size };
                e = s.H.BeginCommand(vkCmdCopyBuffer.Size(cb, buffer, buffer, 1, &region));
                vkCmdCopyBuffer.Encode(ref e, NoReply, cb, buffer, buffer, 1, &region);
                break;
            case "vkCmdCopyBuffer2":
                var region2 = new VkBufferCopy2 { sType = VkBufferCopy2.SType, srcOffset = offset, dstOffset = 0, size = size };
                var info = new VkCopyBufferInfo2 { sType = VkCopyBufferInfo2.SType, srcBuffer = buffer, dstBuffer = buffer, regionCount = 1, pRegions = &region2 };
                e = s.H.BeginCommand(vkCmdCopyBuffer2.Size(cb, &info));
                vkCmdCopyBuffer2.Encode(ref e, NoReply, cb, &info);
                break;
            case "vkCmdFillBuffer":
                e = s.H.BeginCommand(vkCmdFillBuffer.Size(cb, buffer, offset, size, 7));
                vkCmdFillBuffer.Encode(ref e, NoReply, cb, buffer, offset, size, 7);
                break;
            case "vkCmdUpdateBuffer":
                byte* data = stackalloc byte[(int)size];
                e = s.H.BeginCommand(vkCmdUpdateBuffer.Size(cb, buffer, offset, size, data));
                vkCmdUpdateBuffer.Encode(ref e, NoReply, cb, buffer, offset, size, data);
                break;
            default: throw new ArgumentException(command);
        }
        s.H.Run(FakeDriverHost.Bytes(e));
    }

    [Theory]
    [InlineData("vkCmdCopyBuffer", "vkCmdCopyBuffer destination: 64 bytes at offset 224 of a buffer of 256")]
    [InlineData("vkCmdCopyBuffer2", "vkCmdCopyBuffer2 source: 64 bytes at offset 224 of a buffer of 256")]
    [InlineData("vkCmdFillBuffer", "vkCmdFillBuffer: 64 bytes at offset 224 of a buffer of 256")]
    [InlineData("vkCmdUpdateBuffer", "vkCmdUpdateBuffer: 64 bytes at offset 224 of a buffer of 256")]
    public void BufferCommandsStayInsideTheBoundBuffer(string command, string why)
    {
        using var s = new Scene();
        RecordBufferCommand(s, command, 192, 64); // ends at 256: inside
        Assert.Null(s.Fatal);
        RecordBufferCommand(s, command, 224, 64);
        Assert.Contains(why, s.Fatal);
    }

    [Fact]
    public void ACopyRegionOfWholeSizeEndsTheContext()
    {
        using var s = new Scene();
        RecordBufferCommand(s, "vkCmdCopyBuffer", 0, ulong.MaxValue);
        Assert.Contains("vkCmdCopyBuffer: a region of VK_WHOLE_SIZE", s.Fatal);
    }

    /// <summary>One command naming queries [first, first + count) of the 4-query pool.</summary>
    private static void QueryCommand(Scene s, string command, uint first, uint count)
    {
        ulong cb = s.CommandBuffer, pool = s.QueryPool, device = s.Device;
        VnEncoder e;
        switch (command)
        {
            case "vkResetQueryPool":
                e = s.H.BeginCommand(vkResetQueryPool.Size(device, pool, first, count));
                vkResetQueryPool.Encode(ref e, NoReply, device, pool, first, count);
                break;
            case "vkCmdResetQueryPool":
                e = s.H.BeginCommand(vkCmdResetQueryPool.Size(cb, pool, first, count));
                vkCmdResetQueryPool.Encode(ref e, NoReply, cb, pool, first, count);
                break;
            case "vkCmdBeginQuery":
                e = s.H.BeginCommand(vkCmdBeginQuery.Size(cb, pool, first, 0));
                vkCmdBeginQuery.Encode(ref e, NoReply, cb, pool, first, 0);
                break;
            case "vkCmdEndQuery":
                e = s.H.BeginCommand(vkCmdEndQuery.Size(cb, pool, first));
                vkCmdEndQuery.Encode(ref e, NoReply, cb, pool, first);
                break;
            case "vkCmdWriteTimestamp":
                e = s.H.BeginCommand(vkCmdWriteTimestamp.Size(cb, VkPipelineStageFlagBits.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, first));
                vkCmdWriteTimestamp.Encode(ref e, NoReply, cb, VkPipelineStageFlagBits.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, first);
                break;
            case "vkCmdWriteTimestamp2":
                e = s.H.BeginCommand(vkCmdWriteTimestamp2.Size(cb, 0, pool, first));
                vkCmdWriteTimestamp2.Encode(ref e, NoReply, cb, 0, pool, first);
                break;
            case "vkGetQueryPoolResults":
                ulong* data = stackalloc ulong[8];
                e = s.H.BeginCommand(vkGetQueryPoolResults.Size(device, pool, first, count, 64, data, 8, 0x1));
                vkGetQueryPoolResults.Encode(ref e, NoReply, device, pool, first, count, 64, data, 8, 0x1);
                break;
            case "vkCmdCopyQueryPoolResults":
                e = s.H.BeginCommand(vkCmdCopyQueryPoolResults.Size(cb, pool, first, count, s.Buffer, 0, 8, 0x1));
                vkCmdCopyQueryPoolResults.Encode(ref e, NoReply, cb, pool, first, count, s.Buffer, 0, 8, 0x1);
                break;
            default: throw new ArgumentException(command);
        }
        s.H.Run(FakeDriverHost.Bytes(e));
    }

    [Theory]
    [InlineData("vkResetQueryPool", 1u, 3u, 2u, 3u, "queries 2..+3 of a pool of 4")]
    [InlineData("vkCmdResetQueryPool", 0u, 4u, 1u, 4u, "queries 1..+4 of a pool of 4")]
    [InlineData("vkCmdBeginQuery", 3u, 1u, 4u, 1u, "queries 4..+1 of a pool of 4")]
    [InlineData("vkCmdEndQuery", 3u, 1u, 4278190082u, 1u, "queries 4278190082..+1 of a pool of 4")]
    [InlineData("vkCmdWriteTimestamp", 0u, 1u, 4u, 1u, "queries 4..+1 of a pool of 4")]
    [InlineData("vkCmdWriteTimestamp2", 0u, 1u, 7u, 1u, "queries 7..+1 of a pool of 4")]
    [InlineData("vkGetQueryPoolResults", 0u, 4u, 0u, 5u, "queries 0..+5 of a pool of 4")]
    [InlineData("vkCmdCopyQueryPoolResults", 2u, 2u, 3u, 2u, "queries 3..+2 of a pool of 4")]
    public void QueryCommandsStayInsideTheirPool(string command, uint goodFirst, uint goodCount, uint badFirst, uint badCount, string why)
    {
        using var s = new Scene();
        QueryCommand(s, command, goodFirst, goodCount);
        Assert.Null(s.Fatal);
        QueryCommand(s, command, badFirst, badCount);
        Assert.Contains($"{command}: {why}", s.Fatal);
    }

    [Theory]
    [InlineData(80UL, null)]                                                                // 3 * 80 + 8 = 248 bytes: fits 256
    [InlineData(84UL, "vkCmdCopyQueryPoolResults: 260 bytes at offset 0 of a buffer of 256")] // 3 * 84 + 8 = 260
    public void QueryResultsMustFitTheirDestinationBuffer(ulong stride, string? why)
    {
        using var s = new Scene();
        ulong cb = s.CommandBuffer;
        VnEncoder e = s.H.BeginCommand(vkCmdCopyQueryPoolResults.Size(cb, s.QueryPool, 0, 4, s.Buffer, 0, stride, 0x1));
        vkCmdCopyQueryPoolResults.Encode(ref e, NoReply, cb, s.QueryPool, 0, 4, s.Buffer, 0, stride, 0x1);
        s.H.Run(FakeDriverHost.Bytes(e));
        if (why == null) Assert.Null(s.Fatal);
        else Assert.Contains(why, s.Fatal);
    }

    /// <summary>
    /// A null fence in vkResetFences: the generated decoder refuses it now (NullHandle), before the
    /// check (FencesPresent, shared with vkWaitForFences) would; either way the driver never sees it.
    /// </summary>
    [Fact]
    public void ANullFenceInAResetEndsTheContext()
    {
        using var s = new Scene();
        var fenceInfo = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
        ulong fence = s.H.NewId(), device = s.Device;
        VnEncoder e = s.H.BeginCommand(vkCreateFence.Size(device, &fenceInfo, null, &fence));
        vkCreateFence.Encode(ref e, NoReply, device, &fenceInfo, null, &fence);
        s.H.Run(FakeDriverHost.Bytes(e));
        ulong* fences = stackalloc ulong[2] { fence, 0 };
        e = s.H.BeginCommand(vkResetFences.Size(device, 1, fences));
        vkResetFences.Encode(ref e, NoReply, device, 1, fences);
        s.H.Run(FakeDriverHost.Bytes(e));
        Assert.Null(s.Fatal);
        e = s.H.BeginCommand(vkResetFences.Size(device, 2, fences));
        vkResetFences.Encode(ref e, NoReply, device, 2, fences);
        s.H.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkResetFences: decode error NullHandle", s.Fatal);
    }

    /// <summary>A set of one binding 0 of <paramref name="count"/> descriptors of <paramref name="type"/> (layout, pool, set), made through the handlers.</summary>
    private static ulong AllocateSet(Scene s, VkDescriptorType type, uint count)
    {
        ulong device = s.Device;
        var binding = new VkDescriptorSetLayoutBinding { binding = 0, descriptorType = type, descriptorCount = count, stageFlags = 0x20 };
        var layoutInfo = new VkDescriptorSetLayoutCreateInfo { sType = VkDescriptorSetLayoutCreateInfo.SType, bindingCount = 1, pBindings = &binding };
        ulong layout = s.H.NewId();
        VnEncoder e = s.H.BeginCommand(vkCreateDescriptorSetLayout.Size(device, &layoutInfo, null, &layout));
        vkCreateDescriptorSetLayout.Encode(ref e, NoReply, device, &layoutInfo, null, &layout);
        s.H.Run(FakeDriverHost.Bytes(e));
        var size = new VkDescriptorPoolSize { type = type, descriptorCount = count };
        var poolInfo = new VkDescriptorPoolCreateInfo { sType = VkDescriptorPoolCreateInfo.SType, maxSets = 1, poolSizeCount = 1, pPoolSizes = &size };
        ulong pool = s.H.NewId();
        e = s.H.BeginCommand(vkCreateDescriptorPool.Size(device, &poolInfo, null, &pool));
        vkCreateDescriptorPool.Encode(ref e, NoReply, device, &poolInfo, null, &pool);
        s.H.Run(FakeDriverHost.Bytes(e));
        var allocInfo = new VkDescriptorSetAllocateInfo { sType = VkDescriptorSetAllocateInfo.SType, descriptorPool = pool, descriptorSetCount = 1, pSetLayouts = &layout };
        ulong set = s.H.NewId();
        e = s.H.BeginCommand(vkAllocateDescriptorSets.Size(device, &allocInfo, &set));
        vkAllocateDescriptorSets.Encode(ref e, NoReply, device, &allocInfo, &set);
        s.H.Run(FakeDriverHost.Bytes(e));
        Assert.Null(s.Fatal);
        return set;
    }

    [Fact]
    public void ADescriptorWriteMustStayInsideItsBinding()
    {
        using var s = new Scene();
        ulong device = s.Device;
        ulong set = AllocateSet(s, VkDescriptorType.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 2);

        var infos = stackalloc VkDescriptorBufferInfo[2];
        infos[0] = infos[1] = new VkDescriptorBufferInfo { buffer = s.Buffer, offset = 0, range = 64 };
        var write = new VkWriteDescriptorSet { sType = VkWriteDescriptorSet.SType, dstSet = set, dstBinding = 0, dstArrayElement = 0, descriptorCount = 2, descriptorType = VkDescriptorType.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, pBufferInfo = infos };
        VnEncoder e = s.H.BeginCommand(vkUpdateDescriptorSets.Size(device, 1, &write, 0, null));
        vkUpdateDescriptorSets.Encode(ref e, NoReply, device, 1, &write, 0, null);
        s.H.Run(FakeDriverHost.Bytes(e));
        Assert.Null(s.Fatal);
        write.dstArrayElement = 3;
        write.descriptorCount = 1;
        e = s.H.BeginCommand(vkUpdateDescriptorSets.Size(device, 1, &write, 0, null));
        vkUpdateDescriptorSets.Encode(ref e, NoReply, device, 1, &write, 0, null);
        s.H.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkUpdateDescriptorSets: write 0: array element 3 is past binding 0's 2", s.Fatal);
    }

    /// <summary>
    /// Buffer infos against the buffer's created size: an empty range inside the buffer passes (ggml's
    /// Vulkan backend writes them for empty tensors on the H100); a range past the end, an offset past
    /// the end, and VK_WHOLE_SIZE from an offset past the end (lavapipe wrapped it) end the context.
    /// </summary>
    [Theory]
    [InlineData(BufferBytes / 2, 0ul, null)]
    [InlineData(BufferBytes, 0ul, null)]
    [InlineData(BufferBytes - 64, 64ul, null)]
    [InlineData(BufferBytes / 2, ulong.MaxValue, null)]
    [InlineData(BufferBytes + 8, 0ul, "an empty range at offset")]
    [InlineData(BufferBytes - 64, 128ul, "128 bytes at offset")]
    [InlineData(BufferBytes, ulong.MaxValue, "is not inside the buffer's")]
    public void DescriptorBufferInfosMustFitTheBuffer(ulong offset, ulong range, string? fatal)
    {
        using var s = new Scene();
        ulong device = s.Device;
        ulong set = AllocateSet(s, VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1);

        var info = new VkDescriptorBufferInfo { buffer = s.Buffer, offset = offset, range = range };
        var write = new VkWriteDescriptorSet { sType = VkWriteDescriptorSet.SType, dstSet = set, dstBinding = 0, descriptorCount = 1, descriptorType = VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, pBufferInfo = &info };
        VnEncoder e = s.H.BeginCommand(vkUpdateDescriptorSets.Size(device, 1, &write, 0, null));
        vkUpdateDescriptorSets.Encode(ref e, NoReply, device, 1, &write, 0, null);
        s.H.Run(FakeDriverHost.Bytes(e));
        if (fatal is null)
            Assert.Null(s.Fatal);
        else
            Assert.Contains($"vkUpdateDescriptorSets: write 0: buffer info 0: ", s.Fatal);
        if (fatal is not null)
            Assert.Contains(fatal, s.Fatal);
    }

    [Fact]
    public void VertexAttributesMustReadADescribedBindingAndAGoodPipelineIsRegistered()
    {
        using var s = new Scene();
        ulong device = s.Device;
        var vertexBinding = new VkVertexInputBindingDescription { binding = 0, stride = 16 };
        var attribute = new VkVertexInputAttributeDescription { location = 0, binding = 0, format = VkFormat.VK_FORMAT_R32G32B32A32_SFLOAT };
        var vertexInput = new VkPipelineVertexInputStateCreateInfo
        {
            sType = VkPipelineVertexInputStateCreateInfo.SType,
            vertexBindingDescriptionCount = 1, pVertexBindingDescriptions = &vertexBinding,
            vertexAttributeDescriptionCount = 1, pVertexAttributeDescriptions = &attribute,
        };
        var info = new VkGraphicsPipelineCreateInfo { sType = VkGraphicsPipelineCreateInfo.SType, pVertexInputState = &vertexInput, basePipelineIndex = -1 };
        ulong pipeline = s.H.NewId();
        VnEncoder e = s.H.BeginCommand(vkCreateGraphicsPipelines.Size(device, 0, 1, &info, null, &pipeline));
        vkCreateGraphicsPipelines.Encode(ref e, NoReply, device, 0, 1, &info, null, &pipeline);
        s.H.Run(FakeDriverHost.Bytes(e));
        Assert.Null(s.Fatal);
        Assert.True(s.H.Has(pipeline, ObjPipeline));

        attribute.binding = 3;
        ulong second = s.H.NewId();
        e = s.H.BeginCommand(vkCreateGraphicsPipelines.Size(device, 0, 1, &info, null, &second));
        vkCreateGraphicsPipelines.Encode(ref e, NoReply, device, 0, 1, &info, null, &second);
        s.H.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkCreateGraphicsPipelines: create info 0: vertex attribute 0 reads binding 3, which no binding description has", s.Fatal);
        Assert.False(s.H.Has(second, ObjPipeline));
    }

    [Fact]
    public void AnAccelerationStructureBuildNamesItsGeometriesOnce()
    {
        using var s = new Scene();
        ulong cb = s.CommandBuffer;
        var geometry = new VkAccelerationStructureGeometryKHR { sType = VkAccelerationStructureGeometryKHR.SType, geometryType = VkGeometryTypeKHR.VK_GEOMETRY_TYPE_AABBS_KHR };
        geometry.geometry.aabbs = new VkAccelerationStructureGeometryAabbsDataKHR { sType = VkAccelerationStructureGeometryAabbsDataKHR.SType, stride = 24 };
        VkAccelerationStructureGeometryKHR* pointer = &geometry;
        var build = new VkAccelerationStructureBuildGeometryInfoKHR
        {
            sType = VkAccelerationStructureBuildGeometryInfoKHR.SType,
            type = VkAccelerationStructureTypeKHR.VK_ACCELERATION_STRUCTURE_TYPE_BOTTOM_LEVEL_KHR,
            geometryCount = 1, pGeometries = &geometry, ppGeometries = &pointer,
        };
        var range = new VkAccelerationStructureBuildRangeInfoKHR { primitiveCount = 1 };
        VkAccelerationStructureBuildRangeInfoKHR* ranges = &range;
        VnEncoder e = s.H.BeginCommand(vkCmdBuildAccelerationStructuresKHR.Size(cb, 1, &build, &ranges));
        vkCmdBuildAccelerationStructuresKHR.Encode(ref e, NoReply, cb, 1, &build, &ranges);
        s.H.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkCmdBuildAccelerationStructuresKHR: build info 0 has 1 geometries but both of pGeometries and ppGeometries", s.Fatal);
    }
}
