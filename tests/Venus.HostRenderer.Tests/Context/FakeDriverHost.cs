using Venus.Fuzz;
using Venus.HostRenderer.Context;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Tests.Context;

/// <summary>
/// One host context on <see cref="FakeVulkan"/> (the fuzzers' driver of stubs: no GPU, no root, no
/// chroot), driven the way a guest drives the virtqueue: a call is <c>vkSetReplyCommandStreamMESA</c>
/// (offset 0 of a shared-memory resource) and the command with GENERATE_REPLY in one stream, and the
/// reply is read back from that resource. Log lines are kept for the assertions.
/// <code>
/// VnEncoder e = h.BeginCall(vkX.Size(...), vkX.ReplySize(...));
/// vkX.Encode(ref e, FakeDriverHost.Reply, ...);
/// VnDecoder d = h.Submit(e);
/// </code>
/// </summary>
internal sealed unsafe class FakeDriverHost : IDisposable
{
    public const VkCommandFlagBitsEXT Reply = VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT;
    public const VkCommandFlagBitsEXT NoReply = 0;
    public const uint ReplyResource = 1;
    private const ulong ReplyBytes = 64 * 1024;

    private readonly Resource _reply;
    private byte[] _stream = new byte[4096];
    private ulong _replySize;
    private ulong _nextId = 0x1000;

    /// <param name="vulkan">The driver: <see cref="FakeVulkan"/> unless a test wraps it.</param>
    public FakeDriverHost(ulong maxDeviceMemoryBytes = 16UL << 30, int maxObjects = 4096, Native.VulkanLibrary? vulkan = null)
    {
        var options = new HostOptions
        {
            Log = line => { lock (Log) Log.Add(line); },
            MaxCommandBytes = 1 << 20,
            MaxSharedBytes = 16 << 20,
            MaxDeviceMemoryBytes = maxDeviceMemoryBytes,
            MaxObjects = maxObjects,
        };
        Ctx = new HostContext(vulkan ?? FakeVulkan.Library, options, "unit");
        _reply = Ctx.CreateBlob(2, 1, ReplyBytes, 0, out string? error, ReplyResource)
            ?? throw new InvalidOperationException($"no shared memory for replies: {error}");
    }

    public HostContext Ctx { get; }
    public List<string> Log { get; } = [];

    /// <summary>A fresh guest-chosen object id (§1.7).</summary>
    public ulong NewId() => _nextId++;

    /// <summary>Starts a reply-generating call; the returned encoder is for the command itself.</summary>
    public VnEncoder BeginCall(ulong requestSize, ulong replySize)
    {
        var desc = new VkCommandStreamDescriptionMESA { resourceId = ReplyResource, offset = 0, size = (nuint)replySize };
        ulong prefix = vkSetReplyCommandStreamMESA.Size(&desc);
        VnEncoder e = Begin(prefix + requestSize, replySize);
        vkSetReplyCommandStreamMESA.Encode(ref e, NoReply, &desc);
        return e;
    }

    /// <summary>Starts a command without a reply.</summary>
    public VnEncoder BeginCommand(ulong requestSize) => Begin(requestSize, 0);

    private VnEncoder Begin(ulong total, ulong replySize)
    {
        if (replySize > ReplyBytes) throw new ArgumentOutOfRangeException(nameof(replySize));
        if ((ulong)_stream.Length < total) _stream = new byte[checked((int)total)];
        Array.Clear(_stream);
        _replySize = replySize;
        return new VnEncoder(_stream.AsSpan(0, checked((int)total)));
    }

    /// <summary>Runs what <paramref name="e"/> holds on the virtqueue; a decoder over the reply.</summary>
    public VnDecoder Submit(in VnEncoder e)
    {
        new Span<byte>(_reply.Map, (int)ReplyBytes).Clear();
        Run(e.Written);
        return new VnDecoder(new ReadOnlySpan<byte>(_reply.Map, (int)_replySize));
    }

