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
        _dispatches = new byte[vkCmdDispatch.Size(cb, 1, 1, 1) * Commands];
        {
            var e = new VnEncoder(_dispatches);
            for (int i = 0; i < Commands; i++) vkCmdDispatch.Encode(ref e, NoReply, cb, 1, 1, 1);
        }
        // One untimed pass of each stream: every command must run.
        foreach (var s in new[] { _queries, _copies, _dispatches }) Run(s);
    }

    [GlobalCleanup]
    public void Cleanup() => _ctx.Dispose();

    [Benchmark(OperationsPerInvoke = Commands)]
    public bool Host_vkCmdResetQueryPool_vkCmdWriteTimestamp_x1000() => _x.Execute(_queries);

    [Benchmark(OperationsPerInvoke = Commands)]
    public bool Host_vkCmdCopyBuffer_x1000() => _x.Execute(_copies);

    [Benchmark(OperationsPerInvoke = Commands)]
    public bool Host_vkCmdDispatch_x1000() => _x.Execute(_dispatches);
}
