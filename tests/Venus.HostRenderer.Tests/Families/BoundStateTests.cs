using Venus.HostRenderer.Native;
using Venus.HostRenderer.Tests.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Tests.Families;

/// <summary>
/// The rules of Families/BoundState.cs on the fake driver: a pipeline's descriptors against its
/// layout, draws and dispatches against the bound pipeline and sets, push constants against the
/// layout's ranges. Each breach here faulted lavapipe (tests/clients/rules/rules.c; reproducers in
/// fuzz/regressions/lavapipe).
/// </summary>
public sealed unsafe class BoundStateTests
{
    /// <summary>glslangValidator -V, spirv-opt --strip-debug: "layout(local_size_x = 64) in; layout(std430, set = 0, binding = 0) buffer B { uint d[]; } b; void main() { b.d[gl_GlobalInvocationID.x] = gl_GlobalInvocationID.x * 3u + 7u; }".</summary>
    internal static readonly uint[] StorageBufferCompute =
    [
        0x07230203, 0x00010000, 0x0008000b, 0x0000001f, 0x00000000, 0x00020011, 0x00000001, 0x0006000b, 0x00000001, 0x4c534c47,
        0x6474732e, 0x3035342e, 0x00000000, 0x0003000e, 0x00000000, 0x00000001, 0x0006000f, 0x00000005, 0x00000004, 0x6e69616d,
        0x00000000, 0x0000000f, 0x00060010, 0x00000004, 0x00000011, 0x00000040, 0x00000001, 0x00000001, 0x00040047, 0x00000007,
        0x00000006, 0x00000004, 0x00030047, 0x00000008, 0x00000003, 0x00050048, 0x00000008, 0x00000000, 0x00000023, 0x00000000,
        0x00040047, 0x0000000a, 0x00000021, 0x00000000, 0x00040047, 0x0000000a, 0x00000022, 0x00000000, 0x00040047, 0x0000000f,
        0x0000000b, 0x0000001c, 0x00040047, 0x0000001e, 0x0000000b, 0x00000019, 0x00020013, 0x00000002, 0x00030021, 0x00000003,
        0x00000002, 0x00040015, 0x00000006, 0x00000020, 0x00000000, 0x0003001d, 0x00000007, 0x00000006, 0x0003001e, 0x00000008,
        0x00000007, 0x00040020, 0x00000009, 0x00000002, 0x00000008, 0x0004003b, 0x00000009, 0x0000000a, 0x00000002, 0x00040015,
        0x0000000b, 0x00000020, 0x00000001, 0x0004002b, 0x0000000b, 0x0000000c, 0x00000000, 0x00040017, 0x0000000d, 0x00000006,
        0x00000003, 0x00040020, 0x0000000e, 0x00000001, 0x0000000d, 0x0004003b, 0x0000000e, 0x0000000f, 0x00000001, 0x0004002b,
        0x00000006, 0x00000010, 0x00000000, 0x00040020, 0x00000011, 0x00000001, 0x00000006, 0x0004002b, 0x00000006, 0x00000016,
        0x00000003, 0x0004002b, 0x00000006, 0x00000018, 0x00000007, 0x00040020, 0x0000001a, 0x00000002, 0x00000006, 0x0004002b,
        0x00000006, 0x0000001c, 0x00000040, 0x0004002b, 0x00000006, 0x0000001d, 0x00000001, 0x0006002c, 0x0000000d, 0x0000001e,
        0x0000001c, 0x0000001d, 0x0000001d, 0x00050036, 0x00000002, 0x00000004, 0x00000000, 0x00000003, 0x000200f8, 0x00000005,
        0x00050041, 0x00000011, 0x00000012, 0x0000000f, 0x00000010, 0x0004003d, 0x00000006, 0x00000013, 0x00000012, 0x00050041,
        0x00000011, 0x00000014, 0x0000000f, 0x00000010, 0x0004003d, 0x00000006, 0x00000015, 0x00000014, 0x00050084, 0x00000006,
        0x00000017, 0x00000015, 0x00000016, 0x00050080, 0x00000006, 0x00000019, 0x00000017, 0x00000018, 0x00060041, 0x0000001a,
        0x0000001b, 0x0000000a, 0x0000000c, 0x00000013, 0x0003003e, 0x0000001b, 0x00000019, 0x000100fd, 0x00010038,
    ];

