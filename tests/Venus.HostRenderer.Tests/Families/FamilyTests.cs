using Venus.HostRenderer.Tests.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Tests.Families;

/// <summary>
/// Hand-written handler families (src/Venus.HostRenderer/Families) on a fake driver: what they
/// register and unregister in the object table, what they refuse, and what they answer without the
/// driver.
/// </summary>
public sealed unsafe class FamilyTests
{
    private const int ObjInstance = 1, ObjPhysicalDevice = 2, ObjDevice = 3, ObjQueue = 4, ObjCommandBuffer = 6, ObjCommandPool = 25;

    [Fact]
    public void InstanceSecondInstanceFailsTheContext()
    {
        using var h = new FakeDriverHost();
        Assert.Equal(VkResult.VK_SUCCESS, h.CreateInstance(out _));
        h.CreateInstance(out ulong second);
        Assert.Contains("already has an instance", h.Ctx.FatalReason);
        Assert.False(h.Has(second, ObjInstance));
    }

    [Fact]
    public void InstanceWithLayersOrExtensionsIsRefusedAndTheContextGoesOn()
    {
        using var h = new FakeDriverHost();
        byte* name = stackalloc byte[] { (byte)'X', 0 };
        var info = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, enabledExtensionCount = 1, ppEnabledExtensionNames = &name };
        ulong id = h.NewId();
        VnEncoder e = h.BeginCall(vkCreateInstance.Size(&info, null, &id), vkCreateInstance.ReplySize(&info, null, &id));
        vkCreateInstance.Encode(ref e, FakeDriverHost.Reply, &info, null, &id);
        VnDecoder d = h.Submit(e);
        Assert.Equal(VkResult.VK_ERROR_EXTENSION_NOT_PRESENT, vkCreateInstance.DecodeReply(ref d, &info, null, &id));
        Assert.Null(h.Ctx.FatalReason);
        Assert.False(h.Has(id, ObjInstance));
        Assert.Equal(VkResult.VK_SUCCESS, h.CreateInstance(out _));
    }

    [Fact]
    public void InstanceExtensionsAreTheGuestsOwn()
    {
        using var h = new FakeDriverHost();
        uint count = 99;
        VnEncoder e = h.BeginCall(vkEnumerateInstanceExtensionProperties.Size(null, &count, null), vkEnumerateInstanceExtensionProperties.ReplySize(null, &count, null));
        vkEnumerateInstanceExtensionProperties.Encode(ref e, FakeDriverHost.Reply, null, &count, null);
        VnDecoder d = h.Submit(e);
        Assert.Equal(VkResult.VK_SUCCESS, vkEnumerateInstanceExtensionProperties.DecodeReply(ref d, null, &count, null));
        Assert.Equal(0u, count);
    }

    [Fact]
    public void PhysicalDevicesGetTheGuestsIdsAndTheCountComesFirst()
    {
        using var h = new FakeDriverHost();
        Assert.Equal(VkResult.VK_SUCCESS, h.CreateInstance(out ulong instance));
        Assert.Equal(1u, h.EnumeratePhysicalDevices(instance, [], out VkResult r));
        Assert.Equal(VkResult.VK_SUCCESS, r);
        ulong[] ids = [h.NewId(), h.NewId()];
        Assert.Equal(1u, h.EnumeratePhysicalDevices(instance, ids, out r));
        Assert.Equal(VkResult.VK_SUCCESS, r);
        Assert.True(h.Has(ids[0], ObjPhysicalDevice));
        Assert.False(h.Has(ids[1], ObjPhysicalDevice));
        Assert.Null(h.Ctx.FatalReason);
    }

    [Fact]
    public void DeviceQueuesAreRegisteredAndGoWithTheDevice()
    {
        using var h = new FakeDriverHost();
        (_, ulong pd, ulong device) = h.CreateDevice();
        Assert.True(h.Has(device, ObjDevice));
        ulong queue = h.NewId();
        VnEncoder e = h.BeginCommand(vkGetDeviceQueue.Size(device, 0, 0, &queue));
        vkGetDeviceQueue.Encode(ref e, FakeDriverHost.NoReply, device, 0, 0, &queue);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Null(h.Ctx.FatalReason);
        Assert.True(h.Has(queue, ObjQueue));

        e = h.BeginCommand(vkDestroyDevice.Size(device, null));
        vkDestroyDevice.Encode(ref e, FakeDriverHost.NoReply, device, null);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Null(h.Ctx.FatalReason);
        Assert.False(h.Has(device, ObjDevice));
        Assert.False(h.Has(queue, ObjQueue));
        Assert.True(h.Has(pd, ObjPhysicalDevice));
    }

    [Fact]
    public void DeviceOnAnInstanceIdFailsTheContext()
    {
        using var h = new FakeDriverHost();
        Assert.Equal(VkResult.VK_SUCCESS, h.CreateInstance(out ulong instance));
        var info = new VkDeviceCreateInfo { sType = VkDeviceCreateInfo.SType };
        ulong device = h.NewId();
        VnEncoder e = h.BeginCall(vkCreateDevice.Size(instance, &info, null, &device), vkCreateDevice.ReplySize(instance, &info, null, &device));
        vkCreateDevice.Encode(ref e, FakeDriverHost.Reply, instance, &info, null, &device);
        h.Submit(e);
        Assert.Contains($"object id 0x{instance:x} is of type {ObjInstance}, not {ObjPhysicalDevice}", h.Ctx.FatalReason);
        Assert.False(h.Has(device, ObjDevice));
    }

    [Fact]
    public void PoolsTakeTheirCommandBuffersWithThem()
    {
        using var h = new FakeDriverHost();
        (_, _, ulong device) = h.CreateDevice();
        var poolInfo = new VkCommandPoolCreateInfo { sType = VkCommandPoolCreateInfo.SType };
        ulong pool = h.NewId();
        VnEncoder e = h.BeginCall(vkCreateCommandPool.Size(device, &poolInfo, null, &pool), vkCreateCommandPool.ReplySize(device, &poolInfo, null, &pool));
        vkCreateCommandPool.Encode(ref e, FakeDriverHost.Reply, device, &poolInfo, null, &pool);
        VnDecoder d = h.Submit(e);
        Assert.Equal(VkResult.VK_SUCCESS, vkCreateCommandPool.DecodeReply(ref d, device, &poolInfo, null, &pool));

        var allocInfo = new VkCommandBufferAllocateInfo { sType = VkCommandBufferAllocateInfo.SType, commandPool = pool, commandBufferCount = 2 };
        ulong* buffers = stackalloc ulong[2] { h.NewId(), h.NewId() };
        e = h.BeginCall(vkAllocateCommandBuffers.Size(device, &allocInfo, buffers), vkAllocateCommandBuffers.ReplySize(device, &allocInfo, buffers));
        vkAllocateCommandBuffers.Encode(ref e, FakeDriverHost.Reply, device, &allocInfo, buffers);
        d = h.Submit(e);
        Assert.Equal(VkResult.VK_SUCCESS, vkAllocateCommandBuffers.DecodeReply(ref d, device, &allocInfo, buffers));
        Assert.True(h.Has(buffers[0], ObjCommandBuffer));
        Assert.True(h.Has(buffers[1], ObjCommandBuffer));

        e = h.BeginCommand(vkDestroyCommandPool.Size(device, pool, null));
        vkDestroyCommandPool.Encode(ref e, FakeDriverHost.NoReply, device, pool, null);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Null(h.Ctx.FatalReason);
        Assert.False(h.Has(pool, ObjCommandPool));
        Assert.False(h.Has(buffers[0], ObjCommandBuffer));
        Assert.False(h.Has(buffers[1], ObjCommandBuffer));
    }

    [Fact]
    public void MemoryOverTheCapIsOutOfDeviceMemoryAndTheContextGoesOn()
    {
        using var h = new FakeDriverHost(maxDeviceMemoryBytes: 1 << 20);
        (_, _, ulong device) = h.CreateDevice();
        var info = new VkMemoryAllocateInfo { sType = VkMemoryAllocateInfo.SType, allocationSize = 2 << 20 };
        ulong memory = h.NewId();
        VnEncoder e = h.BeginCall(vkAllocateMemory.Size(device, &info, null, &memory), vkAllocateMemory.ReplySize(device, &info, null, &memory));
        vkAllocateMemory.Encode(ref e, FakeDriverHost.Reply, device, &info, null, &memory);
        VnDecoder d = h.Submit(e);
        Assert.Equal(VkResult.VK_ERROR_OUT_OF_DEVICE_MEMORY, vkAllocateMemory.DecodeReply(ref d, device, &info, null, &memory));
        Assert.Null(h.Ctx.FatalReason);
        Assert.Contains(h.Log, line => line.Contains("refused (VK_ERROR_OUT_OF_DEVICE_MEMORY)") && line.Contains("--max-device-memory"));
    }
    // Rules found by the lavapipe fuzz target (fuzz/regressions/lavapipe), shown on the fake driver.

    [Fact]
    public void AHandleAStructRequiresMayNotBeNull()
    {
        using var h = new FakeDriverHost();
        (_, _, ulong device) = h.CreateDevice();
        var bind = new VkBindBufferMemoryInfo { sType = VkBindBufferMemoryInfo.SType };
        VnEncoder e = h.BeginCommand(vkBindBufferMemory2.Size(device, 1, &bind));
        vkBindBufferMemory2.Encode(ref e, FakeDriverHost.NoReply, device, 1, &bind);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkBindBufferMemory2: decode error NullHandle", h.Ctx.FatalReason);
    }

    [Fact]
    public void AnEnumValueOutsideItsTypeEndsTheContext()
    {
        using var h = new FakeDriverHost();
        (_, _, ulong device) = h.CreateDevice();
        var info = new VkSamplerCreateInfo { sType = VkSamplerCreateInfo.SType, magFilter = (VkFilter)301989888 };
        ulong sampler = h.NewId();
        VnEncoder e = h.BeginCommand(vkCreateSampler.Size(device, &info, null, &sampler));
        vkCreateSampler.Encode(ref e, FakeDriverHost.NoReply, device, &info, null, &sampler);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkCreateSampler: decode error InvalidEnum", h.Ctx.FatalReason);
    }

    [Fact]
    public void CommandBuffersAreFreedOnlyIntoTheirOwnPool()
    {
        using var h = new FakeDriverHost();
        (_, _, ulong device) = h.CreateDevice();
        ulong[] pools = [h.NewId(), h.NewId()];
        var poolInfo = new VkCommandPoolCreateInfo { sType = VkCommandPoolCreateInfo.SType };
        foreach (ulong id in pools)
        {
            ulong pool = id;
            VnEncoder c = h.BeginCall(vkCreateCommandPool.Size(device, &poolInfo, null, &pool), vkCreateCommandPool.ReplySize(device, &poolInfo, null, &pool));
            vkCreateCommandPool.Encode(ref c, FakeDriverHost.Reply, device, &poolInfo, null, &pool);
            VnDecoder r = h.Submit(c);
            Assert.Equal(VkResult.VK_SUCCESS, vkCreateCommandPool.DecodeReply(ref r, device, &poolInfo, null, &pool));
        }
        var allocInfo = new VkCommandBufferAllocateInfo { sType = VkCommandBufferAllocateInfo.SType, commandPool = pools[0], commandBufferCount = 1 };
        ulong buffer = h.NewId();
        VnEncoder e = h.BeginCall(vkAllocateCommandBuffers.Size(device, &allocInfo, &buffer), vkAllocateCommandBuffers.ReplySize(device, &allocInfo, &buffer));
        vkAllocateCommandBuffers.Encode(ref e, FakeDriverHost.Reply, device, &allocInfo, &buffer);
        VnDecoder d = h.Submit(e);
        Assert.Equal(VkResult.VK_SUCCESS, vkAllocateCommandBuffers.DecodeReply(ref d, device, &allocInfo, &buffer));

        e = h.BeginCommand(vkFreeCommandBuffers.Size(device, pools[1], 1, &buffer));
        vkFreeCommandBuffers.Encode(ref e, FakeDriverHost.NoReply, device, pools[1], 1, &buffer);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("vkFreeCommandBuffers: element 0", h.Ctx.FatalReason);
        Assert.Contains("was not allocated from pool", h.Ctx.FatalReason);
        Assert.True(h.Has(buffer, ObjCommandBuffer));
    }
}
