using BenchmarkDotNet.Attributes;
using Venus.Fuzz;
using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.Benchmarks;

/// <summary>
/// The host renderer's whole per-command path for recorded commands: venus-host's
/// <see cref="Dispatcher"/> (decode, id translation, the host's checks, the driver call) on the
/// fuzzers' stub driver (<see cref="FakeVulkan"/>: every vkCmd* returns at once), so what is timed is
/// the host's own work. A stream of 1000 commands per operation; time is per command.
/// Queries: vkCmdResetQueryPool and vkCmdWriteTimestamp in turn on a 64-query pool (checked against
/// the pool). CopyBuffer: vkCmdCopyBuffer of one region (checked against bound sizes). Dispatch:
/// vkCmdDispatch, no host check (the control).
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("HostDispatch")]
public unsafe class HostDispatchBenchmarks
{
    public const int Commands = 1000;
    const VkCommandFlagBitsEXT NoReply = 0;

    HostContext _ctx = null!;
    Dispatcher _x = null!;
    byte[] _queries = null!, _copies = null!, _dispatches = null!;
    ulong _nextId = 0x1000;

    void Run(byte[] command)
    {
        if (!_x.Execute(command)) throw new InvalidOperationException($"set-up command failed: {_ctx.FatalReason}");
    }

    [GlobalSetup]
    public void Setup()
    {
        _ctx = new HostContext(FakeVulkan.Library, new HostOptions
        {
            Log = static _ => { },
            MaxCommandBytes = 1 << 20,
            MaxSharedBytes = 16 << 20,
            MaxDeviceMemoryBytes = 16UL << 30,
            MaxObjects = 4096,
        }, "bench");
        _x = new Dispatcher(_ctx, "bench");

        var app = new VkApplicationInfo { sType = VkApplicationInfo.SType, apiVersion = (1u << 22) | (3u << 12) };
        var ici = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, pApplicationInfo = &app };
        ulong instance = _nextId++;
        { var b = new byte[vkCreateInstance.Size(&ici, null, &instance)]; var e = new VnEncoder(b); vkCreateInstance.Encode(ref e, NoReply, &ici, null, &instance); Run(b); }
        ulong pd = _nextId++;
        uint count = 1;
        { var b = new byte[vkEnumeratePhysicalDevices.Size(instance, &count, &pd)]; var e = new VnEncoder(b); vkEnumeratePhysicalDevices.Encode(ref e, NoReply, instance, &count, &pd); Run(b); }
        float priority = 1;
        var qci = new VkDeviceQueueCreateInfo { sType = VkDeviceQueueCreateInfo.SType, queueCount = 1, pQueuePriorities = &priority };
        var dci = new VkDeviceCreateInfo { sType = VkDeviceCreateInfo.SType, queueCreateInfoCount = 1, pQueueCreateInfos = &qci };
        ulong device = _nextId++;
        { var b = new byte[vkCreateDevice.Size(pd, &dci, null, &device)]; var e = new VnEncoder(b); vkCreateDevice.Encode(ref e, NoReply, pd, &dci, null, &device); Run(b); }
        var pci = new VkQueryPoolCreateInfo { sType = VkQueryPoolCreateInfo.SType, queryType = VkQueryType.VK_QUERY_TYPE_TIMESTAMP, queryCount = 64 };
        ulong pool = _nextId++;
        { var b = new byte[vkCreateQueryPool.Size(device, &pci, null, &pool)]; var e = new VnEncoder(b); vkCreateQueryPool.Encode(ref e, NoReply, device, &pci, null, &pool); Run(b); }
        var cpci = new VkCommandPoolCreateInfo { sType = VkCommandPoolCreateInfo.SType };
        ulong cmdPool = _nextId++;
        { var b = new byte[vkCreateCommandPool.Size(device, &cpci, null, &cmdPool)]; var e = new VnEncoder(b); vkCreateCommandPool.Encode(ref e, NoReply, device, &cpci, null, &cmdPool); Run(b); }
        var cbai = new VkCommandBufferAllocateInfo { sType = VkCommandBufferAllocateInfo.SType, commandPool = cmdPool, commandBufferCount = 1 };
        ulong cb = _nextId++;
        { var b = new byte[vkAllocateCommandBuffers.Size(device, &cbai, &cb)]; var e = new VnEncoder(b); vkAllocateCommandBuffers.Encode(ref e, NoReply, device, &cbai, &cb); Run(b); }
        var bci = new VkBufferCreateInfo { sType = VkBufferCreateInfo.SType, size = 65536, usage = 0x3 /* TRANSFER_SRC | TRANSFER_DST */ };
        ulong buffer = _nextId++;
        { var b = new byte[vkCreateBuffer.Size(device, &bci, null, &buffer)]; var e = new VnEncoder(b); vkCreateBuffer.Encode(ref e, NoReply, device, &bci, null, &buffer); Run(b); }