    /// <summary>The same with "layout(set = 0, binding = 0, r32ui) uniform uimage2D img; ... imageStore(img, ivec2(gl_GlobalInvocationID.xy), uvec4(7));".</summary>
    internal static readonly uint[] StorageImageCompute =
    [
        0x07230203, 0x00010000, 0x0008000b, 0x0000001a, 0x00000000, 0x00020011, 0x00000001, 0x0006000b, 0x00000001, 0x4c534c47,
        0x6474732e, 0x3035342e, 0x00000000, 0x0003000e, 0x00000000, 0x00000001, 0x0006000f, 0x00000005, 0x00000004, 0x6e69616d,
        0x00000000, 0x0000000d, 0x00060010, 0x00000004, 0x00000011, 0x00000040, 0x00000001, 0x00000001, 0x00040047, 0x00000009,
        0x00000021, 0x00000000, 0x00040047, 0x00000009, 0x00000022, 0x00000000, 0x00040047, 0x0000000d, 0x0000000b, 0x0000001c,
        0x00040047, 0x00000019, 0x0000000b, 0x00000019, 0x00020013, 0x00000002, 0x00030021, 0x00000003, 0x00000002, 0x00040015,
        0x00000006, 0x00000020, 0x00000000, 0x00090019, 0x00000007, 0x00000006, 0x00000001, 0x00000000, 0x00000000, 0x00000000,
        0x00000002, 0x00000021, 0x00040020, 0x00000008, 0x00000000, 0x00000007, 0x0004003b, 0x00000008, 0x00000009, 0x00000000,
        0x00040017, 0x0000000b, 0x00000006, 0x00000003, 0x00040020, 0x0000000c, 0x00000001, 0x0000000b, 0x0004003b, 0x0000000c,
        0x0000000d, 0x00000001, 0x00040017, 0x0000000e, 0x00000006, 0x00000002, 0x00040015, 0x00000011, 0x00000020, 0x00000001,
        0x00040017, 0x00000012, 0x00000011, 0x00000002, 0x00040017, 0x00000014, 0x00000006, 0x00000004, 0x0004002b, 0x00000006,
        0x00000015, 0x00000007, 0x0007002c, 0x00000014, 0x00000016, 0x00000015, 0x00000015, 0x00000015, 0x00000015, 0x0004002b,
        0x00000006, 0x00000017, 0x00000040, 0x0004002b, 0x00000006, 0x00000018, 0x00000001, 0x0006002c, 0x0000000b, 0x00000019,
        0x00000017, 0x00000018, 0x00000018, 0x00050036, 0x00000002, 0x00000004, 0x00000000, 0x00000003, 0x000200f8, 0x00000005,
        0x0004003d, 0x00000007, 0x0000000a, 0x00000009, 0x0004003d, 0x0000000b, 0x0000000f, 0x0000000d, 0x0007004f, 0x0000000e,
        0x00000010, 0x0000000f, 0x0000000f, 0x00000000, 0x00000001, 0x0004007c, 0x00000012, 0x00000013, 0x00000010, 0x00040063,
        0x0000000a, 0x00000013, 0x00000016, 0x000100fd, 0x00010038,
    ];

