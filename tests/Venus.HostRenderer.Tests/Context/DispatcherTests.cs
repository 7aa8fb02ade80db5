using System.Buffers.Binary;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Tests.Context;

/// <summary>
/// The dispatcher (decode, id → handle translation, driver call, reply) on a fake driver: what a
/// well-formed command does, and that every hostile stream — an unknown id, an id of another type, a
/// command cut short, an unknown command — fails that one context with a line that says why, and
/// that nothing runs after it.
/// </summary>
public sealed unsafe class DispatcherTests
{
    private const int ObjInstance = 1, ObjPhysicalDevice = 2;

    [Fact]
    public void ACallRepliesInTheReplyStreamAndRegistersTheGuestsId()
    {
        using var h = new FakeDriverHost();
        Assert.Equal(VkResult.VK_SUCCESS, h.CreateInstance(out ulong instance));
        Assert.Null(h.Ctx.FatalReason);
        Assert.True(h.Has(instance, ObjInstance));
        Assert.False(h.Has(instance, ObjPhysicalDevice));
    }

    [Fact]
    public void AnUnknownIdFailsTheContextNamingIt()
    {
        using var h = new FakeDriverHost();
        h.EnumeratePhysicalDevices(0x4242, [], out _);
        Assert.Contains("object id 0x4242 is unknown", h.Ctx.FatalReason);
    }

    [Fact]
    public void AnIdOfAnotherTypeFailsTheContext()
    {
        using var h = new FakeDriverHost();
        Assert.Equal(VkResult.VK_SUCCESS, h.CreateInstance(out ulong instance));
        // The instance's id where a physical device belongs.
        VkPhysicalDeviceProperties props;
        VnEncoder e = h.BeginCall(vkGetPhysicalDeviceProperties.Size(instance, &props), vkGetPhysicalDeviceProperties.ReplySize(instance, &props));
        vkGetPhysicalDeviceProperties.Encode(ref e, FakeDriverHost.Reply, instance, &props);
        h.Submit(e);
        Assert.Contains($"object id 0x{instance:x} is of type {ObjInstance}, not {ObjPhysicalDevice}", h.Ctx.FatalReason);
    }

    /// <summary>The bytes of a vkCreateInstance without a reply, under a fresh id.</summary>
    private static byte[] CreateInstanceCommand(FakeDriverHost h, out ulong id)
    {
        var app = new VkApplicationInfo { sType = VkApplicationInfo.SType, apiVersion = 1u << 22 };
        var info = new VkInstanceCreateInfo { sType = VkInstanceCreateInfo.SType, pApplicationInfo = &app };
        ulong instance = h.NewId();
        VnEncoder e = h.BeginCommand(vkCreateInstance.Size(&info, null, &instance));
        vkCreateInstance.Encode(ref e, FakeDriverHost.NoReply, &info, null, &instance);
        id = instance;
        return FakeDriverHost.Bytes(e);
    }

    [Fact]
    public void ACommandCutShortFailsTheContext()
    {
        using var h = new FakeDriverHost();
        byte[] whole = CreateInstanceCommand(h, out ulong id);
        h.Run(whole.AsSpan(0, whole.Length - 12));
        Assert.Contains("vkCreateInstance: decode error", h.Ctx.FatalReason);
        Assert.False(h.Has(id, ObjInstance));
    }

    [Fact]
    public void AHeaderCutShortFailsTheContext()
    {
        using var h = new FakeDriverHost();
        h.Run([1, 0, 0, 0, 0, 0]);
        Assert.Contains("a command header was cut off (6 bytes left)", h.Ctx.FatalReason);
    }

    [Fact]
    public void AnUnknownCommandTypeFailsTheContext()
    {
        using var h = new FakeDriverHost();
        byte[] command = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(command, 0x7fff_0000);
        h.Run(command);
        Assert.Contains($"command type {0x7fff_0000} (unknown) is not supported", h.Ctx.FatalReason);
    }

    [Fact]
    public void NothingRunsAfterTheContextFailed()
    {
        using var h = new FakeDriverHost();
        byte[] create = CreateInstanceCommand(h, out ulong id);

        // A bad command, then a good one in the same stream; then a good one in a later stream.
        byte[] unknown = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(unknown, -5);
        h.Run([.. unknown, .. create]);
        string? reason = h.Ctx.FatalReason;
        Assert.NotNull(reason);
        h.Run(create);
        Assert.False(h.Has(id, ObjInstance));
        Assert.Equal(reason, h.Ctx.FatalReason);
    }

    [Fact]
    public void AReplyStreamOnAnUnknownResourceFailsTheContext()
    {
        using var h = new FakeDriverHost();
        var desc = new VkCommandStreamDescriptionMESA { resourceId = 77, offset = 0, size = 64 };
        VnEncoder e = h.BeginCommand(vkSetReplyCommandStreamMESA.Size(&desc));
        vkSetReplyCommandStreamMESA.Encode(ref e, FakeDriverHost.NoReply, &desc);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("reply stream in unknown resource 77", h.Ctx.FatalReason);
    }

    [Fact]
    public void AReplyStreamPastItsResourceFailsTheContext()
    {
        using var h = new FakeDriverHost();
        var desc = new VkCommandStreamDescriptionMESA { resourceId = FakeDriverHost.ReplyResource, offset = 60 * 1024, size = 8 * 1024 };
        VnEncoder e = h.BeginCommand(vkSetReplyCommandStreamMESA.Size(&desc));
        vkSetReplyCommandStreamMESA.Encode(ref e, FakeDriverHost.NoReply, &desc);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains($"reply stream outside resource {FakeDriverHost.ReplyResource}", h.Ctx.FatalReason);
    }

    [Fact]
    public void AReplyWithNoReplyStreamFailsTheContext()
    {
        using var h = new FakeDriverHost();
        uint version = 0;
        VnEncoder e = h.BeginCommand(vkEnumerateInstanceVersion.Size(&version));
        vkEnumerateInstanceVersion.Encode(ref e, FakeDriverHost.Reply, &version);
        h.Run(FakeDriverHost.Bytes(e));
        Assert.Contains("does not fit the reply stream (none set)", h.Ctx.FatalReason);
    }
}