        ulong reset = vkCmdResetQueryPool.Size(cb, pool, 0, 64);
        ulong stamp = vkCmdWriteTimestamp.Size(cb, VkPipelineStageFlagBits.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, 0);
        _queries = new byte[(reset + stamp) * (Commands / 2)];
        {
            var e = new VnEncoder(_queries);
            for (uint i = 0; i < Commands / 2; i++)
            {
                vkCmdResetQueryPool.Encode(ref e, NoReply, cb, pool, 0, 64);
                vkCmdWriteTimestamp.Encode(ref e, NoReply, cb, VkPipelineStageFlagBits.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, i % 64);
            }
        }
        var region = new VkBufferCopy { srcOffset = 0, dstOffset = 32768, size = 256 };
        _copies = new byte[vkCmdCopyBuffer.Size(cb, buffer, buffer, 1, &region) * Commands];
        {
            var e = new VnEncoder(_copies);
            for (int i = 0; i < Commands; i++) vkCmdCopyBuffer.Encode(ref e, NoReply, cb, buffer, buffer, 1, &region);
        }
        // The dispatches run with a compute pipeline bound (venus-host refuses a dispatch without one).
        uint[] spirv = ComputeMain;
        ulong module = _nextId++;
        fixed (uint* code = spirv)
        {
            var smci = new VkShaderModuleCreateInfo { sType = VkShaderModuleCreateInfo.SType, codeSize = (nuint)(spirv.Length * 4), pCode = code };
            var b = new byte[vkCreateShaderModule.Size(device, &smci, null, &module)]; var e = new VnEncoder(b); vkCreateShaderModule.Encode(ref e, NoReply, device, &smci, null, &module); Run(b);
        }
        var plci = new VkPipelineLayoutCreateInfo { sType = VkPipelineLayoutCreateInfo.SType };
        ulong layout = _nextId++;
        { var b = new byte[vkCreatePipelineLayout.Size(device, &plci, null, &layout)]; var e = new VnEncoder(b); vkCreatePipelineLayout.Encode(ref e, NoReply, device, &plci, null, &layout); Run(b); }
        byte* main = stackalloc byte[] { (byte)'m', (byte)'a', (byte)'i', (byte)'n', 0 };
        var pipelineInfo = new VkComputePipelineCreateInfo
        {
            sType = VkComputePipelineCreateInfo.SType, layout = layout,
            stage = new VkPipelineShaderStageCreateInfo { sType = VkPipelineShaderStageCreateInfo.SType, stage = VkShaderStageFlagBits.VK_SHADER_STAGE_COMPUTE_BIT, module = module, pName = main },
        };
        ulong pipeline = _nextId++;
        { var b = new byte[vkCreateComputePipelines.Size(device, 0, 1, &pipelineInfo, null, &pipeline)]; var e = new VnEncoder(b); vkCreateComputePipelines.Encode(ref e, NoReply, device, 0, 1, &pipelineInfo, null, &pipeline); Run(b); }
        var cbbi = new VkCommandBufferBeginInfo { sType = VkCommandBufferBeginInfo.SType };
        { var b = new byte[vkBeginCommandBuffer.Size(cb, &cbbi)]; var e = new VnEncoder(b); vkBeginCommandBuffer.Encode(ref e, NoReply, cb, &cbbi); Run(b); }
        { var b = new byte[vkCmdBindPipeline.Size(cb, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_COMPUTE, pipeline)]; var e = new VnEncoder(b); vkCmdBindPipeline.Encode(ref e, NoReply, cb, VkPipelineBindPoint.VK_PIPELINE_BIND_POINT_COMPUTE, pipeline); Run(b); }
        _dispatches = new byte[vkCmdDispatch.Size(cb, 1, 1, 1) * Commands];
        {
            var e = new VnEncoder(_dispatches);
            for (int i = 0; i < Commands; i++) vkCmdDispatch.Encode(ref e, NoReply, cb, 1, 1, 1);
        }
        // One untimed pass of each stream: every command must run.
        foreach (var s in new[] { _queries, _copies, _dispatches }) Run(s);
    }

    /// <summary>glslangValidator -V of "#version 450 / layout(local_size_x = 1) in; / void main() {}".</summary>
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

    [GlobalCleanup]
    public void Cleanup() => _ctx.Dispose();

    [Benchmark(OperationsPerInvoke = Commands)]
    public bool Host_vkCmdResetQueryPool_vkCmdWriteTimestamp_x1000() => _x.Execute(_queries);

    [Benchmark(OperationsPerInvoke = Commands)]
    public bool Host_vkCmdCopyBuffer_x1000() => _x.Execute(_copies);

    [Benchmark(OperationsPerInvoke = Commands)]
    public bool Host_vkCmdDispatch_x1000() => _x.Execute(_dispatches);
}