    [Fact]
    public void TheReaderFindsTheDescriptorsAnEntryPointUses()
    {
        fixed (uint* code = StorageBufferCompute)
        {
            var r = Assert.Single(SpirvResources.Used(code, StorageBufferCompute.Length, 0x20, "main"u8));
            Assert.Equal(new SpirvResources.Resource(0, 0, SpirvResources.Kind.StorageBlock, 1), r);
            Assert.Empty(SpirvResources.Used(code, StorageBufferCompute.Length, 0x20, "other"u8));
            Assert.Empty(SpirvResources.Used(code, StorageBufferCompute.Length, 0x1, "main"u8));
        }
        fixed (uint* code = StorageImageCompute)
            Assert.Equal(SpirvResources.Kind.StorageImage, Assert.Single(SpirvResources.Used(code, StorageImageCompute.Length, 0x20, "main"u8)).Kind);
        Assert.True(SpirvResources.Allows(SpirvResources.Kind.StorageBlock, 7));
        Assert.False(SpirvResources.Allows(SpirvResources.Kind.StorageImage, 7));
        Assert.True(SpirvResources.Allows(SpirvResources.Kind.StorageImage, 1000351000));
    }

    sealed class Setup(FakeDriverHost h, ulong device, ulong commandBuffer)
    {
        public FakeDriverHost H = h;
        public ulong Device = device, CommandBuffer = commandBuffer;

        public void Run(VnEncoder e) => H.Run(FakeDriverHost.Bytes(e));

        public ulong SetLayout(VkDescriptorType type)
        {
            var binding = new VkDescriptorSetLayoutBinding { binding = 0, descriptorType = type, descriptorCount = 1, stageFlags = 0x20 };
            var info = new VkDescriptorSetLayoutCreateInfo { sType = VkDescriptorSetLayoutCreateInfo.SType, bindingCount = 1, pBindings = &binding };
            ulong layout = H.NewId();
            VnEncoder e = H.BeginCommand(vkCreateDescriptorSetLayout.Size(Device, &info, null, &layout));
            vkCreateDescriptorSetLayout.Encode(ref e, FakeDriverHost.NoReply, Device, &info, null, &layout);
            Run(e);
            return layout;
        }

        public ulong PipelineLayout(ulong setLayout, uint pushBytes)
        {
            var range = new VkPushConstantRange { stageFlags = 0x20, offset = 0, size = pushBytes };
            var info = new VkPipelineLayoutCreateInfo
            {
                sType = VkPipelineLayoutCreateInfo.SType, setLayoutCount = setLayout == 0 ? 0u : 1u, pSetLayouts = &setLayout,
                pushConstantRangeCount = pushBytes == 0 ? 0u : 1u, pPushConstantRanges = &range,
            };
            ulong layout = H.NewId();
            VnEncoder e = H.BeginCommand(vkCreatePipelineLayout.Size(Device, &info, null, &layout));
            vkCreatePipelineLayout.Encode(ref e, FakeDriverHost.NoReply, Device, &info, null, &layout);
            Run(e);
            return layout;
        }

        public ulong Pipeline(uint[] spirv, ulong layout)
        {
            ulong module = H.NewId();
            fixed (uint* code = spirv)
            {
                var mi = new VkShaderModuleCreateInfo { sType = VkShaderModuleCreateInfo.SType, codeSize = (nuint)spirv.Length * 4, pCode = code };
                VnEncoder m = H.BeginCommand(vkCreateShaderModule.Size(Device, &mi, null, &module));
                vkCreateShaderModule.Encode(ref m, FakeDriverHost.NoReply, Device, &mi, null, &module);
                Run(m);
            }
            byte* main = stackalloc byte[] { (byte)'m', (byte)'a', (byte)'i', (byte)'n', 0 };
            var info = new VkComputePipelineCreateInfo
            {
                sType = VkComputePipelineCreateInfo.SType, layout = layout,
                stage = new VkPipelineShaderStageCreateInfo { sType = VkPipelineShaderStageCreateInfo.SType, stage = VkShaderStageFlagBits.VK_SHADER_STAGE_COMPUTE_BIT, module = module, pName = main },
            };
            ulong pipeline = H.NewId();
            VnEncoder e = H.BeginCommand(vkCreateComputePipelines.Size(Device, 0, 1, &info, null, &pipeline));
            vkCreateComputePipelines.Encode(ref e, FakeDriverHost.NoReply, Device, 0, 1, &info, null, &pipeline);
            Run(e);
            return pipeline;
        }