    /// <summary>Runs raw bytes on the virtqueue, as a hostile guest sends them.</summary>
    public void Run(ReadOnlySpan<byte> stream) => Ctx.Submit(stream, 0, static () => { });

    /// <summary>The bytes <paramref name="e"/> holds (to cut or splice them).</summary>
    public static byte[] Bytes(in VnEncoder e) => e.Written.ToArray();

    // ---- the calls most tests start with ---------------------------------------------------------

    /// <summary>vkCreateInstance under a fresh id; the result and the id.</summary>
    public VkResult CreateInstance(out ulong instance)
    {
        var app = new VkApplicationInfo { sType = VkApplicationInfo.SType, apiVersion = (1u << 22) | (1u << 12) };
        var info = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, pApplicationInfo = &app };
        ulong id = NewId();
        VnEncoder e = BeginCall(vkCreateInstance.Size(&info, null, &id), vkCreateInstance.ReplySize(&info, null, &id));
        vkCreateInstance.Encode(ref e, Reply, &info, null, &id);
        VnDecoder d = Submit(e);
        VkResult r = vkCreateInstance.DecodeReply(ref d, &info, null, &id);
        instance = id;
        return d.Failed ? (VkResult)int.MinValue : r;
    }

    /// <summary>vkEnumeratePhysicalDevices with room for <paramref name="ids"/> (guest-chosen ids, §8.2); the count the host wrote.</summary>
    public uint EnumeratePhysicalDevices(ulong instance, ulong[] ids, out VkResult result)
    {
        uint count = (uint)ids.Length;
        fixed (ulong* p = ids)
        {
            ulong* pIds = ids.Length == 0 ? null : p;
            VnEncoder e = BeginCall(vkEnumeratePhysicalDevices.Size(instance, &count, pIds), vkEnumeratePhysicalDevices.ReplySize(instance, &count, pIds));
            vkEnumeratePhysicalDevices.Encode(ref e, Reply, instance, &count, pIds);
            VnDecoder d = Submit(e);
            result = vkEnumeratePhysicalDevices.DecodeReply(ref d, instance, &count, pIds);
            if (d.Failed) result = (VkResult)int.MinValue;
        }
        return count;
    }

    /// <summary>An instance, its one physical device and a device with one queue of family 0.</summary>
    public (ulong Instance, ulong PhysicalDevice, ulong Device) CreateDevice()
    {
        Assert.Equal(VkResult.VK_SUCCESS, CreateInstance(out ulong instance));
        ulong[] pds = [NewId()];
        Assert.Equal(1u, EnumeratePhysicalDevices(instance, pds, out VkResult r));
        Assert.Equal(VkResult.VK_SUCCESS, r);
        float priority = 1;
        var queue = new VkDeviceQueueCreateInfo { sType = VkDeviceQueueCreateInfo.SType, queueFamilyIndex = 0, queueCount = 1, pQueuePriorities = &priority };
        var info = new VkDeviceCreateInfo { sType = VkDeviceCreateInfo.SType, queueCreateInfoCount = 1, pQueueCreateInfos = &queue };
        ulong device = NewId();
        VnEncoder e = BeginCall(vkCreateDevice.Size(pds[0], &info, null, &device), vkCreateDevice.ReplySize(pds[0], &info, null, &device));
        vkCreateDevice.Encode(ref e, Reply, pds[0], &info, null, &device);
        VnDecoder d = Submit(e);
        Assert.Equal(VkResult.VK_SUCCESS, vkCreateDevice.DecodeReply(ref d, pds[0], &info, null, &device));
        Assert.False(d.Failed);
        Assert.Null(Ctx.FatalReason);
        return (instance, pds[0], device);
    }

    public bool Has(ulong id, int objectType) => Ctx.Objects.TryGet(id, objectType, out _);

    public void Dispose() => Ctx.Dispose();
}