        public ulong Set(ulong setLayout)
        {
            var size = new VkDescriptorPoolSize { type = VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount = 4 };
            var pi = new VkDescriptorPoolCreateInfo { sType = VkDescriptorPoolCreateInfo.SType, maxSets = 1, poolSizeCount = 1, pPoolSizes = &size };
            ulong pool = H.NewId();
            VnEncoder p = H.BeginCommand(vkCreateDescriptorPool.Size(Device, &pi, null, &pool));
            vkCreateDescriptorPool.Encode(ref p, FakeDriverHost.NoReply, Device, &pi, null, &pool);
            Run(p);
            var ai = new VkDescriptorSetAllocateInfo { sType = VkDescriptorSetAllocateInfo.SType, descriptorPool = pool, descriptorSetCount = 1, pSetLayouts = &setLayout };
            ulong set = H.NewId();
            VnEncoder e = H.BeginCommand(vkAllocateDescriptorSets.Size(Device, &ai, &set));
            vkAllocateDescriptorSets.Encode(ref e, FakeDriverHost.NoReply, Device, &ai, &set);
            Run(e);
            return set;
        }

        public void Begin()
        {
            var bi = new VkCommandBufferBeginInfo { sType = VkCommandBufferBeginInfo.SType };
            VnEncoder e = H.BeginCommand(vkBeginCommandBuffer.Size(CommandBuffer, &bi));
            vkBeginCommandBuffer.Encode(ref e, FakeDriverHost.NoReply, CommandBuffer, &bi);
            Run(e);
        }

        public void Bind(ulong pipeline)
        {
            VnEncoder e = H.BeginCommand(vkCmdBindPipeline.Size(CommandBuffer, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_COMPUTE, pipeline));
            vkCmdBindPipeline.Encode(ref e, FakeDriverHost.NoReply, CommandBuffer, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
            Run(e);
        }

        public void BindSet(ulong layout, ulong set)
        {
            VnEncoder e = H.BeginCommand(vkCmdBindDescriptorSets.Size(CommandBuffer, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, null));
            vkCmdBindDescriptorSets.Encode(ref e, FakeDriverHost.NoReply, CommandBuffer, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, null);
            Run(e);
        }

        public void Dispatch()
        {
            VnEncoder e = H.BeginCommand(vkCmdDispatch.Size(CommandBuffer, 4, 1, 1));
            vkCmdDispatch.Encode(ref e, FakeDriverHost.NoReply, CommandBuffer, 4, 1, 1);
            Run(e);
        }

        public void Push(ulong layout, uint offset, uint size)
        {
            var values = new byte[size];
            fixed (byte* v = values)
            {
                VnEncoder e = H.BeginCommand(vkCmdPushConstants.Size(CommandBuffer, layout, 0x20, offset, size, v));
                vkCmdPushConstants.Encode(ref e, FakeDriverHost.NoReply, CommandBuffer, layout, 0x20, offset, size, v);
                Run(e);
            }
        }
    }

    static Setup NewSetup()
    {
        var h = new FakeDriverHost();
        (_, _, ulong device) = h.CreateDevice();
        var poolInfo = new VkCommandPoolCreateInfo { sType = VkCommandPoolCreateInfo.SType };
        ulong pool = h.NewId();
        VnEncoder e = h.BeginCommand(vkCreateCommandPool.Size(device, &poolInfo, null, &pool));
        vkCreateCommandPool.Encode(ref e, FakeDriverHost.NoReply, device, &poolInfo, null, &pool);
        h.Run(FakeDriverHost.Bytes(e));
        var allocInfo = new VkCommandBufferAllocateInfo { sType = VkCommandBufferAllocateInfo.SType, commandPool = pool, commandBufferCount = 1 };
        ulong commandBuffer = h.NewId();
        e = h.BeginCommand(vkAllocateCommandBuffers.Size(device, &allocInfo, &commandBuffer));
        vkAllocateCommandBuffers.Encode(ref e, FakeDriverHost.NoReply, device, &allocInfo, &commandBuffer);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Null(h.Ctx.FatalReason);
        return new Setup(h, device, commandBuffer);
    }

    [Fact]
    public void APipelinesDescriptorsMustBeInItsLayout()
    {
        var s = NewSetup();
        using (s.H)
        {
            ulong good = s.PipelineLayout(s.SetLayout(VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER), 0);
            s.Pipeline(StorageBufferCompute, good);
            Assert.Null(s.H.Ctx.FatalReason);
            // lavapipe faulted compiling this one: set 0 used, no set in the layout.
            s.Pipeline(StorageBufferCompute, s.PipelineLayout(0, 0));
            Assert.Contains("vkCreateComputePipelines: create info 0: stage 0: stage 0x20 uses set 0 binding 0, and the layout has 0 sets", s.H.Ctx.FatalReason);
        }
        s = NewSetup();
        using (s.H)
        {
            // ... and at the dispatch of a storage image the layout called a storage buffer.
            s.Pipeline(StorageImageCompute, s.PipelineLayout(s.SetLayout(VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER), 0));
            Assert.Contains("uses set 0 binding 0 as StorageImage, which the layout makes descriptor type 7", s.H.Ctx.FatalReason);
        }
    }

    [Fact]
    public void DispatchesNeedAPipelineAndItsSetsBound()
    {
        var s = NewSetup();
        using (s.H)
        {
            s.Begin();
            s.Dispatch();
            Assert.Contains("vkCmdDispatch: no compute pipeline is bound", s.H.Ctx.FatalReason);
        }
        s = NewSetup();
        using (s.H)
        {
            ulong setLayout = s.SetLayout(VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER);
            ulong layout = s.PipelineLayout(setLayout, 0);
            ulong pipeline = s.Pipeline(StorageBufferCompute, layout);
            ulong set = s.Set(setLayout);
            s.Begin();
            s.Bind(pipeline);
            s.BindSet(layout, set);
            s.Dispatch();
            s.Dispatch();
            Assert.Null(s.H.Ctx.FatalReason);
            // A new recording starts with nothing bound.
            s.Begin();
            s.Bind(pipeline);
            s.Dispatch();
            Assert.Contains("vkCmdDispatch: the pipeline uses set 0, which is not bound", s.H.Ctx.FatalReason);
        }
        s = NewSetup();
        using (s.H)
        {
            // A set of another shape bound where the pipeline's layout has a storage buffer.
            ulong layout = s.PipelineLayout(s.SetLayout(VkDescriptorType.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER), 0);
            ulong pipeline = s.Pipeline(StorageBufferCompute, layout);
            ulong otherLayout = s.SetLayout(VkDescriptorType.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER);
            ulong other = s.Set(otherLayout);
            s.Begin();
            s.Bind(pipeline);
            s.BindSet(s.PipelineLayout(otherLayout, 0), other);
            s.Dispatch();
            Assert.Contains("vkCmdDispatch: set 0 is bound from a layout unlike the pipeline's", s.H.Ctx.FatalReason);
        }
    }

    [Fact]
    public void PushConstantsMustLieInsideTheLayoutsRanges()
    {
        var s = NewSetup();
        using (s.H)
        {
            ulong layout = s.PipelineLayout(0, 16);
            s.Begin();
            s.Push(layout, 0, 16);
            s.Push(layout, 8, 8);
            Assert.Null(s.H.Ctx.FatalReason);
            // lavapipe copied these bytes to its push-constant array at the offset given when the queue ran them.
            s.Push(layout, 0x40000000, 4096);
            Assert.Contains("vkCmdPushConstants: bytes 1073741824+4096 for stages 0x20 are not inside ranges of the layout for them", s.H.Ctx.FatalReason);
        }
        s = NewSetup();
        using (s.H)
        {
            s.PipelineLayout(0, 512);
            Assert.Contains("vkCreatePipelineLayout: push-constant range 0: 512 bytes at offset 0", s.H.Ctx.FatalReason);
        }
    }
}
